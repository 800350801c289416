"""Customer sockets whose cleanup always runs, and a customer who is gone only when their last
socket is (issue 10, defects 2 and 3; LIVE-3, REL-1, REL-3).

Real uvicorn, the real Redis channel layer, real TCP clients that drop with a reset (no close
frame) while the server is writing to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.utils import timezone
from websockets.asyncio.client import connect as aconnect
from websockets.sync.client import connect

from conversations.models import ChatSettings, Conversation, Message
from conversations.services import conversation_end_if_customer_gone
from core.channel_layer import subscription_name
from omnichannel.tasks import sweep_overdue_deadlines
from tests.conftest import REDIS_URL
from tests.conversations.factories import ConversationFactory
from tests.live import ROOT, stop_process, wait_until
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory
from widgets.tokens import conversation_token

ORIGIN = "https://shop.example.com"


# --- helpers --------------------------------------------------------------------------------------


class _Problems(logging.Handler):
    """Every error or traceback logged anywhere on the server side."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.name.startswith("websockets.client"):
            return  # the test's own clients
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def texts(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {self.format(r) if r.exc_info else ''}" for r in self.records]


@pytest.fixture
def problems():
    """Capture errors and tracebacks, including uvicorn's loggers (they do not propagate)."""
    handler = _Problems()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.asgi")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def live_chat(*, messages: int = 0, size: int = 1500, status=Conversation.Status.ACTIVE, grace: int = 120):
    widget = ChatWidgetFactory()
    ChatSettings.objects.filter(workstream=widget.workstream).update(customer_grace_seconds=grace)
    visitor = VisitorFactory(widget=widget)
    conversation = ConversationFactory(widget=widget, visitor=visitor, workstream=widget.workstream, status=status)
    if messages:
        rng = random.Random(conversation.pk)
        now = timezone.now()
        Message.objects.bulk_create(
            Message(
                conversation=conversation,
                seq=seq,
                sender=Message.Sender.AGENT,
                # Random letters: per-message deflate cannot shrink the burst below the buffers.
                text="".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=size)),
                created_at=now,
            )
            for seq in range(1, messages + 1)
        )
        conversation.last_message_seq = messages
        conversation.save(update_fields=["last_message_seq"])
    token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
    return conversation, token


