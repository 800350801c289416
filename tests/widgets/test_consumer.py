"""The customer's chat socket through the real ASGI server, on the in-memory layer and on real Redis
(docs/live-chat-protocol.md; CONV-2, CONV-2a, REL-1, REL-3, LIVE-2, LIVE-3, PER-4, SEC-1, WID-3)."""

import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conversations.models import Conversation, Message
from conversations.services import message_post
from core import realtime
from core.realtime import conversation_group, publish_on_commit
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory
from tests.widgets.factories import ChatWidgetFactory
from tests.widgets.widget_socket import (
    ORIGIN,
    assert_silent,
    chat,
    join,
    open_socket,
    post,
    receive,
    send,
    texts,
)
from widgets.tokens import conversation_token, visitor_token

pytestmark = pytest.mark.embedded

# --- The conversation over the socket (LIVE-2, CONV-2) ----------------------------------------------


def test_join_sends_the_backlog_then_live_messages_and_the_customer_writes(layer, asgi_server):
    # spec: LIVE-2, CONV-2 — backlog after N in order, then live; the customer's messages are stored and acked
    conversation, token = chat()
    post(conversation, "Welcome", sender=Message.Sender.SYSTEM)
    post(conversation, "Hello, I am Ana")
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        first, second = receive(ws), receive(ws)
        assert first == {
            "type": "conversation.message",
            "conversation": str(conversation.public_id),
            "seq": 1,
            "sender": "system",
            "text": "Welcome",
            "client_id": None,
            "created_at": first["created_at"],
            "sender_name": "System",
            "parts": [{"text": "Welcome"}],
        }
        assert (second["seq"], second["sender"], second["text"]) == (2, "agent", "Hello, I am Ana")

        post(conversation, "How can I help?")
        assert texts([receive(ws)]) == [(3, "How can I help?")]

        send(ws, {"type": "message.send", "text": "My parcel is late", "client_id": "c-1", "ref": "m"})
        frames = [receive(ws), receive(ws)]
        ack = next(frame for frame in frames if frame["type"] == "message.ack")
        echo = next(frame for frame in frames if frame["type"] == "conversation.message")
        assert ack == {"type": "message.ack", "client_id": "c-1", "seq": 4, "ref": "m"}
        assert (echo["seq"], echo["sender"], echo["text"], echo["client_id"]) == (
            4,
            "customer",
            "My parcel is late",
            "c-1",
        )

        # The same client id again is stored once (CONV-2) and acked with the same number.
        send(ws, {"type": "message.send", "text": "My parcel is late", "client_id": "c-1"})
        assert receive(ws) == {"type": "message.ack", "client_id": "c-1", "seq": 4}
        assert_silent(ws)
    stored = Message.objects.filter(conversation=conversation).order_by("seq")
    assert list(stored.values_list("seq", "sender", "text")) == [
        (1, "system", "Welcome"),
        (2, "agent", "Hello, I am Ana"),
        (3, "agent", "How can I help?"),
        (4, "customer", "My parcel is late"),
    ]


def test_messages_come_as_safe_parts_cut_by_the_servers_link_rule_with_the_name_to_show(layer, asgi_server):
    # spec: SEC-2, LIVE-2 — issue 11: the widget holds no link rule; it shows the agent's name the server gives
    agent = AgentProfileFactory(display_name="Ada")
    conversation, token = chat()
    message_post(
        conversation_id=conversation.pk,
        sender=Message.Sender.AGENT,
        text="<b>See</b> https://shop.example.com/x. or javascript:alert(1)",
        sender_user=agent.user,
    )
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        stored = receive(ws)
        post(conversation, "Anything else?", sender=Message.Sender.CUSTOMER)
        live = receive(ws)
    assert (stored["sender_name"], stored["parts"]) == (
        "Ada",
        [
            {"text": "<b>See</b> "},
            {"link": "https://shop.example.com/x", "text": "https://shop.example.com/x"},
            {"text": ". or javascript:alert(1)"},
        ],
    )
    assert (live["sender_name"], live["parts"]) == ("Customer", [{"text": "Anything else?"}])
    assert "agent_name" not in stored  # what the customer sees is the widget's fields only


def test_a_reconnect_gets_each_missed_message_exactly_once_in_order(layer, asgi_server):
    # spec: CONV-2, REL-1, LIVE-3 — resume with "everything after N"; the grace period starts and ends
    conversation, token = chat()
    post(conversation, "one")
    post(conversation, "two")
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        assert texts([receive(ws), receive(ws)]) == [(1, "one"), (2, "two")]
    # The socket closed: the customer's grace period started (LIVE-3).
    wait_until(lambda: Conversation.objects.get(pk=conversation.pk).customer_left_at is not None, timeout=5)

    for text in ("three", "four", "five"):  # written while the customer was away
        post(conversation, text)
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token, after=2)
        assert texts([receive(ws) for _ in range(3)]) == [(3, "three"), (4, "four"), (5, "five")]
        post(conversation, "six")
        assert texts([receive(ws)]) == [(6, "six")]
        assert_silent(ws)
        # Back within the grace period: the chat goes on.
        assert Conversation.objects.get(pk=conversation.pk).customer_left_at is None


