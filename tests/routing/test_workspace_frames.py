"""The workspace socket for NOT-5 (a refused Reject), ROU-13 (the open-items list hears of changes)
and ROU-14 (a transfer reaches the receiver's page), through a real ASGI server."""

import pytest
from django.db import transaction

from agents.models import AgentProfile
from conversations.services import conversation_start
from conversations.transfer import conversation_transfer
from routing.models import Offer, WorkItem
from routing.services import work_item_pick
from tests.conversations.workspace_socket import receive, send, until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory

pytestmark = pytest.mark.embedded


def start(workstream):
    widget = ChatWidgetFactory(workstream=workstream)
    with transaction.atomic():  # commit, so dispatch and events run as in a request
        return conversation_start(widget=widget, visitor=VisitorFactory(widget=widget))


def test_a_reject_frame_is_refused_when_agents_may_not_reject(in_memory_layer, workspace):
    # spec: NOT-5 — a clear error frame, the socket stays open, the offer is still pending
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, agents_may_reject=False)
    agent = AgentProfileFactory(queues=[queue])
    ws = workspace(agent)
    conversation = start(workstream)
    raised, _ = until(ws, "notification.raised")
    assert raised["notification"]["show_reject"] is False
    offer = Offer.objects.get(work_item__conversation=conversation)
    send(ws, {"type": "offer.reject", "offer": offer.pk, "ref": "r1"})
    error = receive(ws)
    assert (error["type"], error["code"], error["ref"]) == ("error", "reject_not_allowed", "r1")
    assert error["message"] == "This work item cannot be rejected."
    send(ws, {"type": "ping", "ref": "p"})
    assert receive(ws) == {"type": "pong", "ref": "p"}
    assert Offer.objects.get(pk=offer.pk).status == "pending"


def test_open_items_changes_and_transfers_reach_the_agents_pages(in_memory_layer, workspace):
    # spec: ROU-13 (live list), ROU-14 (the receiver's toast)
    queue = QueueFactory()
    picker, colleague = AgentProfileFactory(queues=[queue]), AgentProfileFactory(queues=[queue])
    workspace(picker)
    colleague_ws = workspace(colleague)
    start(WorkstreamFactory(default_queue=queue, distribution="pick"))
    assert until(colleague_ws, "queue.items_changed")[0] == {"type": "queue.items_changed", "queue": queue.pk}
    work_item = WorkItem.objects.get(queue=queue)
    with transaction.atomic():
        work_item_pick(work_item_id=work_item.pk, agent=picker)
    assert until(colleague_ws, "queue.items_changed")[0]["queue"] == queue.pk
    with transaction.atomic():
        conversation_transfer(
            conversation_id=work_item.conversation.pk, by=picker, to_agent_id=colleague.pk, note="Over to you"
        )
    toast = until(colleague_ws, "notification.raised")[0]["notification"]
    assert (toast["scenario"], toast["kind"]) == ("transfer", "toast")
    assert {"header": "Note", "value": "Over to you"} in toast["fields"]
    assert AgentProfile.objects.get(pk=colleague.pk).session_count == 1
