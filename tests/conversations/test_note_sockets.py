"""Private notes never reach the customer (issue 15): through the real ASGI server, on the
in-memory layer and on real Redis, the customer's widget socket gets no note live nor on resume,
while the workspace sockets get each note once, live and after a reconnect. And no other path to
the customer carries one: the bot API, the agents' message list, SMS replies, message webhooks."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from conversations.bots import bot_client_create
from conversations.handover import conversation_consultant_add
from conversations.models import Conversation, Message, OutboundSms
from conversations.notes import note_post
from tests.api_helpers import token_client
from tests.conversations.factories import ConversationFactory, chat_given_to
from tests.conversations.sms_helpers import CUSTOMER, PhoneChannelFactory
from tests.conversations.workspace_socket import join as workspace_join
from tests.conversations.workspace_socket import marker, receive, send, until
from tests.routing.factories import AgentProfileFactory, SupervisorFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory
from tests.widgets.widget_socket import assert_silent, join, open_socket
from tests.widgets.widget_socket import receive as widget_receive
from webhooks.models import Event, WebhookDelivery
from webhooks.services import webhook_endpoint_create
from widgets.tokens import conversation_token

pytestmark = pytest.mark.embedded

SECRET = "Customer is on the fraud watch list"


def held_chat(agent, workstream):
    """A widget chat of ``workstream`` held by ``agent``, and the customer's token for it."""
    widget = ChatWidgetFactory(workstream=workstream)
    visitor = VisitorFactory(widget=widget)
    conversation = chat_given_to(agent, widget=widget, visitor=visitor, workstream=widget.workstream)
    token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
    return conversation, token


def customer_frames(ws) -> list[dict]:
    """Everything the customer's socket holds now (it is silent once drained), but the widget's
    availability updates (whether somebody can answer, issue 16), which carry no thread content."""
    frames = []
    while True:
        try:
            frame = widget_receive(ws)
        except TimeoutError:
            return frames
        if frame["type"] != "availability":
            frames.append(frame)


@pytest.fixture
def ada(workstream):
    return AgentProfileFactory(queues=[workstream.default_queue], display_name="Ada")


def test_a_note_reaches_the_agents_sockets_live_and_never_the_customers(layer, asgi_server, workspace, ada, workstream):
    # spec: issue 15 — a note never appears on the customer's socket, live
    conversation, token = held_chat(ada, workstream)
    with open_socket(asgi_server, conversation.widget) as customer:
        join(customer, conversation, token)
        backlog = customer_frames(customer)
        ws = workspace(ada)
        workspace_join(ws, ada, conversation.pk, after=conversation.last_message_seq)

        send(ws, {"type": "note.post", "conversation": conversation.pk, "text": SECRET, "ref": "n"})
        frames = [receive(ws), receive(ws)]
        ack = next(frame for frame in frames if frame["type"] == "ack")
        note = next(frame for frame in frames if frame["type"] == "conversation.note")
        assert ack == {
            "type": "ack",
            "frame": "note.post",
            "conversation": conversation.pk,
            "note": ack["note"],
            "ref": "n",
        }
        assert (note["note"], note["text"], note["author_name"], note["internal"]) == (ack["note"], SECRET, "Ada", True)
        assert 'data-testid="note"' in note["html"] and "Private note" in note["html"]

        # A message after it keeps the customer's sequence without a gap, and is the only thing they get.
        send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "Let me check that", "ref": "m"})
        until(ws, "message.ack")
        live = customer_frames(customer)
        assert [(frame["type"], frame.get("text")) for frame in live] == [("conversation.message", "Let me check that")]
        assert live[0]["seq"] == conversation.last_message_seq + 1
        assert SECRET not in repr(backlog + live)
        assert_silent(customer)
        assert [frame for frame in marker(ws, ada) if frame["type"] == "conversation.note"] == []  # once