def test_a_late_event_is_neither_lost_nor_repeated(layer, asgi_server, monkeypatch):
    # spec: CONV-2, REL-1 — publishers race after commit; the socket still delivers 1, 2 once, in order
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        held = []
        deliver = realtime.group_send_now
        monkeypatch.setattr(realtime, "group_send_now", lambda group, event: held.append((group, event)))
        post(conversation, "first")
        post(conversation, "second")
        monkeypatch.setattr(realtime, "group_send_now", deliver)
        deliver(*held[1])  # "second" overtakes "first"
        deliver(*held[0])
        assert texts([receive(ws), receive(ws)]) == [(1, "first"), (2, "second")]
        assert_silent(ws)


def test_typing_is_relayed_both_ways_and_never_stored(layer, asgi_server, monkeypatch):
    # spec: LIVE-2 — both sides see typing indicators
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        publish_on_commit(
            conversation_group(conversation.pk),
            {"type": "conversation.typing", "conversation": conversation.pk, "sender": "agent", "is_typing": True},
        )
        assert receive(ws) == {
            "type": "conversation.typing",
            "conversation": str(conversation.public_id),
            "sender": "agent",
            "is_typing": True,
        }
        relayed = []

        async def relay(group, event):
            relayed.append((group, event))

        monkeypatch.setattr(realtime, "group_send_async", relay)
        send(ws, {"type": "typing", "is_typing": True})
        send(ws, {"type": "nope"})  # answered after the typing frame was handled
        assert receive(ws)["code"] == "unknown_type"
        assert relayed == [
            (
                conversation_group(conversation.pk),
                {
                    "type": "conversation.typing",
                    "conversation": conversation.pk,
                    "sender": "customer",
                    "is_typing": True,
                },
            )
        ]
    assert not Message.objects.filter(conversation=conversation).exists()


def test_the_customer_does_not_see_their_own_typing_or_events_not_meant_for_them(layer, asgi_server):
    # spec: LIVE-2
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        group = conversation_group(conversation.pk)
        publish_on_commit(group, {"type": "conversation.typing", "conversation": conversation.pk, "sender": "customer"})
        publish_on_commit(group, {"type": "conversation.note_added", "conversation": conversation.pk, "note": "vip"})
        post(conversation, "still here")
        assert texts([receive(ws)]) == [(1, "still here")]
        assert_silent(ws)


# --- Ending (LIVE-3, PER-4) -------------------------------------------------------------------------


def test_the_customer_ends_the_chat_and_sees_it_ended(layer, asgi_server):
    # spec: LIVE-3 — the customer can end a live chat
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        send(ws, {"type": "chat.end"})
        frames = [receive(ws), receive(ws)]
        assert {
            "type": "conversation.status",
            "conversation": str(conversation.public_id),
            "status": "closed",
            "previous": "open",
        } in frames
        assert any(frame["type"] == "conversation.message" and frame["sender"] == "system" for frame in frames)
        send(ws, {"type": "message.send", "text": "hello?"})
        assert receive(ws)["code"] == "conversation_closed"
    conversation.refresh_from_db()
    assert conversation.status == "closed"
    assert list(conversation.messages.values_list("sender", flat=True)) == ["system"]


def test_a_customer_cannot_end_a_persistent_chat(layer, asgi_server):
    # spec: PER-4 — the server refuses a customer's attempt
    conversation, token = chat(channel=Conversation.Channel.PERSISTENT_CHAT)
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        send(ws, {"type": "chat.end", "ref": "e"})
        error = receive(ws)
        assert (error["type"], error["code"], error["ref"]) == ("error", "end_not_allowed", "e")
    conversation.refresh_from_db()
    assert conversation.status == "open" and not conversation.events.exists()


# --- Bad frames (REL-3, CONV-2a) -------------------------------------------------------------------


BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1]", "bad_frame"),
    ('{"type": "launch"}', "unknown_type"),
    ('{"type": "join"}', "invalid"),
    ('{"type": "join", "token": "t", "after": -1}', "invalid"),
    ('{"type": "join", "token": "t", "after": "x"}', "invalid"),
    ('{"type": "typing", "is_typing": "maybe"}', "invalid"),
    ('{"type": "message.send"}', "invalid"),
    ('{"type": "message.send", "text": "hi", "client_id": "' + "x" * 65 + '"}', "invalid"),
    ('{"type": "message.send", "text": "hi"}', "not_joined"),
    ('{"type": "typing", "is_typing": true}', "not_joined"),
    ('{"type": "chat.end"}', "not_joined"),
    ('{"type": "join", "token": "' + "x" * 70_000 + '"}', "frame_too_large"),
]


