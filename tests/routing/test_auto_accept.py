"""Auto-accept, agents who may not reject, and case assignments that hold (NOT-5, NOT-14)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentProfile
from conversations.models import Conversation, Session
from core.realtime import agent_group
from customers.services import case_enqueue
from notifications.models import Notification, NotificationTemplate
from routing.errors import RoutingError
from routing.models import Offer, WorkItem, WorkstreamTemplate
from routing.services import offer_accept, offer_reject, offer_time_out, offers_time_out_overdue
from tests.customers.factories import CaseFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def start_chat(workstream):
    from conversations.services import conversation_start

    widget = ChatWidgetFactory(workstream=workstream)
    return conversation_start(widget=widget, visitor=VisitorFactory(widget=widget))


def test_a_workstream_with_auto_accept_assigns_the_chat_at_once_and_the_agent_gets_a_toast(run_on_commit, published):
    # spec: NOT-5 — accepted on creation: session open, capacity used, a toast that opens it
    workstream = WorkstreamFactory(auto_accept=True, capacity_units=30)
    agent = AgentProfileFactory(reachable=True, queues=[workstream.default_queue])
    conversation = run_on_commit(start_chat, workstream)

    conversation.refresh_from_db()
    offer = Offer.objects.get(work_item__conversation=conversation)
    assert (offer.status, conversation.status, conversation.agent) == ("accepted", "active", agent)
    assert WorkItem.objects.get(conversation=conversation).status == "assigned"
    assert Session.objects.filter(agent=agent, conversation=conversation, closed_at__isnull=True).count() == 1
    agent.refresh_from_db()
    assert (agent.capacity_used, agent.session_count) == (30, 1)
    notification = Notification.objects.get(offer_id=offer.pk)
    assert (notification.kind, notification.status) == ("toast", "accepted")
    frames = [event for group, event in published if group == agent_group(agent.pk)]
    raised = next(frame for frame in frames if frame["type"] == "notification.raised")["notification"]
    assert raised["kind"] == "toast"
    assert raised["url"] == f"/workspace/conversations/{conversation.pk}/"
    accepted = next(frame for frame in frames if frame["type"] == "offer.accepted")
    assert accepted["automatic"] is True and accepted["url"] == raised["url"]
    assert not any(frame["type"] == "notification.closed" for frame in frames)  # the toast stays
    # accepting it by hand now is refused: it is already the agent's
    with pytest.raises(RoutingError, match="no longer available"):
        offer_accept(offer_id=offer.pk, agent=agent)


def test_the_scenario_templates_auto_accept_does_the_same(run_on_commit):
    # spec: NOT-5, NOT-6a — the template's auto-accept setting
    workstream = WorkstreamFactory(auto_accept=False)
    template = NotificationTemplate.objects.create(
        name="Auto chat", scenario="incoming_chat", title="Chat for you", auto_accept=True
    )
    WorkstreamTemplate.objects.create(workstream=workstream, scenario="incoming_chat", template=template)
    agent = AgentProfileFactory(reachable=True, queues=[workstream.default_queue])
    conversation = run_on_commit(start_chat, workstream)
    assert Conversation.objects.get(pk=conversation.pk).agent == agent
    assert Offer.objects.get(work_item__conversation=conversation).status == "accepted"


def test_without_auto_accept_an_alert_waits_for_the_agent(run_on_commit):
    # spec: NOT-4, NOT-5 — the counter-case: nothing is accepted for the agent
    workstream = WorkstreamFactory()
    AgentProfileFactory(reachable=True, queues=[workstream.default_queue])
    conversation = run_on_commit(start_chat, workstream)
    assert Offer.objects.get(work_item__conversation=conversation).status == "pending"
    assert (
        Notification.objects.get(work_item_id=Conversation.objects.get(pk=conversation.pk).work_item_id).kind == "alert"
    )
    assert Conversation.objects.get(pk=conversation.pk).status == "open"


def test_auto_accept_respects_the_ten_session_limit(run_on_commit):
    # spec: NOT-5, ROU-7 — an agent at 10 sessions is not given more, even automatically
    workstream = WorkstreamFactory(auto_accept=True)
    full = AgentProfileFactory(reachable=True, queues=[workstream.default_queue], session_count=10)
    conversation = run_on_commit(start_chat, workstream)
    assert not Offer.objects.filter(work_item__conversation=conversation).exists()
    assert AgentProfile.objects.get(pk=full.pk).session_count == 10


def test_when_agents_may_not_reject_the_alert_has_no_reject_button_and_a_reject_is_refused(run_on_commit, published):
    # spec: NOT-5 — the template's show_reject is forced off and the service refuses
    workstream = WorkstreamFactory(agents_may_reject=False)
    agent = AgentProfileFactory(reachable=True, queues=[workstream.default_queue])
    conversation = run_on_commit(start_chat, workstream)
    offer = Offer.objects.get(work_item__conversation=conversation)
    raised = [event for _, event in published if event["type"] == "notification.raised"]
    assert raised[-1]["notification"]["show_reject"] is False
    with pytest.raises(RoutingError) as refused:
        offer_reject(offer_id=offer.pk, agent=agent)
    assert refused.value.code == "reject_not_allowed"
    assert "cannot be rejected" in refused.value.message
    assert Offer.objects.get(pk=offer.pk).status == "pending"
    assert AgentProfile.objects.get(pk=agent.pk).presence == presence("available")  # no NOT-11 either


def case_item(queue):
    workstream = WorkstreamFactory(default_queue=queue, channel="records", chat_mode="", capacity_units=10)
    return case_enqueue(case=CaseFactory(), workstream=workstream, queue=queue, skills=[])


def test_a_case_assignment_cannot_be_rejected(run_on_commit, published):
    # spec: NOT-14 — no Reject button whatever the template, and the service refuses
    queue = QueueFactory()
    agent = AgentProfileFactory(reachable=True, queues=[queue])
    work_item = run_on_commit(case_item, queue)
    offer = Offer.objects.get(work_item=work_item)
    raised = [event for _, event in published if event["type"] == "notification.raised"][-1]["notification"]
    assert raised["scenario"] == "case_assignment" and raised["show_reject"] is False
    assert raised["accept_label"] == "Open item"
    with pytest.raises(RoutingError, match="cannot be rejected"):
        offer_reject(offer_id=offer.pk, agent=agent)
    assert Offer.objects.get(pk=offer.pk).status == "pending"


@pytest.mark.parametrize("displayed", [True, False])
def test_a_case_assignment_holds_whatever_the_timeout(run_on_commit, time_machine, displayed):
    # spec: NOT-14 — at the timeout (shown or never shown) the case stays with the agent:
    # assigned to them, nobody else is offered it, and their presence is unchanged (no NOT-8/10)
    time_machine.move_to(timezone.now(), tick=False)
    queue = QueueFactory()
    agent = AgentProfileFactory(reachable=True, queues=[queue], capacity=300)
    other = AgentProfileFactory(reachable=True, queues=[queue], capacity=100)
    work_item = run_on_commit(case_item, queue)
    offer = Offer.objects.get(work_item=work_item)
    assert offer.agent == agent
    if displayed:
        from notifications.services import notification_display

        notification_display(notification_id=Notification.objects.get(offer_id=offer.pk).pk, agent=agent)
    time_machine.shift(timedelta(seconds=119))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    assert Offer.objects.get(pk=offer.pk).status == "pending"  # not yet
    time_machine.shift(timedelta(seconds=1))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    run_on_commit(offer_time_out, offer_id=offer.pk)  # twice changes nothing
    offer.refresh_from_db()
    work_item.refresh_from_db()
    assert (offer.status, offer.reroute_at) == ("accepted", None)
    assert (work_item.status, work_item.agent) == ("assigned", agent)
    assert not Offer.objects.filter(agent=other).exists()
    agent.refresh_from_db()
    assert (agent.presence, agent.session_count, agent.capacity_used) == (presence("available"), 1, 10)
    time_machine.shift(timedelta(minutes=10))
    assert run_on_commit(offers_time_out_overdue) == 0  # the sweep has nothing to re-route
    assert WorkItem.objects.get(pk=work_item.pk).agent == agent
