"""Offer deadlines acted on by a real Celery worker: the embedded thread on the memory broker, or a
worker process on Redis + PostgreSQL (NOT-7, NOT-8, NOT-10, REL-2)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentProfile
from agents.services.presence import agent_connect
from notifications.models import Notification, NotificationTemplate
from notifications.services import notification_display
from routing.models import Offer, WorkstreamTemplate
from routing.tasks import time_out_offer
from tests.conftest import restore_seed_data
from tests.conversations.factories import chat_start
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.embedded


def setup_chat(*, timeout_seconds: int):
    restore_seed_data()  # a transactional test's flush removed the base presences
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, capacity_units=40)
    template = NotificationTemplate.objects.create(
        name=f"Quick {queue.pk}", scenario="incoming_chat", title="Chat", timeout_seconds=timeout_seconds
    )
    WorkstreamTemplate.objects.create(workstream=workstream, scenario="incoming_chat", template=template)
    first = AgentProfileFactory(queues=[queue], capacity=300)
    second = AgentProfileFactory(queues=[queue], capacity=200)
    for agent in (first, second):
        agent_connect(agent_id=agent.pk, channel_name=f"worker-test.{agent.pk}")
    widget = ChatWidgetFactory(workstream=workstream)
    return widget, first, second


def offered(conversation) -> Offer:
    """The conversation's offer, once the worker's dispatch pass made it (ROU-11)."""
    wait_until(lambda: Offer.objects.filter(work_item__conversation=conversation).exists())
    return Offer.objects.get(work_item__conversation=conversation)


def pending_of(agent) -> Offer | None:
    return Offer.objects.filter(agent=agent, status="pending").first()


def test_a_displayed_alert_times_out_and_is_rerouted_by_the_worker(celery_worker):
    # spec: NOT-7, NOT-10, REL-2 — the task scheduled on commit for the offer's timeout
    widget, first, second = setup_chat(timeout_seconds=3)
    conversation = chat_start(widget)  # the worker's dispatch pass offers it and schedules the timeout
    offer = offered(conversation)
    assert offer.agent == first
    notification_display(notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=first)

    time.sleep(1.5)
    assert Offer.objects.get(pk=offer.pk).status == "pending"
    wait_until(lambda: Offer.objects.get(pk=offer.pk).status == "timed_out", timeout=15)
    offer.refresh_from_db()
    lateness = offer.responded_at - offer.expires_at
    assert timedelta(0) <= lateness < timedelta(seconds=3), f"timed out {lateness} late ({celery_worker})"
    wait_until(lambda: pending_of(second) is not None, timeout=15)
    assert pending_of(second).work_item.conversation.pk == conversation.pk
    assert AgentProfile.objects.select_related("presence").get(pk=first.pk).presence.base == "inactive"


def test_a_never_displayed_alert_stays_then_is_rerouted_eight_minutes_after_its_timeout_by_the_worker(
    celery_worker,
):
    # spec: NOT-8, REL-2 — both deadlines on the worker; the offer was made 8 minutes ago, so its
    # re-route moment falls 3 seconds from now
    widget, first, second = setup_chat(timeout_seconds=120)
    conversation = chat_start(widget)
    offer = offered(conversation)
    now = timezone.now()
    Offer.objects.filter(pk=offer.pk).update(
        created_at=now - timedelta(minutes=10), expires_at=now - timedelta(minutes=8) + timedelta(seconds=3)
    )
    time_out_offer.delay(offer.pk)  # the timeout's task, late: the worker applies NOT-8

    wait_until(lambda: Offer.objects.get(pk=offer.pk).reroute_at is not None, timeout=15)
    offer.refresh_from_db()
    assert offer.reroute_at == offer.expires_at + timedelta(minutes=8)
    assert offer.status == "pending" and offer.work_item.status == "offered"  # still the agent's
    assert AgentProfile.objects.select_related("presence").get(pk=first.pk).presence.base == "inactive"
    assert pending_of(second) is None

    wait_until(lambda: Offer.objects.get(pk=offer.pk).status == "timed_out", timeout=15)
    offer.refresh_from_db()
    lateness = offer.responded_at - offer.reroute_at
    assert timedelta(0) <= lateness < timedelta(seconds=3), f"re-routed {lateness} late ({celery_worker})"
    wait_until(lambda: pending_of(second) is not None, timeout=15)
    assert pending_of(second).work_item.conversation.pk == conversation.pk
