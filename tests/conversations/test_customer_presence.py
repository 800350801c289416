"""The customer is gone only when their last socket is (issue 10, defect 3; LIVE-3, REL-2)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from conversations.customer_presence import (
    customer_socket_heartbeat,
    customer_socket_join,
    customer_socket_leave,
    customer_sockets_drop_stale,
)
from conversations.models import Conversation, CustomerConnection
from omnichannel.tasks import sweep_overdue_deadlines
from tests.conversations.factories import ConversationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def left_at(conversation):
    conversation.refresh_from_db()
    return conversation.customer_left_at


@pytest.fixture
def chat():
    return ConversationFactory(status=Conversation.Status.ACTIVE)


def test_one_of_two_tabs_closing_keeps_the_customer_and_the_last_starts_the_grace(
    chat, django_capture_on_commit_callbacks
):
    # spec: LIVE-3
    customer_socket_join(conversation_id=chat.pk, channel_name="tab-1")
    customer_socket_join(conversation_id=chat.pk, channel_name="tab-2")
    with django_capture_on_commit_callbacks() as callbacks:
        customer_socket_leave(channel_name="tab-1")
    assert left_at(chat) is None and callbacks == []  # no grace task either
    with django_capture_on_commit_callbacks() as callbacks:
        customer_socket_leave(channel_name="tab-2")
    assert left_at(chat) is not None and len(callbacks) == 1  # the grace task, on commit
    # Twice is a no-op; coming back within the grace keeps the chat.
    first_left = left_at(chat)
    assert customer_socket_leave(channel_name="tab-2") is None
    assert left_at(chat) == first_left
    customer_socket_join(conversation_id=chat.pk, channel_name="tab-3")
    assert left_at(chat) is None
    assert list(CustomerConnection.objects.values_list("channel_name", flat=True)) == ["tab-3"]


def test_a_dead_servers_socket_does_not_keep_the_customer_present(chat):
    # spec: LIVE-3, REL-2 — a row nobody refreshes counts as gone: leaving the last live tab starts
    # the grace, and the sweep drops the dead row and starts it from the last sign of life
    joined_at = timezone.now()
    with time_machine.travel(joined_at, tick=False):
        customer_socket_join(conversation_id=chat.pk, channel_name="dead-process")
    with time_machine.travel(joined_at + timedelta(seconds=20), tick=False):
        customer_sockets_drop_stale()  # not stale yet (three beats of 10 s)
        assert left_at(chat) is None and CustomerConnection.objects.count() == 1
        customer_socket_heartbeat(conversation_id=chat.pk, channel_name="dead-process")  # one last beat
    last_beat = joined_at + timedelta(seconds=20)
    with time_machine.travel(last_beat + timedelta(seconds=31), tick=False):
        assert sweep_overdue_deadlines()["customers_without_socket"] == 1
        assert left_at(chat) == last_beat
        assert CustomerConnection.objects.count() == 0
        assert sweep_overdue_deadlines()["customers_without_socket"] == 0  # twice changes nothing


def test_a_live_tab_beside_a_dead_one_keeps_the_customer(chat):
    # spec: LIVE-3 — the sweep drops the dead server's socket but the other tab is still live
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        customer_socket_join(conversation_id=chat.pk, channel_name="dead-process")
        customer_socket_join(conversation_id=chat.pk, channel_name="live-tab")
    with time_machine.travel(start + timedelta(seconds=40), tick=False):
        customer_socket_heartbeat(conversation_id=chat.pk, channel_name="live-tab")
        assert customer_sockets_drop_stale() == 0
        assert left_at(chat) is None
        assert list(CustomerConnection.objects.values_list("channel_name", flat=True)) == ["live-tab"]
    # ... and a live socket whose row the sweep dropped (its process paused) is back at its next beat.
    with time_machine.travel(start + timedelta(seconds=80), tick=False):
        assert customer_sockets_drop_stale() == 1
        assert left_at(chat) is not None
        customer_socket_heartbeat(conversation_id=chat.pk, channel_name="live-tab")
        assert left_at(chat) is None
