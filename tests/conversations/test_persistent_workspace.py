"""The agent's ✖ for persistent chat in the workspace: the park control on the conversation page
and the ``conversation.park`` frame (PER-6, ROU-6, CONV-1)."""

import pytest

from agents.models import AgentProfile
from conversations.models import Conversation
from routing.models import WorkItem
from tests.conversations.factories import chat_given_to
from tests.conversations.workspace_socket import join, marker, receive, send
from tests.routing.factories import AgentProfileFactory, WorkstreamFactory


@pytest.mark.django_db
@pytest.mark.parametrize("persistent", [True, False])
def test_only_a_persistent_chat_shows_the_park_control(client, persistent):
    # spec: PER-6, PER-4
    agent = AgentProfileFactory()
    conversation = chat_given_to(
        agent,
        workstream=WorkstreamFactory(persistent=persistent),
        channel="persistent_chat" if persistent else "live_chat",
    )
    client.force_login(agent.user)
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    assert ('data-testid="park-conversation"' in html) is persistent


@pytest.mark.embedded
def test_the_park_frame_moves_a_persistent_chat_to_waiting_and_frees_the_capacity(in_memory_layer, workspace):
    # spec: PER-6, ROU-6, CONV-1
    agent = AgentProfileFactory()
    live = chat_given_to(agent)
    conversation = chat_given_to(agent, workstream=WorkstreamFactory(persistent=True), channel="persistent_chat")
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=1)

    send(ws, {"type": "conversation.park", "conversation": live.pk, "ref": "live"})
    assert receive(ws) == {
        "type": "error",
        "code": "not_persistent",
        "message": "Only a persistent chat can wait for the customer; end a live chat instead.",
        "ref": "live",
    }
    send(ws, {"type": "conversation.park", "conversation": conversation.pk, "ref": "p"})
    assert receive(ws) == {
        "type": "ack",
        "frame": "conversation.park",
        "conversation": conversation.pk,
        "status": "waiting",
        "ref": "p",
    }
    assert {
        "type": "conversation.status",
        "conversation": conversation.pk,
        "status": "waiting",
        "previous": "active",
        "actor": "agent",
    } in marker(ws, agent)
    assert Conversation.objects.get(pk=live.pk).status == "active"
    assert WorkItem.objects.get(conversation=conversation).status == "parked"
    agent = AgentProfile.objects.get(pk=agent.pk)
    live_units = WorkItem.objects.get(conversation=live).capacity_units
    assert (agent.capacity_used, agent.session_count) == (live_units, 1)

    send(ws, {"type": "conversation.park", "conversation": 999_999, "ref": "x"})
    assert receive(ws)["code"] == "not_found"
