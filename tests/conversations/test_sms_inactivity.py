"""SMS inactivity auto-close (design.md "Time"): a deadline column moved by every message,
applied by the task scheduled for it and by the sweep, exactly once. The logic is tested by
moving the clock, and once with a real worker."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.channels.sms import provider_delivery_process
from conversations.models import Conversation, ConversationEvent, Message, ProviderDelivery
from conversations.services import conversation_inactive_close, message_post
from omnichannel.tasks import sweep_overdue_deadlines
from routing.models import WorkItem
from tests.conversations.sms_helpers import post_signed, sms_params, sms_setup

HOURS = 8 * 3600
NOTICE = "The conversation was closed after a period of inactivity."


def _text_in(client, django_capture_on_commit_callbacks, body="Hello?") -> Conversation:
    params = sms_params(body=body)
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, params)
    delivery = ProviderDelivery.objects.get(provider_id=params["MessageSid"])
    with django_capture_on_commit_callbacks(execute=False):  # tasks are not run here: the clock is
        provider_delivery_process(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return Conversation.objects.get(pk=delivery.conversation_id)


def _ends(conversation) -> list:
    return list(
        ConversationEvent.objects.filter(conversation=conversation, kind="transition", actor="system").values_list(
            "from_status", "to_status"
        )
    )


@pytest.mark.django_db
def test_every_message_moves_the_deadline_and_it_ends_the_conversation_once(
    client, django_capture_on_commit_callbacks, time_machine
):
    # spec: SMS-1, REL-2
    time_machine.move_to(timezone.now(), tick=False)
    channel, agent = sms_setup(inactivity_auto_close_seconds=HOURS)
    conversation = _text_in(client, django_capture_on_commit_callbacks)
    start = timezone.now()
    assert conversation.inactive_close_at == start + timedelta(seconds=HOURS)
    Conversation.objects.filter(pk=conversation.pk).update(status="active", agent=agent)
    time_machine.shift(timedelta(hours=4))
    with django_capture_on_commit_callbacks(execute=False):
        message_post(conversation_id=conversation.pk, sender="agent", text="Still there?", agent=agent)
    conversation.refresh_from_db()
    assert conversation.inactive_close_at == start + timedelta(hours=12)  # the agent's reply moved it
    time_machine.shift(timedelta(hours=4, seconds=1))  # the first deadline has passed: its task comes
    with django_capture_on_commit_callbacks(execute=True):
        conversation_inactive_close(conversation_id=conversation.pk)
        sweep_overdue_deadlines()
    conversation.refresh_from_db()
    assert conversation.status == "active" and _ends(conversation) == []
    time_machine.shift(timedelta(hours=4))  # 12 h after the start: nobody wrote for 8 h
    with django_capture_on_commit_callbacks(execute=True):
        conversation_inactive_close(conversation_id=conversation.pk)
        conversation_inactive_close(conversation_id=conversation.pk)  # its task, late or twice
        assert sweep_overdue_deadlines()["inactive_closed"] == 0
    conversation.refresh_from_db()
    assert (conversation.status, conversation.inactive_close_at) == ("wrap_up", None)
    assert _ends(conversation) == [("active", "wrap_up")]
    assert Message.objects.filter(conversation=conversation, text=NOTICE).count() == 1


@pytest.mark.django_db
def test_the_sweep_ends_one_whose_task_was_lost_and_an_untaken_one_is_closed(
    client, django_capture_on_commit_callbacks, time_machine
):
    # spec: SMS-1, REL-2
    time_machine.move_to(timezone.now(), tick=False)
    sms_setup(inactivity_auto_close_seconds=HOURS)
    conversation = _text_in(client, django_capture_on_commit_callbacks)
    assert conversation.status == "open"  # offered, nobody took it
    time_machine.shift(timedelta(seconds=HOURS - 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_overdue_deadlines()["inactive_closed"] == 0
    time_machine.shift(timedelta(seconds=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_overdue_deadlines()["inactive_closed"] == 1
        assert sweep_overdue_deadlines()["inactive_closed"] == 0
    conversation.refresh_from_db()
    assert conversation.status == "closed" and _ends(conversation) == [("open", "closed")]
    assert WorkItem.objects.get(conversation=conversation).status == "done"  # withdrawn from the queue
    # The customer's next text starts a new conversation.
    again = _text_in(client, django_capture_on_commit_callbacks, body="Hello again")
    assert again.pk != conversation.pk and again.status == "open"


@pytest.mark.django_db
def test_chats_have_no_inactivity_deadline(client, django_capture_on_commit_callbacks):
    # spec: SMS-1
    from tests.conversations.factories import ConversationFactory

    chat = ConversationFactory()
    message_post(conversation_id=chat.pk, sender="customer", text="Hi")
    chat.refresh_from_db()
    assert chat.inactive_close_at is None


def test_a_real_worker_ends_an_idle_sms_conversation_at_its_deadline(client, celery_worker):
    # spec: SMS-1, REL-2
    channel, agent = sms_setup(inactivity_auto_close_seconds=2)
    params = sms_params(body="Hello?")
    assert post_signed(client, params).status_code == 200  # committed: the worker routes it
    deadline = time.monotonic() + 20
    while not Conversation.objects.filter(phone_channel=channel).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    conversation = Conversation.objects.get(phone_channel=channel)
    started = time.monotonic()
    while Conversation.objects.get(pk=conversation.pk).status == "open":
        assert time.monotonic() - started < 15, "the inactivity task did not run"
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    conversation.refresh_from_db()
    assert conversation.status == "closed" and 0.5 < elapsed
    time.sleep(1)
    assert _ends(conversation) == [("open", "closed")]
    assert Message.objects.filter(conversation=conversation, text=NOTICE).count() == 1
