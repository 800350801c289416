"""Origins (scheme, host and port) and the client's address: the one parser, and the workspace and
supervisor sockets, which only the product's own pages may open (docs/security.md; SEC-3, REL-3)."""

import json
import os
import subprocess
import sys
from contextlib import ExitStack

import pytest
from channels.testing import WebsocketCommunicator
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from core.security import (
    client_address,
    parse_origin,
    parse_origin_header,
    product_origin_allowed,
    scope_client_address,
)
from tests.conftest import restore_seed_data
from tests.routing.factories import AgentProfileFactory, SupervisorFactory

pytestmark = pytest.mark.embedded

#: Headers no browser sends as an origin, and that must never raise (REL-3).
MALFORMED_ORIGINS = [
    "http://127.0.0.1:99999",
    "http://[::1",
    ":abc",
    "http://127.0.0.1:abc",
    "",
    "null",
    "http://127.0.0.1:0",
    "http://exa mple.com",
    "https://user@shop.example.com",
    "https://shop.example.com/path",
    "ftp://shop.example.com",
    "http://a..b",
    "http://" + "a" * 2000,
]


# --- The parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("HTTPS://SHOP.EXAMPLE.COM:443/", "https://shop.example.com"),
        ("http://shop.example.com:80", "http://shop.example.com"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("https://127.0.0.1:443", "https://127.0.0.1"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://[0:0::1]", "http://[::1]"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),  # IDNA, as browsers send it
        ("https://straße.de", "https://xn--strae-oqa.de"),  # UTS #46 non-transitional, as browsers map
    ],
)
def test_one_parser_normalises_scheme_host_and_default_ports(value, expected):
    # spec: SEC-3 — origins compare by scheme, host and port
    assert str(parse_origin(value)) == expected


@pytest.mark.parametrize("value", [*MALFORMED_ORIGINS, None, 42])
def test_the_parser_refuses_what_is_not_an_origin_and_never_raises(value):
    # spec: SEC-3, REL-3
    assert parse_origin(value) is None
    assert parse_origin_header(value) is None
    if isinstance(value, str):
        assert parse_origin_header(value.encode()) is None


def test_a_header_is_ascii_bytes_and_other_bytes_are_no_origin():
    # spec: SEC-3, REL-3 — browsers send host names in punycode
    assert str(parse_origin_header(b"https://shop.example.com")) == "https://shop.example.com"
    assert str(parse_origin_header("https://xn--bcher-kva.example")) == "https://xn--bcher-kva.example"
    for value in (b"http://\xd1\x88\xd0\xbe\xd0\xbf.example", b"http://\xff\xfe", "https://bücher.example", b"\x00"):
        assert parse_origin_header(value) is None


# --- The client's address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_proxies", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", None, "192.0.2.1"),
        (0, "192.0.2.1", "203.0.113.9", "192.0.2.1"),  # trust none: the header is the client's own words
        (1, "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # a forged first entry is ignored
        (2, "10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        (1, "10.0.0.2", None, "10.0.0.2"),
    ],
)
def test_http_and_sockets_take_the_client_address_by_one_rule(settings, num_proxies, remote, forwarded, expected):
    # spec: SEC-3 — client addresses come only from the configured number of trusted proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    meta = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    assert client_address(meta) == expected
    assert scope_client_address({"type": "websocket", "client": (remote, 50000), "headers": headers}) == expected


def test_the_number_of_trusted_proxies_comes_from_the_environment_and_defaults_to_none():
    # spec: SEC-3
    code = "import django; django.setup(); from rest_framework.settings import api_settings as s; print(s.NUM_PROXIES)"

    def num_proxies(value):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "omnichannel.settings"}
        env.pop("NUM_PROXIES", None)
        if value is not None:
            env["NUM_PROXIES"] = value
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    assert num_proxies(None).stdout.strip() == "0"
    assert num_proxies("2").stdout.strip() == "2"
    refused = num_proxies("-1")
    assert refused.returncode != 0 and "NUM_PROXIES is the number of trusted proxies" in refused.stderr


# --- The workspace and supervisor sockets: the product's own origins only --------------------------------

SOCKETS = [("/ws/workspace/", AgentProfileFactory, "agent"), ("/ws/supervisor/", SupervisorFactory, "supervisor")]


def hello_for(profile, hello: str) -> dict:
    """The socket's first frame: the workspace names the agent profile, the supervisor view the user."""
    return {"type": "hello", hello: profile.pk if hello == "agent" else profile.user.pk}


@pytest.fixture
def live_socket(in_memory_layer, asgi_server, client):
    """Open a workspace or supervisor socket with a signed-in user's cookie from ``origin``."""
    with ExitStack() as sockets:

        def open_for(path, user, origin):
            client.force_login(user)
            return sockets.enter_context(
                connect(
                    f"{asgi_server.ws_url}{path}",
                    origin=origin,
                    additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
                    open_timeout=5,
                )
            )

        yield open_for


