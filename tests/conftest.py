"""Shared fixtures. The suite runs on PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set
(CI sets both), and on SQLite + the in-memory layer otherwise."""

import os
import uuid

import pytest
from django.conf import settings


def pytest_configure(config):
    # The ASGI servers of the tests run on threads of this process, and a connection kept open
    # on one of them (CONN_MAX_AGE) outlives its test: pytest-django then refuses it in a test
    # without database access, and the test database cannot be dropped. In this process every
    # handler closes its connection; server subprocesses and the benchmark keep the default.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


REDIS_URL = os.environ.get("REDIS_URL", "")
requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis server)")


@pytest.fixture
def published(monkeypatch):
    """Capture realtime events instead of sending them: a list of (group, event)."""
    from core import realtime

    sent = []
    monkeypatch.setattr(realtime, "group_send_now", lambda group, event: sent.append((group, event)))
    monkeypatch.setattr(realtime, "group_send_many_now", lambda events: sent.extend(events))

    async def send_async(group, event):
        sent.append((group, event))

    monkeypatch.setattr(realtime, "group_send_async", send_async)
    return sent


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a call as a committed request would: its on-commit work (dispatch, events, tasks)
    runs too, right after it. Returns what the call returned."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def _use_layer(settings, config):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": config}
    channel_layers.backends.clear()


@pytest.fixture
def in_memory_layer(settings):
    """The embedded mode's channel layer, whatever the environment says."""
    from channels.layers import channel_layers

    _use_layer(settings, {"BACKEND": "channels.layers.InMemoryChannelLayer"})
    yield
    channel_layers.backends.clear()


@pytest.fixture
def redis_layer(settings):
    """The production channel layer on the real Redis at REDIS_URL, with a private prefix."""
    if not REDIS_URL:
        pytest.skip("needs REDIS_URL (a real Redis server)")
    import copy

    from channels.layers import channel_layers

    # The production layer exactly as settings build it, with a prefix of this test's own.
    layer = copy.deepcopy(settings.CHANNEL_LAYERS["default"])
    assert layer["BACKEND"] == "core.channel_layer.RedisPubSubLayer"
    layer["CONFIG"]["prefix"] = f"test-{uuid.uuid4().hex[:8]}"
    _use_layer(settings, layer)
    yield
    channel_layers.backends.clear()


@pytest.fixture(params=["in_memory_layer", "redis_layer"])
def layer(request):
    """Run the test once on each channel layer: the embedded mode's and production's Redis."""
    request.getfixturevalue(request.param)
    return request.param


@pytest.fixture(autouse=True)
def dispatch_passes_inline(request, monkeypatch):
    """A dispatch pass (ROU-11) is a Celery task sent on commit; most tests are about what a pass
    does, not where it runs, and have no worker. For them the sent task runs its real body right
    there (Celery's ``apply``), where the commit happened. Tests with a real worker, and tests
    marked ``sent_dispatch`` (they prove the send itself), get the production send."""
    if "celery_worker" in request.fixturenames or request.node.get_closest_marker("sent_dispatch"):
        return
    from routing.tasks import offers_dispatch_task

    monkeypatch.setattr(offers_dispatch_task, "delay", lambda *args, **kwargs: offers_dispatch_task.apply(args, kwargs))


def pytest_report_header(config):
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {db}; redis: {'yes' if REDIS_URL else 'no (embedded only)'}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.2 s a user; tests make hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def restore_seed_data() -> None:
    """Put back what the data migrations ship (base presences, default templates), which a
    transactional test's flush removes."""
    import importlib

    from django.apps import apps

    from agents.models import Presence

    # The presences' migration ran when the model was still routing's (issue 11 moved it).
    importlib.import_module("routing.migrations.0002_base_presences").create_base_presences(Presence)
    importlib.import_module("notifications.migrations.0003_default_templates").create(apps, None)


@pytest.fixture
def asgi_server(transactional_db):
    """The project's ASGI app served for real (HTTP + WebSocket) on 127.0.0.1."""
    from tests.live import start_asgi_server

    restore_seed_data()
    server = start_asgi_server()
    yield server
    server.stop()