def test_a_note_is_not_in_the_customers_resume_and_the_workspace_resumes_after_its_last_note(
    layer, asgi_server, workspace, ada, workstream
):
    # spec: issue 15 — a note never appears on resume; CONV-2 for the agents' notes
    conversation, token = held_chat(ada, workstream)
    first = note_post(conversation_id=conversation.pk, agent=ada, text=SECRET)
    second = note_post(conversation_id=conversation.pk, agent=ada, text="Second note")
    with open_socket(asgi_server, conversation.widget) as customer:
        join(customer, conversation, token, after=0)
        resumed = customer_frames(customer)
    assert resumed and all(frame["type"] == "conversation.message" for frame in resumed)
    assert [frame["seq"] for frame in resumed] == list(range(1, conversation.last_message_seq + 1))
    assert SECRET not in repr(resumed)

    ws = workspace(ada)
    send(ws, {"type": "conversation.join", "conversation": conversation.pk, "after": 99, "notes_after": first.pk})
    receive(ws)  # conversation.joined
    assert [(frame["type"], frame["note"]) for frame in marker(ws, ada)] == [("conversation.note", second.pk)]
    send(ws, {"type": "conversation.join", "conversation": conversation.pk, "after": 99, "notes_after": second.pk})
    receive(ws)
    assert marker(ws, ada) == []


def test_a_consultant_posts_a_note_and_a_colleague_of_the_queue_cannot(layer, asgi_server, workspace, ada, workstream):
    # spec: ROU-15, SEC-1 — a consulting supervisor writes notes; another agent is refused and nothing is stored
    conversation, _token = held_chat(ada, workstream)
    supervisor = SupervisorFactory()
    with transaction.atomic():
        conversation_consultant_add(conversation_id=conversation.pk, by_agent=ada, consultant=supervisor, note="Help")
    ws = workspace(supervisor)
    workspace_join(ws, supervisor, conversation.pk, after=99)
    send(ws, {"type": "note.post", "conversation": conversation.pk, "text": "Offer the refund", "ref": "n"})
    frames = [receive(ws), receive(ws)]
    assert {frame["type"] for frame in frames} == {"ack", "conversation.note"}

    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    other = workspace(colleague)
    send(other, {"type": "note.post", "conversation": conversation.pk, "text": "Sneaky", "ref": "x"})
    assert receive(other)["code"] == "not_joined"
    for bad in (
        {"type": "note.post", "conversation": conversation.pk},
        {"type": "note.post", "conversation": 1, "text": 5},
    ):
        send(other, bad)
        assert receive(other)["code"] == "invalid"
    assert conversation.private_notes.count() == 1


@pytest.mark.django_db
def test_no_other_path_to_the_customer_carries_a_note(ada, django_capture_on_commit_callbacks):
    # spec: issue 15 — not in the bot API, the message list, an SMS reply, nor a message webhook
    endpoint = webhook_endpoint_create(url="http://127.0.0.1:9/hook", events=[Event.MESSAGE_CREATED])
    bots = WorkstreamFactory()
    client, key = bot_client_create(name="Helper bot", workstreams=[bots])
    bot_conversation = ConversationFactory(
        workstream=bots, bot_user=client.user, agent=ada, status=Conversation.Status.ACTIVE
    )
    channel = PhoneChannelFactory()
    sms = ConversationFactory(
        channel=Conversation.Channel.SMS,
        workstream=channel.workstream,
        phone_channel=channel,
        customer_phone=CUSTOMER,
        agent=ada,
        status=Conversation.Status.ACTIVE,
    )
    with django_capture_on_commit_callbacks(execute=True):
        for conversation in (bot_conversation, sms):
            note_post(conversation_id=conversation.pk, agent=ada, text=SECRET)
    assert not OutboundSms.objects.exists()
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
    assert not Message.objects.exists()

    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bot {key}")
    read = bot.get(f"/api/v1/bot/conversations/{bot_conversation.pk}/messages/")
    assert read.status_code == 200 and read.json() == []
    listed = token_client(ada.user).get(f"/api/v1/conversations/{sms.pk}/messages/")
    assert listed.status_code == 200 and SECRET not in listed.content.decode()
