"""Strict frames on every socket, through a real uvicorn and real WebSocket clients: each field
has an exact JSON type, a wrong one is refused with an error frame naming the field, and nothing
changes (REL-3, docs/live-chat-protocol.md "Frames, errors and limits")."""

import logging
from contextlib import ExitStack

import pytest
from websockets.sync.client import connect

from agents.models import AgentProfile
from conversations.models import Conversation, Message
from tests.conversations.factories import chat_given_to
from tests.routing.factories import AgentProfileFactory, presence
from tests.snapshots import snapshot
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory
from tests.widgets.widget_socket import ORIGIN, assert_silent, chat, receive, send
from tests.widgets.widget_socket import join as widget_join
from widgets.tokens import conversation_token

pytestmark = pytest.mark.embedded


@pytest.fixture
def workspace_socket(in_memory_layer, workspace):
    """An agent's workspace socket (hello read) on the embedded mode's channel layer."""
    return workspace


@pytest.fixture
def widget_socket(in_memory_layer, asgi_server):
    with ExitStack() as sockets:

        def open_for(widget):
            url = f"{asgi_server.ws_url}/ws/widget/{widget.public_key}/"
            return sockets.enter_context(connect(url, origin=ORIGIN, open_timeout=5))

        yield open_for


def assert_invalid(error: dict, field: str, ref: str) -> None:
    assert (error["type"], error["code"], error["ref"]) == ("error", "invalid", ref)
    assert list(error["details"]) == [field], error
    assert error["details"][field] and all(isinstance(text, str) for text in error["details"][field])
    assert error["message"]


# --- The coercions of issue 10, defect 8 ---------------------------------------------------------------


def test_a_customer_message_whose_text_is_a_number_is_refused_and_not_stored(widget_socket):
    # spec: REL-3 — `text: 123` was stored as the message "123"
    conversation, token = chat()
    ws = widget_socket(conversation.widget)
    widget_join(ws, conversation, token)
    send(ws, {"type": "message.send", "text": 123, "ref": "m"})
    assert_invalid(receive(ws), "text", "m")
    assert not Message.objects.filter(conversation=conversation).exists()


def test_a_presence_id_sent_as_a_string_is_refused_and_the_presence_stays(workspace_socket):
    # spec: REL-3 — `presence: "5"` set the agent Offline
    agent = AgentProfileFactory(presence=presence("available"))
    ws = workspace_socket(agent)
    offline = presence("offline")
    send(ws, {"type": "presence.set", "presence": str(offline.pk), "ref": "p"})
    assert_invalid(receive(ws), "presence", "p")
    agent.refresh_from_db()
    assert agent.presence == presence("available")


def test_a_conversation_id_sent_as_a_string_does_not_join(workspace_socket):
    # spec: REL-3, SEC-1 — `conversation: "5"` joined the conversation
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace_socket(agent)
    send(ws, {"type": "conversation.join", "conversation": str(conversation.pk), "after": 0, "ref": "j"})
    assert_invalid(receive(ws), "conversation", "j")
    # Not joined: the conversation's backlog never came, and writing in it is refused.
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "hi", "ref": "m"})
    error = receive(ws)
    assert (error["code"], error["ref"]) == ("not_joined", "m")


def test_typing_with_a_string_for_a_boolean_is_refused_and_not_relayed(widget_socket, workspace_socket):
    # spec: REL-3 — `is_typing: "yes"` was relayed as typing
    agent = AgentProfileFactory()
    widget = ChatWidgetFactory()
    visitor = VisitorFactory(widget=widget)
    conversation = chat_given_to(agent, widget=widget, visitor=visitor, workstream=widget.workstream)
    agent_ws = workspace_socket(agent)
    send(agent_ws, {"type": "conversation.join", "conversation": conversation.pk, "after": 10**6, "ref": "j"})
    assert receive(agent_ws)["type"] == "conversation.joined"
    token = conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
    ws = widget_socket(widget)
    send(ws, {"type": "join", "token": token, "after": 10**6, "ref": "j"})
    assert receive(ws)["type"] == "joined"
    send(ws, {"type": "typing", "is_typing": "yes", "ref": "t"})
    assert_invalid(receive(ws), "is_typing", "t")
    send(agent_ws, {"type": "typing", "conversation": conversation.pk, "is_typing": "yes", "ref": "t"})
    assert_invalid(receive(agent_ws), "is_typing", "t")
    assert_silent(agent_ws)
    assert_silent(ws)


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "presence.set", "presence": True}, "presence"),  # a bool is not an id
        ({"type": "presence.set", "presence": 5.0}, "presence"),  # nor a float
        ({"type": "offer.accept", "offer": "1"}, "offer"),
        ({"type": "conversation.join", "conversation": 1, "after": False}, "after"),
        ({"type": "message.send", "conversation": 1, "text": "hi", "client_id": 7}, "client_id"),
        ({"type": "typing", "conversation": 1, "is_typing": 1}, "is_typing"),
        ({"type": "ping", "ref": 7}, "ref"),
        ({"type": "ping", "launch": "missiles"}, "launch"),  # unknown fields are refused too
    ],
)
def test_workspace_frames_take_exact_types(workspace_socket, frame, field):
    # spec: REL-3 — no coercion: bools, floats and strings are not ints, numbers are not strings
    agent = AgentProfileFactory(presence=presence("available"))
    ws = workspace_socket(agent)
    before = snapshot(Conversation, Message, AgentProfile)
    send(ws, frame)
    error = receive(ws)
    assert (error["type"], error["code"], list(error["details"])) == ("error", "invalid", [field])
    assert snapshot(Conversation, Message, AgentProfile) == before


# --- Invalid UTF-8 ----------------------------------------------------------------------------------


def test_a_text_frame_of_invalid_utf8_is_refused_without_a_traceback(workspace_socket, widget_socket, caplog):
    # spec: REL-3 — an invalid-UTF-8 frame logged a traceback. uvicorn's WebSocket protocol
    # fails such a connection itself (close 1007, RFC 6455 §8.1); nothing of ours may log an error.
    agent = AgentProfileFactory()
    conversation, token = chat()
    with caplog.at_level(logging.ERROR):
        for ws in (workspace_socket(agent), widget_socket(conversation.widget)):
            ws.send(b'{"type": "ping", "x": "\xff\xfe"}', text=True)
            with pytest.raises(Exception) as closed:  # noqa: PT011 - the close is the answer
                while True:
                    ws.recv(timeout=5)
            assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 1007
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_json_escaped_lone_surrogate_or_nul_is_refused_and_not_stored(widget_socket, caplog):
    # spec: REL-3 — valid JSON, but not text PostgreSQL (or UTF-8) can hold: refused on the field
    conversation, token = chat()
    ws = widget_socket(conversation.widget)
    widget_join(ws, conversation, token)
    with caplog.at_level(logging.ERROR):
        for number, text in enumerate(['"\\ud800"', '"a\\u0000b"']):
            send(ws, f'{{"type": "message.send", "text": {text}, "ref": "m{number}"}}')
            assert_invalid(receive(ws), "text", f"m{number}")
    assert not Message.objects.filter(conversation=conversation).exists()
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_deeply_nested_json_is_answered_not_crashed_on(workspace_socket, caplog):
    # spec: REL-3 — 60 KB of "[" exceeds the JSON parser's recursion limit
    ws = workspace_socket(AgentProfileFactory())
    with caplog.at_level(logging.ERROR):
        send(ws, "[" * 60_000)
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", "bad_json")
        send(ws, {"type": "ping", "ref": "p"})
        assert receive(ws) == {"type": "pong", "ref": "p"}
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
