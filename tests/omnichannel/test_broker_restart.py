"""Timers survive a broker (Redis) restart by themselves (REL-2; design.md, "Time").

Real processes on PostgreSQL: a private redis-server on a free port (never the shared one), one
``celery worker`` and one ``celery beat`` process on it, started once and never restarted by the
test. Deadlines are scheduled by the services themselves: offers about to time out (NOT-7) and
invitations about to expire (PRO-4), whose ETA tasks the worker holds, and a wrap-up about to
auto-close, which only beat's sweep applies. Redis stops while they are pending, they fall due
during the outage, Redis comes back empty. The same worker and beat must then apply each
deadline exactly once, within seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation, ConversationEvent
from conversations.services import conversation_auto_close, conversation_customer_end
from omnichannel.tasks import sweep_overdue_deadlines
from tests.conversations.factories import ConversationFactory
from tests.live import PrivateRedis, wait_until
from tests.routing.durability import (
    DEADLINE_TASKS,
    DUE_IN,
    all_due,
    assert_applied_exactly_once,
    celery_broker,
    make_deadlines,
    nothing_applied,
    pending_deadlines,
    start_beat,
    start_worker,
)
from tests.routing.factories import AgentProfileFactory, WorkstreamFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# After Redis is back, the worker reconnects (Celery's 2 s, then 4 s backoff while it is down)
# and beat's next sweep (every second here) applies what fell due: well within this.
RECOVERY_SECONDS = 15


def make_wrap_up() -> Conversation:
    """A chat the customer ended: in wrap-up, auto-closing in DUE_IN seconds (only the sweep
    closes it: no task carries this deadline)."""
    agent = AgentProfileFactory(capacity=10)
    workstream = WorkstreamFactory(chat_settings__auto_close_wrap_up_seconds=DUE_IN)
    conversation = ConversationFactory(workstream=workstream, agent=agent, status=Conversation.Status.ACTIVE)
    conversation_customer_end(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.WRAP_UP and conversation.auto_close_at is not None
    return conversation


def closed_events(conversation: Conversation) -> list[tuple[str, str, str]]:
    return list(
        ConversationEvent.objects.filter(conversation=conversation, to_status=Conversation.Status.CLOSED).values_list(
            "from_status", "to_status", "actor"
        )
    )


def log_tail(path: Path, lines: int = 8) -> str:
    """The process's CRITICAL/ERROR lines, then its last lines."""
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    alarms = [line for line in text if "CRITICAL/" in line or "ERROR/" in line]
    return "\n".join(alarms + ["…"] + text[-lines:])


