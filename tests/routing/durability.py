"""Helpers of the deadline durability tests (tests/routing/test_durability.py and
tests/omnichannel/test_broker_restart.py): Celery worker and beat processes on a private Redis,
deadlines made by the services, and the checks that each was applied exactly once."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications.models import AgentBanner, Notification, NotificationTemplate
from notifications.services import notification_display
from omnichannel.tasks import sweep_overdue_deadlines
from routing.models import Offer, WorkItem, WorkstreamTemplate
from routing.services import offer_time_out, offers_dispatch
from tests.conftest import restore_seed_data
from tests.conversations.factories import ConversationFactory
from tests.live import ROOT, PrivateRedis, start_celery_worker_process
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkItemFactory, WorkstreamFactory
from tests.widgets.factories import InvitationFactory
from widgets.models import INVITATION_LIFETIME, Invitation
from widgets.services import invitation_expire, invitation_schedule_expiry

DEADLINES = 4  # offers and invitations, each
#: The deadline tasks make_deadlines sends: the offers of one dispatch pass share one timeout
#: task (one deadline), and each invitation has its own.
DEADLINE_TASKS = 1 + DEADLINES
DUE_IN = 5  # seconds: the shortest notification timeout a template may have (NOT-6)


@contextmanager
def celery_broker(url: str):
    """Send this process's tasks (the services' on-commit scheduling) to ``url``."""
    from omnichannel.celery import app

    def drop_connections() -> None:
        # Forget, never close: the pools live in kombu's registry per broker URL, and the
        # default broker's pool is used again by the tests that follow.
        app._pool = None
        app.amqp._producer_pool = None

    def use(broker_url: str, transport_options: dict) -> None:
        # The keys as the Django settings name them: Celery 5.6 reads a namespaced key
        # (CELERY_BROKER_URL) before a change made under the plain name.
        app.conf["CELERY_BROKER_URL"], app.conf["CELERY_BROKER_TRANSPORT_OPTIONS"] = broker_url, transport_options

    saved = app.conf.broker_url, app.conf.broker_transport_options
    drop_connections()
    use(url, {"visibility_timeout": 3600})
    assert app.conf.broker_write_url == url
    try:
        yield
    finally:
        drop_connections()
        use(*saved)


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(redis: PrivateRedis, log_path: str | None = None) -> subprocess.Popen:
    return start_celery_worker_process(
        env={"DATABASE_URL": database_url(), "REDIS_URL": redis.url},
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        log_path=log_path,
    )


def start_beat(redis: PrivateRedis, schedule_dir: str, log_path: str | None = None) -> subprocess.Popen:
    """A ``celery beat`` process sending the deadline sweep every second (its output to
    ``log_path`` when given)."""
    import os

    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "omnichannel", "beat", "-s", f"{schedule_dir}/schedule", "-l", "info"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis.url,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "DEADLINE_SWEEP_SECONDS": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log = open(log_path or os.devnull, "w", buffering=1)  # noqa: SIM115 - owned by the process
    for line in process.stdout:
        log.write(line)
        if "beat: Starting" in line:
            break
    else:
        raise RuntimeError("celery beat exited before it started.")
    threading.Thread(target=lambda: [log.write(line) for line in process.stdout], daemon=True).start()
    return process


def pending_deadlines(redis: PrivateRedis) -> tuple[int, int]:
    """(messages waiting in the queue, messages a worker took and has not acknowledged)."""
    client = redis.client()
    return client.llen(settings.CELERY_TASK_DEFAULT_QUEUE), client.hlen("unacked")


def make_deadlines() -> tuple[list[Offer], list[Invitation]]:
    """DEADLINES displayed offers (one per agent) and DEADLINES shown invitations, all due in
    DUE_IN seconds, their deadline tasks scheduled by the services on commit."""
    restore_seed_data()
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, capacity_units=10)
    # Chats, not cases: a case assignment holds at its timeout (NOT-14); a chat's offer times out.
    template = NotificationTemplate.objects.create(
        name="Quick chat", scenario="incoming_chat", kind="alert", title="Chat", timeout_seconds=DUE_IN
    )
    WorkstreamTemplate.objects.create(workstream=workstream, scenario="incoming_chat", template=template)
    for _ in range(DEADLINES):
        AgentProfileFactory(queues=[queue], capacity=10, reachable=True)  # room for its one offer only
        WorkItemFactory(conversation=ConversationFactory(workstream=workstream), queue=queue)
    assert offers_dispatch() == DEADLINES  # their timeout task is sent as the pass commits
    offers = list(Offer.objects.select_related("agent").order_by("pk"))
    for offer in offers:  # the workspace showed them, so a timeout moves the work on (NOT-7)
        notification_display(notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=offer.agent)
    shown_at = timezone.now() - (INVITATION_LIFETIME - timedelta(seconds=DUE_IN))
    invitations = [InvitationFactory(shown_at=shown_at) for _ in range(DEADLINES)]
    for invitation in invitations:
        invitation_schedule_expiry(invitation)  # autocommit: the task is sent at once
    return offers, invitations


def snapshot(offers, invitations) -> dict:
    """Everything a deadline writes: the offer's answer, its notification's close, the agent's
    banner, the work item's state, how many offers it had; the invitation's close."""
    return {
        "offers": list(
            Offer.objects.filter(pk__in=[o.pk for o in offers])
            .order_by("pk")
            .values_list("pk", "status", "responded_at")
        ),
        "notifications": list(
            Notification.objects.filter(offer_id__in=[o.pk for o in offers])
            .order_by("offer_id")
            .values_list("offer_id", "status", "closed_at")
        ),
        "banners": list(
            AgentBanner.objects.filter(agent__offers__in=offers)
            .order_by("agent")
            .values_list("agent", "kind", "created_at")
        ),
        "work_items": list(WorkItem.objects.filter(offers__in=offers).order_by("pk").values_list("pk", "status")),
        "offers_made": Offer.objects.count(),
        "invitations": list(
            Invitation.objects.filter(pk__in=[i.pk for i in invitations])
            .order_by("pk")
            .values_list("pk", "status", "closed_at")
        ),
    }


def assert_applied_exactly_once(offers, invitations) -> dict:
    state = snapshot(offers, invitations)
    assert [status for _, status, _ in state["offers"]] == ["timed_out"] * DEADLINES
    assert [status for _, status, _ in state["notifications"]] == ["timed_out"] * DEADLINES
    assert all(closed_at is not None for _, _, closed_at in state["notifications"])
    # One missed-notification banner per agent (NOT-10): the timeout ran once for each offer.
    assert [(agent, kind) for agent, kind, _ in state["banners"]] == [
        (offer.agent_id, "missed_notification") for offer in sorted(offers, key=lambda o: o.agent_id)
    ]
    # Back in the queue, not offered again: every agent is Inactive after missing it.
    assert [status for _, status in state["work_items"]] == ["queued"] * DEADLINES
    assert state["offers_made"] == DEADLINES
    by_pk = {invitation.pk: invitation for invitation in invitations}
    assert [(status, closed_at) for _, status, closed_at in state["invitations"]] == [
        ("expired", by_pk[pk].expires_at) for pk, _, _ in state["invitations"]
    ]
    # Firing again — the lost task redelivered, the sweep again — changes nothing.
    for offer in offers:
        offer_time_out(offer_id=offer.pk)
    for invitation in invitations:
        invitation_expire(invitation_id=invitation.pk)
    sweep_overdue_deadlines()
    assert snapshot(offers, invitations) == state
    return state


def all_due(offers, invitations) -> bool:
    timed_out = Offer.objects.filter(pk__in=[o.pk for o in offers], status="timed_out").count()
    expired = Invitation.objects.filter(pk__in=[i.pk for i in invitations], status="expired").count()
    return timed_out == expired == DEADLINES


def nothing_applied(offers, invitations) -> bool:
    return (
        Offer.objects.filter(pk__in=[o.pk for o in offers], status="pending").count() == DEADLINES
        and Invitation.objects.filter(pk__in=[i.pk for i in invitations], status="shown").count() == DEADLINES
    )