def group_members(conversation) -> int:
    """How many server processes Redis delivers the conversation's group to (each subscribes
    once, while one of its sockets is in the group)."""
    name = subscription_name(settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"], f"conversation.{conversation.pk}")
    ((_name, count),) = redis.Redis.from_url(REDIS_URL).pubsub_numsub(name)
    return count


def left_at(conversation):
    return Conversation.objects.only("customer_left_at").get(pk=conversation.pk).customer_left_at


async def open_raw(server, widget, *, rcvbuf: int = 4096):
    """A WebSocket over a TCP socket we own, with a small receive buffer, so the server's burst
    stays in flight (in its buffers) while we read slowly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    return await aconnect(
        f"{server.ws_url}/ws/widget/{widget.public_key}/",
        sock=sock,
        origin=ORIGIN,
        compression=None,
        open_timeout=10,
        ping_interval=None,
    )


def reset(ws) -> None:
    """Drop the TCP connection with a reset: no close frame, no FIN (SO_LINGER 1, 0 then close)."""
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


async def join(ws, token, *, after: int) -> dict:
    await ws.send(json.dumps({"type": "join", "token": token, "after": after}))
    joined = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert joined["type"] == "joined", joined
    return joined


async def read_messages(ws, count: int, seen: list[int]) -> None:
    """Read ``count`` message frames, recording their seqs."""
    while count:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["type"] == "conversation.message", frame
        seen.append(frame["seq"])
        count -= 1


@dataclass
class ServerProcess:
    """The project's ASGI app under uvicorn in a process of its own, on this test's database,
    Redis and channel prefix: a core of its own, and a process that can die."""

    process: subprocess.Popen
    host: str
    port: int
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server_process(tmp_path, name: str = "server", **extra_env: str) -> ServerProcess:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a server process needs the test database on PostgreSQL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "CHANNEL_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "omnichannel.asgi:application", "--port", str(port)]
            + ["--lifespan", "off", "--ws", "websockets-sansio", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, "127.0.0.1", port, log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection((server.host, port), timeout=1):
                return server
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop_process(process)
                raise AssertionError(f"the server did not start: {server.log()}") from None
            time.sleep(0.1)


# --- (a) a socket reset mid-burst -----------------------------------------------------------------


@pytest.mark.redis
def test_a_socket_reset_while_the_server_writes_runs_the_disconnect_path(redis_layer, asgi_server, problems):
    # spec: LIVE-3, REL-3 — a send to a gone client ends the consumer through its normal disconnect
    # path: the grace period starts, the channel leaves the group, nothing is logged as a failure
    conversation, token = live_chat(messages=400)

    async def customer():
        ws = await open_raw(asgi_server, conversation.widget)
        await join(ws, token, after=0)
        seen: list[int] = []
        await read_messages(ws, 3, seen)  # the server is still writing the other 397
        assert seen == [1, 2, 3]
        members = group_members(conversation)  # plain Redis, no Django: blocks nothing for long
        reset(ws)
        return members

    assert asyncio.run(customer()) == 1  # it was a member while open
    wait_until(lambda: left_at(conversation) is not None, timeout=10)  # LIVE-3: the grace period started
    wait_until(lambda: group_members(conversation) == 0, timeout=10)  # and the dead channel left the group
    time.sleep(0.3)  # anything the server would log about it has been logged by now
    assert problems.texts() == []
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.ACTIVE  # still in grace


# --- (b) 1,000 abrupt reconnects ------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.slow
def test_a_thousand_abrupt_reconnects_lose_nothing_repeat_nothing_and_leave_nothing(
    redis_layer, transactional_db, tmp_path
):
    # spec: REL-1, LIVE-3, REL-3 — 1,000 resets mid-send (20 customers × 50, in parallel), each
    # reconnect landing on the other of two server processes (as behind a load balancer): every
    # stored seq is seen exactly once across the reconnects, the grace period started each time
    # the last socket went, no traceback, no stale group member
    customers, rounds, backlog = 20, 50, 250
    chats = [live_chat(messages=backlog, size=3000) for _ in range(customers)]
    # Persistent database connections, as a production server runs: a new one per handler would
    # triple the server's CPU per reconnect on these two shared cores.
    servers = [start_server_process(tmp_path, f"server-{n}", CONN_MAX_AGE="60") for n in range(2)]
    started = time.monotonic()

    def grace_started(conversation_id: int) -> bool:
        return Conversation.objects.filter(pk=conversation_id, customer_left_at__isnull=False).exists()

    grace_started_async = sync_to_async(grace_started, thread_sensitive=False)

    async def customer(index: int, conversation, token) -> tuple[list[int], int]:
        rng = random.Random(index)
        seen: list[int] = []
        graces = 0
        for round_ in range(rounds):
            server = servers[(index + round_) % len(servers)]
            ws = await open_raw(server, conversation.widget, rcvbuf=rng.choice([2048, 4096, 8192]))
            await join(ws, token, after=seen[-1] if seen else 0)
            await read_messages(ws, rng.randint(0, 3), seen)
            reset(ws)  # the server still has well over 100 KB of this burst to write
            deadline = time.monotonic() + 30
            while not await grace_started_async(conversation.pk):  # LIVE-3, every time
                assert time.monotonic() < deadline, f"no grace period after a reset of chat {conversation.pk}"
                await asyncio.sleep(0.02)
            graces += 1
        # Last, a calm reader collects the rest and closes properly.
        ws = await open_raw(servers[0], conversation.widget, rcvbuf=1 << 20)
        await join(ws, token, after=seen[-1] if seen else 0)
        await read_messages(ws, backlog - len(seen), seen)
        await ws.close()
        return seen, graces

    async def everyone():
        return await asyncio.gather(*(customer(i, c, t) for i, (c, t) in enumerate(chats)))

    try:
        results = asyncio.run(everyone())
        elapsed = time.monotonic() - started
        for conversation, _token in chats:
            wait_until(lambda conversation=conversation: left_at(conversation) is not None, timeout=10)
            wait_until(lambda conversation=conversation: group_members(conversation) == 0, timeout=10)
    finally:
        for server in servers:
            stop_process(server.process)
    for seen, graces in results:
        assert seen == list(range(1, backlog + 1))  # 0 lost, 0 duplicated, in order
        assert graces == rounds
    for server in servers:
        assert "Traceback" not in server.log() and "Exception" not in server.log(), server.log()
    print(f"1,000 abrupt reconnects in {elapsed:.1f} s")


# --- (c) two tabs ---------------------------------------------------------------------------------

_tabs = contextlib.ExitStack()


@pytest.fixture(autouse=True)
def _close_tabs():
    yield
    _tabs.close()


def open_tab(server, conversation, token):
    """A joined customer socket, closed at the end of the test if not before (close is idempotent)."""
    url = f"{server.ws_url}/ws/widget/{conversation.widget.public_key}/"
    ws = _tabs.enter_context(connect(url, origin=ORIGIN, open_timeout=5))
    ws.send(json.dumps({"type": "join", "token": token, "after": 0}))
    assert json.loads(ws.recv(timeout=5))["type"] == "joined"
    return ws


@pytest.mark.embedded
@pytest.mark.parametrize("layer", ["in_memory_layer", "redis_layer"])
def test_the_customer_is_gone_only_when_their_last_tab_is(layer, request, asgi_server, problems):
    # spec: LIVE-3 — closing one of two tabs keeps the chat; the last one starts the grace period;
    # coming back within it keeps the chat
    request.getfixturevalue(layer)
    conversation, token = live_chat(grace=1)
    first, second = open_tab(asgi_server, conversation, token), open_tab(asgi_server, conversation, token)
    first.close()
    # The second tab still follows the chat: it gets live messages, and no grace period starts.
    from conversations.services import message_post

    message_post(conversation_id=conversation.pk, sender=Message.Sender.AGENT, text="Still here?")
    assert json.loads(second.recv(timeout=5))["text"] == "Still here?"
    time.sleep(1.5)  # longer than the grace period
    sweep_overdue_deadlines()
    conversation.refresh_from_db()
    assert (conversation.customer_left_at, conversation.status) == (None, Conversation.Status.ACTIVE)

    second.close()
    wait_until(lambda: left_at(conversation) is not None, timeout=10)  # the last tab went: the grace period starts

    third = open_tab(asgi_server, conversation, token)  # back within the grace period
    assert left_at(conversation) is None
    time.sleep(1.5)
    conversation_end_if_customer_gone(conversation_id=conversation.pk)  # the grace task fires
    sweep_overdue_deadlines()
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.ACTIVE
    third.close()
    wait_until(lambda: left_at(conversation) is not None, timeout=10)
    assert problems.texts() == []


# --- (d) a server process that dies ---------------------------------------------------------------


@pytest.mark.redis
def test_a_server_process_that_dies_does_not_leave_the_customer_present_forever(
    redis_layer, transactional_db, tmp_path
):
    # spec: LIVE-3, REL-2 — a killed ASGI process runs no disconnect at all: the sweep finds the
    # customer's socket dead and starts the grace period, and the channel's group membership expires
    conversation, token = live_chat(grace=600)
    server = start_server_process(tmp_path)
    try:
        ws = _tabs.enter_context(
            connect(f"{server.ws_url}/ws/widget/{conversation.widget.public_key}/", origin=ORIGIN, open_timeout=5)
        )
        ws.send(json.dumps({"type": "join", "token": token, "after": 0}))
        assert json.loads(ws.recv(timeout=5))["type"] == "joined"
        assert group_members(conversation) == 1
        os.kill(server.process.pid, signal.SIGKILL)  # no disconnect, no cleanup of any kind
        server.process.wait(10)
        ws.close()
    finally:
        stop_process(server.process)

    sweep_overdue_deadlines()  # the socket was alive a moment ago
    assert left_at(conversation) is None
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        sweep_overdue_deadlines()  # its server stopped beating long ago: the customer is gone
        assert left_at(conversation) is not None
        # The dead channel's group membership expires: the next publish to the group drops it.
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        async_to_sync(get_channel_layer().group_send)(
            f"conversation.{conversation.pk}", {"type": "conversation.typing"}
        )
        assert group_members(conversation) == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=20), tick=True):
        sweep_overdue_deadlines()  # and the grace period ends the chat
        assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.WRAP_UP