def test_malformed_frames_get_error_frames_and_the_socket_stays_open(in_memory_layer, asgi_server):
    # spec: REL-3 — every bad frame is answered with an error frame on the same, still open socket
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        for frame, code in BAD_FRAMES:
            send(ws, frame)
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", code), frame[:80]
            assert error["message"]
        join(ws, conversation, token)  # still open and usable
    assert not Message.objects.exists()


def test_a_joined_socket_refuses_bad_messages_and_stays_usable(layer, asgi_server):
    # spec: CONV-2a — a message is at most 28 KB; a longer one is refused with a clear error
    conversation, token = chat()
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        for text in ("x" * (28 * 1024 + 1), "€" * 10_000, "   "):  # 28 KB + 1; 30 KB in UTF-8; blank
            send(ws, {"type": "message.send", "text": text, "ref": "big"})
            error = receive(ws)
            expected = "empty_message" if not text.strip() else "message_too_large"
            assert (error["type"], error["code"], error["ref"]) == ("error", expected, "big")
            assert error["message"]
        send(ws, {"type": "message.send", "text": "x" * (28 * 1024)})  # exactly 28 KB is fine
        assert {receive(ws)["type"], receive(ws)["type"]} == {"message.ack", "conversation.message"}
        send(ws, {"type": "join", "token": token})
        assert receive(ws)["code"] == "already_joined"
    assert list(Message.objects.values_list("seq", flat=True)) == [1]


# --- Who may join what (SEC-1, WID-3) --------------------------------------------------------------


def forged(token: str) -> str:
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def test_a_customer_can_neither_read_nor_write_another_conversation(layer, asgi_server):
    # spec: SEC-1 — customers see only their own conversation
    widget = ChatWidgetFactory()
    mine, my_token = chat(widget)
    theirs, their_token = chat(widget)
    elsewhere, elsewhere_token = chat()  # a chat of another widget, with a genuine token
    attempts = [
        # Signed for my visitor but naming their conversation: what a leaked conversation id
        # plus my own visitor id would give, if anyone but the server could sign.
        (
            conversation_token(conversation_public_id=theirs.public_id, visitor_public_id=mine.visitor.public_id),
            "not_found",
        ),
        (elsewhere_token, "not_found"),
        (
            conversation_token(conversation_public_id=uuid.uuid4(), visitor_public_id=mine.visitor.public_id),
            "not_found",
        ),
        (forged(their_token), "invalid_token"),
        (visitor_token(visitor_public_id=mine.visitor.public_id, widget_key=widget.public_key), "invalid_token"),
        ("", "invalid"),
    ]
    post(theirs, "their secret")
    with open_socket(asgi_server, widget) as ws:
        for token, code in attempts:
            send(ws, {"type": "join", "token": token, "after": 0})
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", code), token
        send(ws, {"type": "message.send", "text": "let me in"})
        assert receive(ws)["code"] == "not_joined"
        post(theirs, "more secrets")
        post(elsewhere, "other widget")
        assert_silent(ws)
    assert list(Message.objects.values_list("text", flat=True).order_by("pk")) == [
        "their secret",
        "more secrets",
        "other widget",
    ]


def test_a_page_of_a_non_allowed_origin_cannot_open_the_socket(in_memory_layer, asgi_server):
    # spec: WID-3, SEC-3 — WebSocket connections check origin
    widget = ChatWidgetFactory()
    refused_origins = [
        "https://evil.example.net",
        None,
        "null",
        "http://shop.example.com",
        "https://shop.example.com.evil.net",
    ]
    for origin in refused_origins:
        with pytest.raises(InvalidStatus) as refused:
            open_socket(asgi_server, widget, origin=origin)
        assert refused.value.response.status_code == 403, origin
    with open_socket(asgi_server, widget) as ws:  # while the allowed origin gets in
        send(ws, {"type": "typing", "is_typing": False})
        assert receive(ws)["code"] == "not_joined"


def test_an_unknown_or_switched_off_widget_cannot_open_the_socket(in_memory_layer, asgi_server):
    # spec: WID-3
    widget = ChatWidgetFactory(is_active=False)
    with pytest.raises(InvalidStatus):
        open_socket(asgi_server, widget)
    with pytest.raises(InvalidStatus):
        connect(f"{asgi_server.ws_url}/ws/widget/{uuid.uuid4()}/", origin=ORIGIN, open_timeout=5)
