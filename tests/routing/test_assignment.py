"""Push assignment for chat: who gets offered what, accept, reject, timeout, release (ROU-6..11,
NOT-4, NOT-7, LIVE-1, LIVE-3, LIVE-4, CONV-1, CONV-3)."""

import threading
from datetime import time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.services import agent_presence_set
from conversations.errors import ConversationError, ConversationValidationError
from conversations.models import Conversation, Message, Session
from conversations.services import (
    conversation_agent_end,
    conversation_customer_end,
    conversation_customer_left,
    conversation_customer_returned,
    conversation_end_if_customer_gone,
    conversation_wrap_up_close,
)
from core.errors import Forbidden
from core.realtime import agent_group
from notifications.models import Notification
from notifications.services import notification_display
from omnichannel.tasks import sweep_overdue_deadlines
from routing.errors import RoutingError
from routing.models import Offer, RoutingRule, WorkItem
from routing.services import offer_accept, offer_reject, offer_time_out
from tests.conversations.factories import chat_accepted_by, chat_start, pending_offer
from tests.routing.factories import (
    AgentProfileFactory,
    AgentSkillFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    SkillFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory

pytestmark = pytest.mark.django_db


def test_a_new_chat_is_queued_with_position_and_average_wait_then_offered(chat, run_on_commit, published):
    # spec: LIVE-1, ROU-9, NOT-4
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    conversation = run_on_commit(chat_start, chat, context_variables={"tier": {"value": "gold", "isDisplayable": True}})

    texts = list(conversation.messages.values_list("sender", "text"))
    assert texts == [
        ("system", "You are number 1 in the queue."),
        ("system", "The average wait is about 1 minute."),  # ngettext, not "1 minutes"
    ]
    offer = pending_offer(conversation)
    assert offer.agent == agent
    assert offer.expires_at - offer.created_at == timedelta(seconds=120)  # default template (NOT-6)
    notification = Notification.objects.get(offer_id=offer.pk)
    assert (notification.kind, notification.status, notification.title) == ("alert", "sent", "Incoming chat")
    assert {"header": "Queue", "value": "General"} in notification.fields
    raised = [event for group, event in published if group == agent_group(agent.pk)]
    assert raised[-1]["type"] == "notification.raised"
    assert raised[-1]["notification"]["offer"] == offer.pk


def test_highest_free_capacity_first_and_only_eligible_agents(chat, run_on_commit):
    # spec: ROU-9 — member, allowed presence, free capacity, fewer than 10 sessions, skills
    queue = chat.workstream.default_queue
    AgentProfileFactory(reachable=True, queues=[queue], capacity=100, capacity_used=80)  # 20 free < 40 units
    AgentProfileFactory(reachable=True, queues=[queue], presence=presence("away"))
    AgentProfileFactory(reachable=True, queues=[queue], session_count=10)
    AgentProfileFactory(reachable=True)  # not a member
    roomy = AgentProfileFactory(reachable=True, queues=[queue], capacity=200)
    AgentProfileFactory(reachable=True, queues=[queue], capacity=150)
    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation).agent == roomy


def test_skills_attached_by_a_routing_rule_must_all_be_held(chat, run_on_commit):
    # spec: ROU-2, ROU-4 (exact matching)
    queue = chat.workstream.default_queue
    french = SkillFactory(name="French")
    rule = RoutingRule.objects.create(
        workstream=chat.workstream,
        name="French speakers",
        queue=queue,
        conditions=[{"source": "language", "operator": "equals", "value": "fr"}],
    )
    rule.skills.set([french])
    AgentProfileFactory(reachable=True, queues=[queue], capacity=500)  # most capacity, no French
    speaker = AgentSkillFactory(skill=french, agent=AgentProfileFactory(reachable=True, queues=[queue])).agent
    conversation = run_on_commit(chat_start, chat, language="fr")
    assert list(conversation.skills.all()) == [french]
    assert pending_offer(conversation).agent == speaker


def test_accepting_makes_the_conversation_active_with_a_session_and_used_capacity(chat, run_on_commit):
    # spec: CONV-3, ROU-6, NOT-13
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    run_on_commit(offer_accept, offer_id=offer.pk, agent=agent)

    conversation.refresh_from_db()
    agent.refresh_from_db()
    assert (conversation.status, conversation.agent, conversation.queue.name) == ("active", agent, "General")
    assert conversation.first_assigned_at is not None and conversation.wait_seconds >= 0
    assert (agent.capacity_used, agent.session_count) == (40, 1)
    assert Session.objects.filter(agent=agent, conversation=conversation, closed_at__isnull=True).count() == 1
    assert Notification.objects.get(offer_id=offer.pk).status == "accepted"
    assert conversation.messages.last().text == f"{agent.display_name} joined the chat."