@pytest.mark.parametrize(("path", "factory", "hello"), SOCKETS)
def test_a_page_of_another_port_or_scheme_of_this_host_cannot_use_the_agents_cookie(
    live_socket, asgi_server, path, factory, hello
):
    # spec: SEC-3, SEC-1 — cross-site WebSocket hijacking: only the product's own pages get in
    profile = factory()
    user = profile.user
    port = asgi_server.port
    for origin in (
        "http://127.0.0.1:8001",  # the demo shop on the same host
        f"https://127.0.0.1:{port}",  # same host and port, other scheme
        f"http://localhost:{port}",  # same machine, another host name
        "http://[::1",
        "http://127.0.0.1:99999",
        "null",
    ):
        with pytest.raises(InvalidStatus) as refused:
            live_socket(path, user, origin)
        assert refused.value.response.status_code == 403, origin
    ws = live_socket(path, user, f"http://127.0.0.1:{port}")  # while its own page gets in
    assert json.loads(ws.recv(timeout=5)) == hello_for(profile, hello)


@pytest.mark.parametrize(("path", "factory", "hello"), SOCKETS[:1])
def test_the_configured_origins_of_the_product_may_open_the_workspace(
    live_socket, asgi_server, settings, path, factory, hello
):
    # spec: SEC-3 — CSRF_TRUSTED_ORIGINS and PUBLIC_BASE_URL are the product's own origins
    settings.CSRF_TRUSTED_ORIGINS = ["https://agents.example.com", "https://*.desk.example.com"]
    settings.PUBLIC_BASE_URL = "https://chat.example.com/"
    profile = factory()
    user = profile.user
    for origin in ("https://agents.example.com", "https://eu.desk.example.com", "https://chat.example.com"):
        ws = live_socket(path, user, origin)
        assert json.loads(ws.recv(timeout=5)) == hello_for(profile, hello)
    for origin in (
        "http://agents.example.com",
        "https://agents.example.com:8443",
        "https://desk.example.com.evil.net",
        "http://eu.desk.example.com",
        "https://chat.example.com:444",
    ):
        with pytest.raises(InvalidStatus):
            live_socket(path, user, origin)


@pytest.fixture
def communicator_user(transactional_db, in_memory_layer, client):
    """A signed-in user's cookie header for WebsocketCommunicator scopes."""
    restore_seed_data()

    def login(factory):
        profile = factory()
        client.force_login(profile.user)
        return profile, f"sessionid={client.cookies['sessionid'].value}".encode()

    return login


async def handshake(path, headers):
    from omnichannel.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    answer = await communicator.receive_json_from(timeout=5) if connected else None
    await communicator.disconnect()
    return connected, code, answer


@pytest.mark.parametrize(("path", "factory", "hello"), SOCKETS)
async def test_the_consumers_close_4403_for_another_port_or_scheme(communicator_user, settings, path, factory, hello):
    # spec: SEC-3, SEC-1 — through the consumers themselves: 4403 at the handshake
    from asgiref.sync import sync_to_async

    profile, cookie = await sync_to_async(communicator_user)(factory)

    def headers(origin, host=b"testserver", forwarded_proto=None):
        sent = [(b"host", host), (b"cookie", cookie), (b"origin", origin)]
        return sent + ([(b"x-forwarded-proto", forwarded_proto)] if forwarded_proto else [])

    for origin in (
        b"http://testserver:8001",
        b"https://testserver",
        b"http://testserver.evil.net",
        b"http://[::1",
        b"http://testserver:99999",
        b":abc",
        b"",
        b"null",
        b"http://\xd1\x82\xd0\xb5\xd1\x81\xd1\x82",
        b"http://\xff\xfe",
    ):
        assert await handshake(path, headers(origin)) == (False, 4403, None), origin
    # A host name that merely resolves here (DNS rebinding) is not one of ours.
    assert (await handshake(path, headers(b"http://evil.example:8000", host=b"evil.example:8000")))[:2] == (False, 4403)
    assert await handshake(path, headers(b"http://testserver")) == (True, None, hello_for(profile, hello))

    # Behind a TLS proxy the page is https: trusted only when SECURE_PROXY_SSL_HEADER says so.
    behind_proxy = headers(b"https://testserver", forwarded_proto=b"https")
    assert (await handshake(path, behind_proxy))[:2] == (False, 4403)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert (await handshake(path, behind_proxy))[0] is True
    assert (await handshake(path, headers(b"http://testserver", forwarded_proto=b"https")))[:2] == (False, 4403)


def test_the_product_origin_check_never_raises():
    # spec: REL-3
    for origin in [*MALFORMED_ORIGINS, "http://\xd1\x88"]:
        scope = {"type": "websocket", "headers": [(b"origin", origin.encode("utf-8")), (b"host", b"[::1")]}
        assert product_origin_allowed(scope) is False
    assert product_origin_allowed({"type": "websocket", "headers": []}) is False