@pytest.fixture
def private_redis():
    """A redis-server of this test's own (never the shared one), for tests that stop, restart or
    lose it while worker processes read the test database."""
    import shutil

    from django.db import connection

    from tests.live import PrivateRedis

    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs the test database on PostgreSQL")
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def workstream():
    """A chat workstream whose default queue is "Support"."""
    from tests.routing.factories import QueueFactory, WorkstreamFactory

    return WorkstreamFactory(default_queue=QueueFactory(name="Support"))


@pytest.fixture
def agent(workstream):
    """Ada, an available agent in the workstream's queue (no workspace page open: not reachable)."""
    from tests.routing.factories import AgentProfileFactory

    return AgentProfileFactory(queues=[workstream.default_queue], display_name="Ada")


@pytest.fixture
def chat():
    """A live chat widget whose workstream (40 capacity units a chat) routes to the "General" queue."""
    from tests.routing.factories import QueueFactory, WorkstreamFactory
    from tests.widgets.factories import ChatWidgetFactory

    return ChatWidgetFactory(
        workstream=WorkstreamFactory(default_queue=QueueFactory(name="General"), capacity_units=40)
    )


@pytest.fixture
def clock(time_machine):
    """The clock stopped at the test's start; the test moves it with ``clock.shift(...)``."""
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


@pytest.fixture
def agent_login(client):
    """Log an agent's user in; return (agent, Cookie header value) for a WebSocket handshake."""

    def login(agent):
        client.force_login(agent.user)
        return f"sessionid={client.cookies['sessionid'].value}"

    return login


@pytest.fixture
def workspace(asgi_server, client):
    """Open an agent's workspace socket (hello already read); closed at the end of the test."""
    from contextlib import ExitStack

    from websockets.sync.client import connect

    from tests.conversations.workspace_socket import receive

    with ExitStack() as sockets:

        def open_for(agent, query=""):
            client.force_login(agent.user)
            ws = sockets.enter_context(
                connect(
                    f"{asgi_server.ws_url}/ws/workspace/{query}",
                    origin=asgi_server.url,
                    additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
                    open_timeout=5,
                )
            )
            assert receive(ws) == {"type": "hello", "agent": agent.pk}
            return ws

        yield open_for


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker for timing behaviour, as the mode runs it (tests.live.celery_worker_running)."""
    from tests.live import celery_worker_running

    with celery_worker_running(settings) as kind:
        yield kind


@pytest.fixture
def standin():
    """The stand-in SMS provider (Twilio's protocol) on 127.0.0.1, signing as the test channel does."""
    from conversations.channels.standin import StandInProvider
    from tests.conversations.sms_helpers import ACCOUNT, OUR_NUMBER, TOKEN, twilio_sign

    provider = StandInProvider(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        phone_number=OUR_NUMBER,
        signer=lambda token, url, params: twilio_sign(url, params, token=token),
    )
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def sms_worker(transactional_db, settings):
    """A real worker with short SMS retry delays and a short provider timeout."""
    from tests.live import celery_worker_running

    fast = {"SMS_RETRY_BASE_SECONDS": "0.3", "SMS_RETRY_MAX_DELAY_SECONDS": "1", "SMS_PROVIDER_TIMEOUT_SECONDS": "1"}
    with celery_worker_running(settings, fast):
        yield


def pytest_collection_modifyitems(config, items):
    # Browser tests last: Playwright's sync API leaves an event loop behind that async tests
    # after it would trip over (running-and-testing.md).
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    # Slow fault tests (real processes restarted, thousands of reconnects) run in CI and when
    # asked for (RUN_SLOW=1, or naming them with -m slow); a local run skips them.
    wants_slow = (
        os.environ.get("CI") == "true" or os.environ.get("RUN_SLOW") == "1" or "slow" in (config.option.markexpr or "")
    )
    if not wants_slow:
        skip = pytest.mark.skip(reason="slow fault test: runs in CI, or with RUN_SLOW=1")
        for item in items:
            if item.get_closest_marker("slow") is not None:
                item.add_marker(skip)