class DurableRedis(PrivateRedis):
    """A private redis-server that writes every change to an append-only file and so comes back
    with its data: the queued and unacknowledged (ETA) messages too."""

    def __init__(self, data_dir: str) -> None:
        super().__init__()
        self.data_dir = data_dir

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", self.data_dir]
            + ["--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10, what="the private redis-server")

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:  # not listening yet, or still loading its data
            return False


@pytest.fixture(params=["empty", "with its data"])
def restarting_redis(request, private_redis):
    """A private Redis that restarts empty (no persistence), or with everything it held."""
    if request.param == "empty":
        yield private_redis
        return
    private_redis.stop()
    data_dir = tempfile.mkdtemp(prefix="redis-data-")
    redis = DurableRedis(data_dir)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_redis_restart_leaves_worker_and_beat_running_and_applies_each_deadline_once(restarting_redis):
    # spec: REL-2 — Redis restarts (empty, or with its data) while ETA tasks are pending and their
    # deadlines fall due during the outage; the same worker and beat apply each deadline exactly
    # once after it returns
    broker = restarting_redis
    workdir = Path(tempfile.mkdtemp(prefix="broker-restart-"))
    worker_log, beat_log = workdir / "worker.log", workdir / "beat.log"
    worker = beat = None
    with celery_broker(broker.url):
        try:
            worker = start_worker(broker, log_path=str(worker_log))
            beat = start_beat(broker, str(workdir), log_path=str(beat_log))
            # One transaction, so that beat's sweep cannot make some of the offers itself; the
            # deadline tasks are sent as it commits.
            with transaction.atomic():
                offers, invitations = make_deadlines()
                wrap_up = make_wrap_up()
            deadlines = [o.expires_at for o in offers + invitations] + [wrap_up.auto_close_at]
            # The worker holds every ETA task, unacknowledged, when Redis goes away.
            wait_until(
                lambda: pending_deadlines(broker)[1] >= DEADLINE_TASKS,
                timeout=DUE_IN - 2,
                what="the worker to take the deadline tasks",
            )
            broker.stop()
            margin = (min(deadlines) - timezone.now()).total_seconds()
            assert margin > 0, "the machine was too slow: a deadline fell due before Redis stopped"
            # Every deadline falls due while the broker is down: nothing can apply it yet.
            time.sleep(max((max(deadlines) - timezone.now()).total_seconds(), 0) + 1)
            assert nothing_applied(offers, invitations)
            assert Conversation.objects.get(pk=wrap_up.pk).status == Conversation.Status.WRAP_UP

            broker.start()  # empty, or with the messages the worker had not acknowledged
            returned = time.monotonic()
            kept = pending_deadlines(broker)[1]
            assert kept >= DEADLINE_TASKS if isinstance(broker, DurableRedis) else kept == 0

            def applied() -> bool:
                assert worker.poll() is None, f"the worker died:\n{log_tail(worker_log)}"
                assert beat.poll() is None, f"beat died:\n{log_tail(beat_log)}"
                closed = Conversation.objects.filter(pk=wrap_up.pk, status=Conversation.Status.CLOSED).exists()
                return closed and all_due(offers, invitations)

            wait_until(applied, timeout=RECOVERY_SECONDS, what=f"the deadlines:\n{log_tail(worker_log)}")
            recovered_in = time.monotonic() - returned
            time.sleep(1.5)  # another sweep or two run: they must change nothing
            # The same processes, never restarted: still alive.
            assert worker.poll() is None, f"the worker died:\n{log_tail(worker_log)}"
            assert beat.poll() is None, f"beat died:\n{log_tail(beat_log)}"
        finally:
            for process in (beat, worker):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(15)
            shutil.rmtree(workdir, ignore_errors=True)
    assert_applied_exactly_once(offers, invitations)
    # The wrap-up closed once, by the system, and firing again changes nothing.
    assert closed_events(wrap_up) == [("wrap_up", "closed", "system")]
    conversation_auto_close(conversation_id=wrap_up.pk)
    sweep_overdue_deadlines()
    assert closed_events(wrap_up) == [("wrap_up", "closed", "system")]
    print(
        f"\nREL-2: Redis stopped {margin:.1f} s before the first deadline; every deadline applied"
        f" {recovered_in:.1f} s after it returned, by the same worker and beat"
    )


# --- The channel layer (design.md, "Real time"; REL-1) ------------------------------------------


@pytest.fixture
def layer_on_private_redis(settings, private_redis):
    """The production channel layer exactly as settings build it, on the private Redis."""
    import copy

    from channels.layers import channel_layers

    if settings.EMBEDDED:
        pytest.skip("the Redis channel layer needs REDIS_URL")
    layer = copy.deepcopy(settings.CHANNEL_LAYERS["default"])
    layer["CONFIG"]["hosts"][0]["address"] = private_redis.url
    settings.CHANNEL_LAYERS = {"default": layer}
    channel_layers.backends.clear()
    yield private_redis
    channel_layers.backends.clear()


def test_sockets_work_again_after_a_redis_restart_without_restarting_the_server(
    layer_on_private_redis, asgi_server, agent_login
):
    # spec: REL-1 — the ASGI server's channel layer after Redis restarts empty: an existing socket
    # and a new one both receive their events again, and the server was never restarted
    import json

    from websockets.sync.client import connect

    from core.realtime import agent_group, publish_on_commit

    redis = layer_on_private_redis
    agent = AgentProfileFactory()
    cookie = agent_login(agent)

    def open_workspace():
        return connect(
            f"{asgi_server.ws_url}/ws/workspace/",
            origin=asgi_server.url,
            additional_headers={"Cookie": cookie},
            open_timeout=5,
        )

    def receive(ws) -> dict:
        return json.loads(ws.recv(timeout=10))

    def event(presence: str) -> dict:
        return {"type": "presence.changed", "agent": agent.pk, "presence": presence}

    with open_workspace() as existing:
        assert receive(existing) == {"type": "hello", "agent": agent.pk}
        publish_on_commit(agent_group(agent.pk), event("before"))
        assert receive(existing) == event("before")

        redis.stop()
        time.sleep(1)
        redis.start()  # empty: every group membership is gone with it
        returned = time.monotonic()

        existing.send(json.dumps({"type": "ping", "ref": "after"}))
        assert receive(existing) == {"type": "pong", "ref": "after"}
        with open_workspace() as new:
            assert receive(new) == {"type": "hello", "agent": agent.pk}
            publish_on_commit(agent_group(agent.pk), event("after"))
            assert receive(new) == event("after")
            assert receive(existing) == event("after")
        print(f"\nREL-1: both sockets served again {time.monotonic() - returned:.1f} s after Redis returned")
