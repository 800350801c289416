"""The widget's public edge under hostile or broken conditions: malformed Origin headers on every
endpoint and socket, forged X-Forwarded-For against the throttle, and a Redis outage
(docs/security.md; SEC-3, REL-3, WID-3)."""

import http.client
import json
import logging
import shutil
import socket
import time
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conversations.models import Conversation, Message
from routing.models import WorkItem
from tests.live import PrivateRedis
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory
from widgets.models import Invitation, PageVisit, SelfServiceAction, Visitor
from widgets.tokens import visitor_token

REFUSAL = {"code": "origin_not_allowed", "message": "This site is not on the chat widget's allowed domains."}

#: What no browser sends as an origin (REL-3: a clear refusal, never a 500).
MALFORMED_ORIGINS = [
    "http://127.0.0.1:99999",
    "http://[::1",
    ":abc",
    "http://127.0.0.1:abc",
    "https://shop.example.com:99999",
    "",
    "null",
    "https://shop.example.com\u0448",  # not latin-1: only the test client can send it
    "http://\xd1\x88\xd0\xbe\xd0\xbf.example",  # UTF-8 bytes, decoded as Django decodes headers
]
#: Every endpoint of the widget (docs/live-chat-protocol.md), and its method.
ENDPOINTS = [
    ("session", "post"),
    ("chats", "post"),
    ("chats/end", "post"),
    ("availability", "get"),
    ("actions", "post"),
    ("invitations", "post"),
    (f"invitations/{uuid.uuid4()}/accept", "post"),
    (f"invitations/{uuid.uuid4()}/dismiss", "post"),
]


@pytest.fixture
def widget():
    return ChatWidgetFactory(origins=[ORIGIN, "http://127.0.0.1:8001", "http://[::1]:8001"])


@pytest.fixture
def logged_errors():
    """Every ERROR record, and every record with a traceback, that Django, uvicorn or anyone logs."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR or record.exc_info:
                records.append(record)

    handler = Collect(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("", "django", "django.request", "uvicorn", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Visitor, PageVisit, Conversation, Message, SelfServiceAction, WorkItem, Invitation)
    }


# --- Malformed origins (issue 10, defect 5) --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.embedded
@pytest.mark.parametrize("origin", MALFORMED_ORIGINS)
def test_a_malformed_origin_gets_403_on_every_widget_endpoint_never_a_500(client, widget, logged_errors, origin):
    # spec: SEC-3, REL-3, WID-3 — refused with the protocol's error, nothing changed, nothing logged
    token = visitor_token(visitor_public_id=VisitorFactory(widget=widget).public_id, widget_key=widget.public_key)
    body = {"visitor_token": token, "kind": "custom_action", "title": "Returns", "message": "Hi", "token": "x"}
    before = counts()
    for endpoint, method in ENDPOINTS:
        for verb in (method, "options"):
            response = call(client, widget, endpoint, body, origin=origin, method=verb)
            assert (response.status_code, response.json()) == (403, REFUSAL), (endpoint, verb)
            # Only a real origin (or "null", a sandboxed page) hears why; garbage is not echoed.
            assert response.get("Access-Control-Allow-Origin") == ("null" if origin == "null" else None)
    assert counts() == before
    assert logged_errors == []


@pytest.mark.embedded
def test_malformed_origin_bytes_through_the_real_server_get_403(in_memory_layer, asgi_server, logged_errors):
    # spec: SEC-3, REL-3 — raw header bytes as a client sends them, through uvicorn
    widget = ChatWidgetFactory(origins=["http://127.0.0.1:8001"])
    origins = [o.encode("utf-8") for o in MALFORMED_ORIGINS] + [b"http://\xff\xfe", b"http://127.0.0.1:8001\x85"]
    for origin in origins:
        for endpoint, method in ENDPOINTS:
            connection = http.client.HTTPConnection(asgi_server.host, asgi_server.port, timeout=10)
            connection.putrequest(method.upper(), f"/widget/{widget.public_key}/{endpoint}/")
            connection.putheader("Origin", origin)
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", "2")
            connection.endheaders(b"{}")
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (403, REFUSAL), (origin, endpoint)
            connection.close()
    assert Visitor.objects.count() == 0
    assert logged_errors == []


SOCKETS = ["/ws/widget/{key}/", "/ws/widget/{key}/visit/"]


@pytest.mark.embedded
@pytest.mark.parametrize("path", SOCKETS)
def test_a_malformed_origin_cannot_open_the_widget_or_visit_socket(in_memory_layer, asgi_server, logged_errors, path):
    # spec: SEC-3, REL-3, WID-3 — refused at the handshake (403), never a 500
    widget = ChatWidgetFactory(origins=[ORIGIN, "http://127.0.0.1:8001"])
    url = asgi_server.ws_url + path.format(key=widget.public_key)
    for origin in [o for o in MALFORMED_ORIGINS if o.isascii()]:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin=origin, open_timeout=5)
        assert refused.value.response.status_code == 403, origin
    with connect(url, origin="http://127.0.0.1:8001", open_timeout=5):  # while an allowed page gets in
        pass
    assert logged_errors == []


@pytest.mark.embedded
@pytest.mark.parametrize("path", SOCKETS)
async def test_the_widget_consumers_close_4403_for_malformed_origin_bytes(
    transactional_db, in_memory_layer, logged_errors, path
):
    # spec: SEC-3, REL-3, WID-3 — through the consumers: 4403 for every malformed header
    from asgiref.sync import sync_to_async

    from omnichannel.asgi import application

    widget = await sync_to_async(ChatWidgetFactory)(origins=[ORIGIN])
    origins = [o.encode("utf-8") for o in MALFORMED_ORIGINS] + [b"http://\xff\xfe", b"https://shop.example.com\x00"]
    for origin in [*origins, None, ORIGIN.encode()]:
        headers = [(b"host", b"testserver")] + ([(b"origin", origin)] if origin is not None else [])
        communicator = WebsocketCommunicator(application, path.format(key=widget.public_key), headers=headers)
        connected, code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        expected = (True, None) if origin == ORIGIN.encode() else (False, 4403)
        assert (connected, code) == expected, origin
    assert logged_errors == []


# --- X-Forwarded-For and the throttle (issue 10, defect 6) ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.embedded
def test_a_new_x_forwarded_for_per_request_does_not_escape_the_throttle(client, widget, settings):
    # spec: SEC-3 — by default no proxy is trusted: the peer's address is the client's
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"widget": "3/min"}}
    for n in range(3):
        assert call(client, widget, "session", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code == 200
    before = counts()
    response = call(client, widget, "session", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert (response.status_code, response.json()["code"]) == (429, "throttled")
    assert call(client, widget, "availability", method="get", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert counts() == before
    # Another peer is not held back by this one.
    assert call(client, widget, "session", REMOTE_ADDR="192.0.2.44").status_code == 200


@pytest.mark.django_db
@pytest.mark.embedded
def test_behind_trusted_proxies_only_the_address_they_saw_counts(client, widget, settings):
    # spec: SEC-3 — NUM_PROXIES=1: the last X-Forwarded-For entry, which our proxy wrote
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"widget": "3/min"},
        "NUM_PROXIES": 1,
    }
    for n in range(3):
        forwarded = f"10.9.9.{n}, 203.0.113.5"  # the client forged the first entry
        assert call(client, widget, "session", HTTP_X_FORWARDED_FOR=forwarded).status_code == 200
    response = call(client, widget, "session", HTTP_X_FORWARDED_FOR="10.9.9.200, 203.0.113.5")
    assert response.status_code == 429
    # Another client behind the same proxy (one peer address) has its own count.
    assert call(client, widget, "session", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200


@pytest.mark.embedded
def test_the_throttle_holds_against_forged_x_forwarded_for_through_the_real_server(
    in_memory_layer, asgi_server, settings
):
    # spec: SEC-3 — the server as deployed: the ASGI server applies no proxy headers of its own
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"widget": "2/min"}}
    widget = ChatWidgetFactory(origins=[ORIGIN])
    statuses = []
    for n in range(4):
        connection = http.client.HTTPConnection(asgi_server.host, asgi_server.port, timeout=10)
        headers = {"Origin": ORIGIN, "Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{n}"}
        connection.request("POST", f"/widget/{widget.public_key}/session/", body="{}", headers=headers)
        statuses.append(connection.getresponse().status)
        connection.close()
    assert statuses == [200, 200, 429, 429]


# --- A Redis outage: 503, not 500 (issue 10, from defect 8) ----------------------------------------------


@pytest.fixture
def edge_on_private_redis(settings):
    """The throttle counts and the channel layer on a private Redis, as production runs them."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    from channels.layers import channel_layers

    redis = PrivateRedis()
    redis.start()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis.url]}}
    }
    channel_layers.backends.clear()
    yield redis
    redis.stop()
    channel_layers.backends.clear()


