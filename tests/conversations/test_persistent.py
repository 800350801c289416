"""Persistent chat's waiting stage and keeping the same agent, through the services
(CONV-1, PER-4, PER-5, PER-6, PER-7, PER-8, ROU-6, ROU-12)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from agents.models import AgentConnection, AgentProfile
from agents.services import agent_presence_set
from conversations.errors import ConversationError
from conversations.models import ChatSettings, Conversation, ConversationEvent, Message, Session
from conversations.persistent import conversation_park
from conversations.services import (
    INACTIVE_NOTICE,
    conversation_agent_end,
    conversation_customer_end,
    conversation_start,
    conversation_wrap_up_close,
    message_post,
)
from core.realtime import SUPERVISORS_GROUP, agent_group
from omnichannel.tasks import sweep_overdue_deadlines
from routing.models import Offer, WorkItem
from routing.services.continuity import KEEP_SAME_AGENT_WAIT, work_item_is_returning, work_item_keep_agent_expire
from tests.conversations.factories import chat_accepted_by, pending_offer
from tests.routing.factories import (
    AgentProfileFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory, VisitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal():
    queue = QueueFactory(name="Portal")
    workstream = WorkstreamFactory(persistent=True, default_queue=queue, capacity_units=40)
    return ChatWidgetFactory(workstream=workstream, authentication=AuthenticationSettingFactory())


def start(widget, sub="customer-1"):
    return conversation_start(
        widget=widget, visitor=VisitorFactory(widget=widget), authenticated=True, auth_subject=sub
    )


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def active_chat(widget, agent, sub="customer-1"):
    """A chat the signed-in customer ``sub`` started and ``agent`` accepted."""
    return chat_accepted_by(agent, widget, authenticated=True, auth_subject=sub)


def customer_writes(run_on_commit, conversation, text="I'm back"):
    return run_on_commit(message_post, conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text=text)[0]


def test_a_persistent_chat_shows_no_wait_messages(run_on_commit, portal):
    # spec: PER-5
    AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = run_on_commit(start, portal)
    assert not conversation.messages.exists()  # no queue position, no average wait


def test_parking_moves_it_to_waiting_and_releases_capacity_and_session(run_on_commit, portal, published):
    # spec: PER-6, ROU-6, CONV-1
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = active_chat(portal, ada)
    assert (fresh(ada).capacity_used, fresh(ada).session_count) == (40, 1)
    published.clear()

    parked = run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)

    assert parked.status == "waiting"
    ada = fresh(ada)
    assert (ada.capacity_used, ada.session_count) == (0, 0)
    item = WorkItem.objects.get(conversation=conversation)
    assert (item.status, item.holds_capacity, item.agent, item.previous_agent) == ("parked", False, ada, ada)
    assert not Session.objects.filter(conversation=conversation, closed_at__isnull=True).exists()
    event = ConversationEvent.objects.filter(conversation=conversation, to_status="waiting").get()
    assert (event.from_status, event.actor, event.actor_user) == ("active", "agent", ada.user)
    # The supervisor view hears of the freed capacity (ADM-2).
    assert (
        SUPERVISORS_GROUP,
        {"type": "agent.capacity", "agent": ada.pk, "capacity": 100, "capacity_used": 0, "session_count": 0},
    ) in published
    # Parking again changes nothing.
    assert run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada).status == "waiting"
    assert fresh(ada).session_count == 0


@pytest.mark.parametrize("case", ["live chat", "another agent", "not active"])
def test_parking_is_refused_unless_the_holder_parks_an_active_persistent_chat(run_on_commit, portal, case):
    # spec: PER-6, CONV-1
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    bob = AgentProfileFactory(reachable=True)
    if case == "live chat":
        live = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=portal.workstream.default_queue))
        conversation = active_chat(live, ada)
        parker, code = ada, "not_persistent"
    elif case == "another agent":
        conversation = active_chat(portal, ada)
        parker, code = bob, "not_yours"
    else:
        conversation = active_chat(portal, ada)
        run_on_commit(conversation_agent_end, conversation_id=conversation.pk, agent=ada)
        parker, code = ada, "not_active"
    before = (fresh(conversation).status, fresh(ada).capacity_used, fresh(ada).session_count)
    with pytest.raises(ConversationError) as refused:
        run_on_commit(conversation_park, conversation_id=conversation.pk, agent=parker)
    assert refused.value.code == code
    assert (fresh(conversation).status, fresh(ada).capacity_used, fresh(ada).session_count) == before


def test_the_customer_writing_again_hands_it_back_to_the_same_agent_with_a_toast(run_on_commit, portal, published):
    # spec: PER-6, PER-8, ROU-12
    queue = portal.workstream.default_queue
    ada = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = active_chat(portal, ada)
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    # Another agent is now freer than Ada: without the rule, they would get it first.
    bob = AgentProfileFactory(reachable=True, queues=[queue], capacity=1000)
    ada.capacity_used = 50
    ada.save(update_fields=["capacity_used"])
    published.clear()

    customer_writes(run_on_commit, conversation)

    conversation = fresh(conversation)
    assert (conversation.status, conversation.agent) == ("active", ada)
    statuses = list(conversation.events.filter(kind="transition").values_list("to_status", "actor"))
    assert statuses[-3:] == [("waiting", "agent"), ("open", "customer"), ("active", "agent")]
    assert (fresh(ada).capacity_used, fresh(ada).session_count) == (90, 1)
    assert Session.objects.filter(conversation=conversation, agent=ada, closed_at__isnull=True).count() == 1
    item = WorkItem.objects.get(conversation=conversation)
    assert (item.status, item.agent, item.keep_agent_until) == ("assigned", ada, None)
    assert not Offer.objects.filter(agent=bob).exists()
    # Ada is notified: a toast that opens the conversation.
    toasts = [
        e["notification"] for g, e in published if g == agent_group(ada.pk) and e["type"] == "notification.raised"
    ]
    assert [(t["kind"], t["url"]) for t in toasts] == [("toast", f"/workspace/conversations/{conversation.pk}/")]
    assert list(conversation.messages.filter(sender="customer").values_list("text", flat=True)) == ["I'm back"]


def test_a_returning_chat_waits_for_its_absent_agent_then_falls_back_to_normal_routing(run_on_commit, portal):
    # spec: ROU-12, PER-8
    queue = portal.workstream.default_queue
    ada = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = active_chat(portal, ada)
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    AgentConnection.objects.filter(agent=ada).delete()  # Ada closed her workspace
    bob = AgentProfileFactory(reachable=True, queues=[queue])

    customer_writes(run_on_commit, conversation)
    assert fresh(conversation).status == "open"  # held for Ada, not given to Bob
    run_on_commit(sweep_overdue_deadlines)
    assert fresh(conversation).status == "open"
    assert run_on_commit(work_item_keep_agent_expire, work_item_id=conversation.work_item.pk).status == "queued"

    with time_machine.travel(timezone.now() + KEEP_SAME_AGENT_WAIT + timedelta(seconds=1)):
        AgentConnection.objects.filter(agent=bob).update(last_seen_at=timezone.now())  # Bob's page is open
        # The durable deadline: the sweep's dispatch, with no new message, falls back to Bob.
        run_on_commit(sweep_overdue_deadlines)
        conversation = fresh(conversation)
        assert (conversation.status, conversation.agent) == ("active", bob)
        run_on_commit(work_item_keep_agent_expire, work_item_id=conversation.work_item.pk)  # twice: no change
        assert (fresh(conversation).status, fresh(conversation).agent) == ("active", bob)
    assert fresh(bob).session_count == 1


def test_the_previous_agent_gets_it_when_they_come_back_within_the_wait(run_on_commit, portal):
    # spec: ROU-12, PER-8
    queue = portal.workstream.default_queue
    ada = AgentProfileFactory(reachable=True, queues=[queue])
    conversation = active_chat(portal, ada)
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    run_on_commit(agent_presence_set, agent_id=ada.pk, presence=presence("away"), by=ada.user)
    AgentProfileFactory(reachable=True, queues=[queue])
    customer_writes(run_on_commit, conversation)
    assert fresh(conversation).status == "open"
    run_on_commit(agent_presence_set, agent_id=ada.pk, presence=presence("available"), by=ada.user)
    assert (fresh(conversation).status, fresh(conversation).agent) == ("active", ada)


def portal_open_on_mondays():
    """A persistent chat widget whose queue is open on Mondays, 09:00 to 17:00 UTC."""
    hours = OperatingHoursFactory(time_zone="UTC")
    OperatingWindowFactory(schedule=hours, weekday=0, opens_at="09:00", closes_at="17:00")
    return ChatWidgetFactory(
        workstream=WorkstreamFactory(persistent=True, default_queue=QueueFactory(operating_hours=hours)),
        authentication=AuthenticationSettingFactory(),
    )


def test_out_of_hours_the_customer_writes_and_the_chat_is_routed_when_the_queue_opens(run_on_commit):
    # spec: PER-7
    widget = portal_open_on_mondays()
    ada = AgentProfileFactory(reachable=True, queues=[widget.workstream.default_queue])
    sunday_night = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)
    with time_machine.travel(sunday_night, tick=False):
        conversation = run_on_commit(start, widget)
        customer_writes(run_on_commit, conversation, "Are you there?")
        conversation = fresh(conversation)
        assert conversation.status == "open"  # not closed as a live chat would be (LIVE-4)
        assert pending_offer(conversation) is None
        assert list(conversation.messages.values_list("text", flat=True)) == ["Are you there?"]
    with time_machine.travel(datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC), tick=False):
        AgentConnection.objects.filter(agent=ada).update(last_seen_at=timezone.now())  # Ada's page is open
        run_on_commit(sweep_overdue_deadlines)  # the beat sweep, with no new message
        assert pending_offer(conversation).agent == ada


def test_out_of_hours_a_returning_chat_is_handed_back_when_the_queue_opens(run_on_commit):
    # spec: PER-7, PER-8
    widget = portal_open_on_mondays()
    ada = AgentProfileFactory(reachable=True, queues=[widget.workstream.default_queue])
    with time_machine.travel(datetime(2026, 11, 30, 16, 0, tzinfo=UTC), tick=False):
        conversation = active_chat(widget, ada)
        run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    with time_machine.travel(datetime(2026, 11, 30, 20, 0, tzinfo=UTC), tick=False):
        customer_writes(run_on_commit, conversation, "One more thing")
        assert fresh(conversation).status == "open"
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC), tick=False):
        AgentConnection.objects.filter(agent=ada).update(last_seen_at=timezone.now())  # Ada's page is open
        run_on_commit(sweep_overdue_deadlines)
        assert (fresh(conversation).status, fresh(conversation).agent) == ("active", ada)


def test_a_chat_left_waiting_is_closed_by_the_workstreams_auto_close(run_on_commit, portal):
    # spec: CONV-1, PER-6
    ChatSettings.objects.filter(workstream=portal.workstream).update(auto_close_waiting_seconds=3600)
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = active_chat(portal, ada)
    parked = run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    assert parked.auto_close_at is not None
    assert run_on_commit(sweep_overdue_deadlines)["auto_closed"] == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=3601)):
        assert run_on_commit(sweep_overdue_deadlines)["auto_closed"] == 1
    conversation = fresh(conversation)
    assert conversation.status == "closed"
    assert conversation.messages.last().text == INACTIVE_NOTICE
    assert WorkItem.objects.get(conversation=conversation).status == "done"
    assert (fresh(ada).capacity_used, fresh(ada).session_count) == (0, 0)  # not released twice


def test_writing_again_cancels_the_waiting_auto_close(run_on_commit, portal):
    # spec: CONV-1, PER-6
    ChatSettings.objects.filter(workstream=portal.workstream).update(auto_close_waiting_seconds=60)
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = active_chat(portal, ada)
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    customer_writes(run_on_commit, conversation)
    assert fresh(conversation).auto_close_at is None


def test_the_agent_ends_a_waiting_chat_and_its_counts_stay_right(run_on_commit, portal):
    # spec: PER-4, PER-6, ROU-6, ROU-7
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    other = active_chat(portal, ada)  # a second conversation Ada keeps
    conversation = active_chat(portal, ada, sub="customer-2")
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    assert (fresh(ada).capacity_used, fresh(ada).session_count) == (40, 1)
    with pytest.raises(ConversationError, match="Only an agent"):
        conversation_customer_end(conversation_id=conversation.pk)
    run_on_commit(conversation_agent_end, conversation_id=conversation.pk, agent=ada)
    run_on_commit(conversation_wrap_up_close, conversation_id=conversation.pk, agent=ada)
    assert fresh(conversation).status == "closed"
    assert (fresh(ada).capacity_used, fresh(ada).session_count) == (40, 1)  # only the other chat
    assert fresh(other).status == "active"
    assert AgentProfile.objects.get(pk=ada.pk).presence == presence("available")


def test_a_live_chat_is_not_affected_by_the_waiting_rules(run_on_commit, portal):
    # spec: CONV-1
    live = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=portal.workstream.default_queue))
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = active_chat(live, ada)
    customer_writes(run_on_commit, conversation)
    assert fresh(conversation).status == "active"
    assert WorkItem.objects.get(conversation=conversation).keep_agent_until is None
    assert Conversation.objects.get(pk=conversation.pk).agent == ada


def test_only_the_return_itself_counts_as_returning(run_on_commit, portal):
    # spec: ROU-12 — a later enqueue of the same item (a transfer to a queue) is routed as usual
    ada = AgentProfileFactory(reachable=True, queues=[portal.workstream.default_queue])
    conversation = active_chat(portal, ada)
    run_on_commit(conversation_park, conversation_id=conversation.pk, agent=ada)
    AgentConnection.objects.filter(agent=ada).delete()
    customer_writes(run_on_commit, conversation)
    item = WorkItem.objects.get(conversation=conversation)
    assert work_item_is_returning(item)
    item.enqueued_at = timezone.now() + timedelta(seconds=5)
    assert not work_item_is_returning(item)