def test_accepting_twice_or_someone_elses_offer_is_refused_and_changes_nothing(chat, run_on_commit):
    # spec: ROU-10
    agent, other = (
        AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue]),
        AgentProfileFactory(reachable=True),
    )
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    with pytest.raises(RoutingError, match="another agent"):
        offer_accept(offer_id=offer.pk, agent=other)
    run_on_commit(offer_accept, offer_id=offer.pk, agent=agent)
    with pytest.raises(RoutingError, match="no longer available"):
        offer_accept(offer_id=offer.pk, agent=agent)
    agent.refresh_from_db()
    assert (agent.capacity_used, agent.session_count) == (40, 1)
    assert Session.objects.filter(conversation=conversation).count() == 1


def test_rejecting_offers_the_chat_to_the_next_eligible_agent(chat, run_on_commit):
    # spec: NOT-4, ROU-9
    queue = chat.workstream.default_queue
    first = AgentProfileFactory(reachable=True, queues=[queue], capacity=300)
    second = AgentProfileFactory(reachable=True, queues=[queue], capacity=200)
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    assert offer.agent == first
    run_on_commit(offer_reject, offer_id=offer.pk, agent=first)
    assert Offer.objects.get(pk=offer.pk).status == "rejected"
    assert Notification.objects.get(offer_id=offer.pk).status == "rejected"
    assert pending_offer(conversation).agent == second


def test_a_workstream_that_forbids_rejecting_refuses_it(chat, run_on_commit, published):
    # spec: NOT-5
    chat.workstream.agents_may_reject = False
    chat.workstream.save()
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    offer = pending_offer(run_on_commit(chat_start, chat))
    raised = [event for _, event in published if event["type"] == "notification.raised"]
    assert raised[-1]["notification"]["show_reject"] is False  # no Reject button to press
    with pytest.raises(RoutingError, match="cannot be rejected"):
        offer_reject(offer_id=offer.pk, agent=agent)
    assert Offer.objects.get(pk=offer.pk).status == "pending"


def test_an_unanswered_offer_times_out_at_the_template_timeout_and_moves_on(chat, run_on_commit, time_machine):
    # spec: NOT-6, NOT-7
    time_machine.move_to(timezone.now(), tick=False)
    queue = chat.workstream.default_queue
    first = AgentProfileFactory(reachable=True, queues=[queue], capacity=300)
    second = AgentProfileFactory(reachable=True, queues=[queue], capacity=200)
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    notification_display(
        notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=first
    )  # shown: NOT-8 does not apply
    time_machine.shift(timedelta(seconds=119))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert Offer.objects.get(pk=offer.pk).status == "pending"
    time_machine.shift(timedelta(seconds=1))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    run_on_commit(offer_time_out, offer_id=offer.pk)  # twice changes nothing
    assert Offer.objects.get(pk=offer.pk).status == "timed_out"
    assert Notification.objects.get(offer_id=offer.pk).status == "timed_out"
    assert pending_offer(conversation).agent == second
    assert first.offers.count() == 1


def test_the_sweep_times_out_an_offer_whose_task_was_lost(chat, run_on_commit, time_machine):
    # spec: REL-2
    time_machine.move_to(timezone.now(), tick=False)
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    offer = pending_offer(run_on_commit(chat_start, chat))
    notification_display(
        notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=agent
    )  # shown: NOT-8 does not apply
    time_machine.shift(timedelta(minutes=3))
    result = run_on_commit(sweep_overdue_deadlines)
    assert result["offers_timed_out"] == 1
    assert Offer.objects.get(pk=offer.pk).status == "timed_out"


def test_queued_work_is_offered_the_moment_an_agent_becomes_available(chat, run_on_commit):
    # spec: ROU-11
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue], presence=presence("away"))
    conversation = run_on_commit(chat_start, chat)
    assert pending_offer(conversation) is None
    assert WorkItem.objects.get(conversation=conversation).status == "queued"
    run_on_commit(agent_presence_set, agent_id=agent.pk, presence=presence("available"), by=agent.user)
    assert pending_offer(conversation).agent == agent


def test_queues_are_served_by_priority_then_oldest_first(run_on_commit):
    # spec: ROU-9
    low, high = QueueFactory(priority=9), QueueFactory(priority=1)
    agent = AgentProfileFactory(reachable=True, queues=[low, high], presence=presence("away"), capacity=10)
    low_widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=low, capacity_units=10))
    high_widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=high, capacity_units=10))
    old_low = run_on_commit(chat_start, low_widget)
    old_high = run_on_commit(chat_start, high_widget)
    run_on_commit(chat_start, high_widget)
    run_on_commit(agent_presence_set, agent_id=agent.pk, presence=presence("available"), by=agent.user)
    # capacity 10 = one item at a time: the high-priority queue's oldest item is offered first
    assert [o.work_item.conversation for o in Offer.objects.filter(agent=agent)] == [old_high]
    assert pending_offer(old_low) is None


