"""Tag changes reach the other open pages live (issue 15), through the real ASGI server and real
WebSocket clients, on the in-memory layer and on real Redis: the conversation's joined pages get
``conversation.tags`` (its tags and what may still be added), the inboxes that show its row get
fresh counts with ``reason: tags``; nobody else hears of it."""

# spec: SEC-1 (only the conversation's pages, its holder and its queue's agents hear of a tag change)

import pytest

from conversations.tagging import conversation_tag_add, conversation_tag_remove
from tests.conversations.factories import ConversationFactory, TagFactory, chat_given_to
from tests.conversations.workspace_socket import join, marker, send, until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory

pytestmark = pytest.mark.embedded


def follow_inbox(ws) -> None:
    send(ws, {"type": "inbox.counts", "ref": "c"})
    until(ws, "inbox.counts")


def test_a_tag_put_on_by_one_agent_reaches_the_others_open_conversation_page_and_inbox(layer, workspace):
    # Bob has the conversation Ada holds open (read-only: it is his queue's, SEC-1); Ada's inbox is open.
    workstream = WorkstreamFactory()
    ada = AgentProfileFactory(queues=[workstream.default_queue], display_name="Ada")
    bob = AgentProfileFactory(queues=[workstream.default_queue], display_name="Bob")
    outsider = AgentProfileFactory(queues=[QueueFactory()])
    conversation = chat_given_to(ada, workstream=workstream)
    urgent = TagFactory(name="Urgent <b>now</b>", colour="#dc2626")
    billing = TagFactory(name="Billing", colour="#fde68a")
    bobs_page, adas_inbox, outsiders_inbox = workspace(bob), workspace(ada), workspace(outsider)
    join(bobs_page, bob, conversation.pk)
    follow_inbox(adas_inbox)
    follow_inbox(outsiders_inbox)

    conversation_tag_add(conversation_id=conversation.pk, tag_id=urgent.pk, by=ada.user)

    [tags] = marker(bobs_page, bob)
    assert tags == {
        "type": "conversation.tags",
        "conversation": conversation.pk,
        "tags": [{"id": urgent.pk, "name": "Urgent <b>now</b>", "colour": "#dc2626", "text_colour": "#ffffff"}],
        "addable": [{"id": billing.pk, "name": "Billing"}],
    }
    [counts] = marker(adas_inbox, ada)
    assert (counts["type"], counts["reason"], counts["conversation"]) == ("inbox.counts", "tags", conversation.pk)
    assert marker(outsiders_inbox, outsider) == []  # not their queue: nothing

    conversation_tag_remove(conversation_id=conversation.pk, tag_id=urgent.pk, by=bob.user)  # any agent of the queue
    [tags] = marker(bobs_page, bob)
    assert (tags["tags"], [tag["id"] for tag in tags["addable"]]) == ([], [billing.pk, urgent.pk])  # by name
    [counts] = marker(adas_inbox, ada)
    assert counts["reason"] == "tags"

    conversation_tag_remove(conversation_id=conversation.pk, tag_id=urgent.pk, by=ada.user)  # nothing changes
    assert marker(bobs_page, bob) == [] and marker(adas_inbox, ada) == []


def test_a_tag_on_a_conversation_waiting_in_a_queue_reaches_that_queues_inboxes(layer, workspace):
    workstream = WorkstreamFactory()
    ada = AgentProfileFactory(queues=[workstream.default_queue])
    outsider = AgentProfileFactory(queues=[QueueFactory()])
    waiting = ConversationFactory(workstream=workstream)  # open, in the queue, nobody holds it
    tag = TagFactory()
    adas, outsiders = workspace(ada), workspace(outsider)
    follow_inbox(adas)
    follow_inbox(outsiders)

    conversation_tag_add(conversation_id=waiting.pk, tag_id=tag.pk, by=ada.user)

    [counts] = marker(adas, ada)
    assert (counts["reason"], counts["conversation"]) == ("tags", waiting.pk)
    assert marker(outsiders, outsider) == []