@pytest.mark.django_db
def test_widget_endpoints_answer_503_while_redis_is_down_and_recover(
    client, widget, edge_on_private_redis, logged_errors
):
    # spec: SEC-3, REL-3 — a clear, retryable refusal that changes nothing, never a 500
    token = call(client, widget, "session").json()["visitor_token"]
    edge_on_private_redis.stop()
    before = counts()
    body = {"visitor_token": token, "kind": "custom_action", "title": "Returns", "prechat": {}, "context": {}}
    for endpoint, method in [("session", "post"), ("chats", "post"), ("availability", "get"), ("actions", "post")]:
        response = call(client, widget, endpoint, body, method=method)
        assert response.status_code == 503, (endpoint, response.content)
        assert response.json() == {
            "code": "unavailable",
            "message": "The chat is briefly unavailable. Try again in a few seconds.",
        }
        assert response["Retry-After"] == "5"
        assert response["Access-Control-Allow-Origin"] == ORIGIN  # the widget can read why
    assert counts() == before
    # Django logs each 5xx in one line; nothing raised, so no traceback.
    assert [record for record in logged_errors if record.exc_info] == []
    edge_on_private_redis.start()
    assert call(client, widget, "session", {"visitor_token": token}).status_code == 200


@pytest.mark.django_db
def test_a_redis_that_stops_answering_gets_503_within_seconds_not_a_hung_call(client, widget, settings):
    # spec: SEC-3, REL-3 — a Redis that accepts connections but never answers (a hung server):
    # redis-py's read timeout (5 s by default in redis-py 8) ends the call, and it is a 503
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshake; nothing ever answers
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
        }
    }
    try:
        started = time.monotonic()
        response = call(client, widget, "session")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert (response.status_code, response.json()["code"]) == (503, "unavailable")
    assert elapsed < 15
    assert Visitor.objects.count() == 0