def test_the_customer_ending_before_pick_up_closes_it_and_withdraws_the_offer(chat, run_on_commit):
    # spec: LIVE-3, CONV-1 (open → closed)
    AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    conversation = run_on_commit(chat_start, chat)
    offer = pending_offer(conversation)
    run_on_commit(conversation_customer_end, conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert conversation.status == "closed"
    assert Offer.objects.get(pk=offer.pk).status == "lost"
    assert Notification.objects.get(offer_id=offer.pk).status == "withdrawn"
    assert WorkItem.objects.get(conversation=conversation).status == "done"
    assert conversation.messages.last().text == "The customer ended the chat."


def test_agent_end_then_close_releases_capacity_and_session(chat, run_on_commit):
    # spec: CONV-1 (active → wrap-up → closed), ROU-6
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    conversation = chat_accepted_by(agent, chat)
    run_on_commit(conversation_agent_end, conversation_id=conversation.pk, agent=agent)
    conversation.refresh_from_db()
    agent.refresh_from_db()
    assert conversation.status == "wrap_up"
    assert (agent.capacity_used, agent.session_count) == (40, 1)  # "always blocked during wrap-up"
    run_on_commit(conversation_wrap_up_close, conversation_id=conversation.pk, agent=agent)
    conversation.refresh_from_db()
    agent.refresh_from_db()
    assert conversation.status == "closed"
    assert (agent.capacity_used, agent.session_count) == (0, 0)
    assert not Session.objects.filter(conversation=conversation, closed_at__isnull=True).exists()


def test_wrap_up_releasing_capacity_at_once_when_the_workstream_says_never(chat, run_on_commit):
    # spec: ROU-1, ROU-6
    chat.workstream.wrap_up_capacity = "never"
    chat.workstream.save()
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    conversation = chat_accepted_by(agent, chat)
    run_on_commit(conversation_customer_end, conversation_id=conversation.pk)
    agent.refresh_from_db()
    assert (Conversation.objects.get(pk=conversation.pk).status, agent.capacity_used, agent.session_count) == (
        "wrap_up",
        0,
        1,
    )


def test_only_the_holder_ends_and_closes(chat, run_on_commit):
    # spec: CONV-1 — an illegal move is refused with a clear error
    agent, other = (
        AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue]),
        AgentProfileFactory(reachable=True),
    )
    conversation = chat_accepted_by(agent, chat)
    with pytest.raises(ConversationError):
        conversation_agent_end(conversation_id=conversation.pk, agent=other)
    with pytest.raises(ConversationError, match="End the conversation before closing"):
        conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent)
    assert Conversation.objects.get(pk=conversation.pk).status == "active"


def test_outside_operating_hours_the_customer_is_told_and_nothing_waits(run_on_commit, time_machine):
    # spec: LIVE-4, ROU-3
    hours = OperatingHoursFactory(time_zone="Europe/Paris")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at=time(9), closes_at=time(17))
    queue = QueueFactory(operating_hours=hours, out_of_hours_message="We open Monday at 9.")
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue))
    AgentProfileFactory(reachable=True, queues=[queue])
    time_machine.move_to("2026-11-23 20:00:00+01:00")  # a Monday, 20:00 in Paris
    conversation = run_on_commit(chat_start, widget)
    assert conversation.status == "closed"
    assert list(conversation.messages.values_list("text", flat=True)) == ["We open Monday at 9."]
    assert not WorkItem.objects.filter(conversation=conversation).exists()
    time_machine.move_to("2026-11-23 10:00:00+01:00")
    assert run_on_commit(chat_start, widget).status == "open"


def test_required_prechat_answers_are_refused_per_field_and_nothing_is_created(chat):
    # spec: WID-11
    PreChatQuestionFactory(widget=chat, name="email", label="Email", required=True)
    PreChatQuestionFactory(
        widget=chat, name="topic", label="Topic", kind="option_set", choices=["Billing", "Orders"], required=True
    )
    with pytest.raises(ConversationValidationError) as refused:
        chat_start(chat, prechat_answers={"topic": "Gardening"})
    assert refused.value.errors == {
        "prechat": {"email": ["This answer is required."], "topic": ["Choose one of the options."]}
    }
    assert not Conversation.objects.exists()


def test_prechat_answers_are_stored_and_become_context_variables(chat, run_on_commit):
    # spec: WID-10, WID-11, WID-6
    PreChatQuestionFactory(widget=chat, name="order_id", label="Order", required=True)
    conversation = run_on_commit(
        chat_start,
        chat,
        prechat_answers={"order_id": " A-17 "},
        context_variables={"cart": {"value": 3, "isDisplayable": 1}},
    )
    assert conversation.prechat_answers == {"order_id": "A-17"}
    assert conversation.context_variables == {
        "cart": {"value": 3, "isDisplayable": True},
        "order_id": {"value": "A-17", "isDisplayable": False},
    }


def test_more_than_100_context_variables_are_refused(chat):
    # spec: WID-6
    with pytest.raises(ConversationValidationError, match="At most 100"):
        chat_start(chat, context_variables={f"v{i}": {"value": i} for i in range(101)})
    assert not Conversation.objects.exists()


def test_a_customer_who_leaves_and_does_not_return_in_the_grace_period_ends_the_chat(chat, run_on_commit, time_machine):
    # spec: LIVE-3
    time_machine.move_to(timezone.now(), tick=False)
    agent = AgentProfileFactory(reachable=True, queues=[chat.workstream.default_queue])
    stays, leaves = run_on_commit(chat_start, chat), run_on_commit(chat_start, chat)
    for conversation in (stays, leaves):
        offer = pending_offer(conversation) or Offer.objects.filter(work_item__conversation=conversation).first()
        if offer and offer.status == "pending":
            run_on_commit(offer_accept, offer_id=offer.pk, agent=agent)
        run_on_commit(conversation_customer_left, conversation_id=conversation.pk)
    time_machine.shift(timedelta(seconds=60))
    run_on_commit(conversation_customer_returned, conversation_id=stays.pk)
    time_machine.shift(timedelta(seconds=61))  # grace is 120 s
    for conversation in (stays, leaves):
        run_on_commit(conversation_end_if_customer_gone, conversation_id=conversation.pk)
    assert Conversation.objects.get(pk=stays.pk).status in ("open", "active")
    ended = Conversation.objects.get(pk=leaves.pk)
    assert ended.status in ("closed", "wrap_up")
    assert ended.messages.last().text == "The customer left the chat."


def test_persistent_chat_has_no_wait_messages_and_no_customer_end(run_on_commit):
    # spec: PER-2, PER-4, PER-5
    from tests.widgets.factories import AuthenticationSettingFactory

    workstream = WorkstreamFactory(persistent=True)
    widget = ChatWidgetFactory(workstream=workstream, authentication=AuthenticationSettingFactory())
    with pytest.raises(Forbidden):  # PER-2: an unauthenticated customer cannot start one
        chat_start(widget)
    assert not Conversation.objects.exists()
    conversation = run_on_commit(chat_start, widget, authenticated=True, auth_subject="customer-17")
    assert conversation.channel == "persistent_chat"
    assert not conversation.messages.exists()
    with pytest.raises(ConversationError, match="Only an agent"):
        conversation_customer_end(conversation_id=conversation.pk)
    assert Conversation.objects.get(pk=conversation.pk).status == "open"


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_offer_end_with_one_owner():
    # spec: ROU-10
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    queue = QueueFactory()
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue))
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = chat_start(widget)
    from routing.services import offers_dispatch

    offers_dispatch()
    offer = pending_offer(conversation)
    outcomes = []

    def accept():
        try:
            offer_accept(offer_id=offer.pk, agent=agent)
            outcomes.append("won")
        except RoutingError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    agent.refresh_from_db()
    assert sorted(outcomes) == ["refused"] * 5 + ["won"]
    assert (agent.capacity_used, agent.session_count) == (10, 1)
    assert Session.objects.filter(conversation=conversation).count() == 1
    assert Message.objects.filter(conversation=conversation, text__endswith="joined the chat.").count() == 1


def test_a_closed_queue_sends_work_to_the_open_fallback_queue(run_on_commit, time_machine):
    # spec: ROU-1 (fallback queue), ROU-3, LIVE-4
    hours = OperatingHoursFactory(time_zone="Europe/Paris")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at=time(9), closes_at=time(17))
    daytime, always = QueueFactory(operating_hours=hours), QueueFactory(name="After hours")
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=daytime, fallback_queue=always))
    night_agent = AgentProfileFactory(reachable=True, queues=[always])
    time_machine.move_to("2026-11-23 20:00:00+01:00")  # Monday evening: the day queue is closed
    conversation = run_on_commit(chat_start, widget)
    assert (conversation.status, conversation.queue) == ("open", always)
    assert pending_offer(conversation).agent == night_agent
    time_machine.move_to("2026-11-23 10:00:00+01:00")
    assert run_on_commit(chat_start, widget).queue == daytime
