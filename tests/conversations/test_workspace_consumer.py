"""The workspace socket through a real ASGI server, on the in-memory layer and on real Redis
(docs/live-chat-protocol.md; CONV-2, CONV-2a, LIVE-2, LIVE-3, NOT-4, NOT-8, ROU-5, ROU-10, SEC-1, REL-3)."""

from unittest import mock

import pytest
from django.db import transaction
from django.utils import translation

from agents.models import AgentProfile
from conversations import workspace as workspace_reads
from conversations.consumers import WorkspaceConsumer
from conversations.handover import conversation_consultant_add
from conversations.models import Conversation, Message
from conversations.services import message_event
from conversations.services import message_post as post
from core.consumers import db_hop
from core.realtime import conversation_group, group_send_now, publish_on_commit
from notifications.models import Notification
from routing.models import Offer
from tests.conversations.factories import chat_given_to, offer_to
from tests.conversations.workspace_socket import join, marker, receive, send, until
from tests.routing.factories import AgentProfileFactory, SupervisorFactory, WorkstreamFactory, presence
from tests.snapshots import snapshot

pytestmark = pytest.mark.embedded

MAX_BYTES = 28 * 1024


# --- Bad frames (REL-3) --------------------------------------------------------------------------


BAD_FRAMES = [
    ({"type": "conversation.join"}, "invalid"),
    ({"type": "conversation.join", "conversation": "seven"}, "invalid"),
    ({"type": "conversation.join", "conversation": 1, "after": -1}, "invalid"),
    ({"type": "message.send", "conversation": 1}, "invalid"),
    ({"type": "message.send", "conversation": 1, "text": "hi", "client_id": "x" * 65}, "invalid"),
    ({"type": "typing", "conversation": 1, "is_typing": "perhaps"}, "invalid"),
    ({"type": "presence.set", "presence": 0}, "invalid"),
    ({"type": "offer.accept"}, "invalid"),
    ({"type": "offer.reject", "offer": [1]}, "invalid"),
    ({"type": "notification.displayed"}, "invalid"),
    ({"type": "conversation.close", "conversation": None}, "invalid"),
    ({"type": "message.send", "conversation": 1, "text": "hi"}, "not_joined"),
    ({"type": "typing", "conversation": 1, "is_typing": True}, "not_joined"),
    ({"type": "conversation.join", "conversation": 999_999}, "not_found"),
    ({"type": "offer.accept", "offer": 999_999}, "not_found"),
    ({"type": "offer.reject", "offer": 999_999}, "not_found"),
    ({"type": "notification.displayed", "notification": 999_999}, "not_found"),
    ({"type": "presence.set", "presence": 999_999}, "not_found"),
    ({"type": "conversation.end", "conversation": 999_999}, "not_found"),
    ({"type": "conversation.close", "conversation": 999_999}, "not_found"),
]


def test_malformed_or_refused_frames_get_error_frames_and_the_socket_stays_open(layer, workspace):
    # spec: REL-3 — each bad frame is answered with its error, carrying the frame's ref
    agent = AgentProfileFactory()
    ws = workspace(agent)
    before = snapshot(Conversation, Message, Offer, Notification, AgentProfile)
    for number, (frame, code) in enumerate(BAD_FRAMES):
        send(ws, {**frame, "ref": f"f{number}"})
        error = receive(ws)
        assert (error["type"], error["code"], error["ref"]) == ("error", code, f"f{number}"), frame
        assert error["message"]
    send(ws, "{not json")
    assert receive(ws)["code"] == "bad_json"
    send(ws, {"type": "ping", "ref": "p"})
    assert receive(ws) == {"type": "pong", "ref": "p"}
    assert snapshot(Conversation, Message, Offer, Notification, AgentProfile) == before


# --- Joining and resuming (CONV-2, SEC-1) --------------------------------------------------------------


def test_an_agent_cannot_join_another_queues_conversation_nor_receive_its_messages(layer, workspace):
    # spec: SEC-1
    agent = AgentProfileFactory(queues=[WorkstreamFactory().default_queue])
    elsewhere = WorkstreamFactory()
    theirs = chat_given_to(AgentProfileFactory(queues=[elsewhere.default_queue]), workstream=elsewhere)
    ws = workspace(agent)
    before = snapshot(Conversation, Message)

    [error] = join(ws, agent, theirs.pk)
    assert (error["type"], error["code"], error["ref"]) == ("error", "not_found", "j")
    for frame in (
        {"type": "message.send", "conversation": theirs.pk, "text": "Hi from the wrong agent"},
        {"type": "conversation.end", "conversation": theirs.pk},
        {"type": "conversation.close", "conversation": theirs.pk},
        {"type": "conversation.read", "conversation": theirs.pk, "seq": 1},
    ):
        send(ws, frame)
        assert receive(ws)["code"] in {"not_joined", "not_found"}
    assert snapshot(Conversation, Message) == before

    post(conversation_id=theirs.pk, sender="customer", text="Private to the colleague")
    publish_on_commit(conversation_group(theirs.pk), {"type": "conversation.typing", "conversation": theirs.pk})
    assert marker(ws, agent) == []


def test_an_agent_follows_a_colleagues_conversation_of_their_queue_read_only(layer, workspace):
    # spec: SEC-1 — they may see it (its page opens from the search), live; writing stays the holder's
    workstream = WorkstreamFactory()
    agent = AgentProfileFactory(queues=[workstream.default_queue])
    colleague = AgentProfileFactory(queues=[workstream.default_queue])
    theirs = chat_given_to(colleague, workstream=workstream)
    ws = workspace(agent)

    joined, *backlog = join(ws, agent, theirs.pk)
    assert (joined["type"], joined["status"]) == ("conversation.joined", "active")
    assert [message["seq"] for message in backlog] == [1]
    before = snapshot(Conversation, Message)
    for frame, code in (
        ({"type": "message.send", "conversation": theirs.pk, "text": "Hi from the wrong agent"}, "not_holder"),
        ({"type": "typing", "conversation": theirs.pk, "is_typing": True}, "not_found"),
        ({"type": "note.post", "conversation": theirs.pk, "text": "A note"}, "not_holder"),
        ({"type": "conversation.end", "conversation": theirs.pk}, "not_found"),
        ({"type": "conversation.close", "conversation": theirs.pk}, "not_found"),
    ):
        send(ws, frame)
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", code), frame
    assert snapshot(Conversation, Message) == before

    post(conversation_id=theirs.pk, sender="customer", text="Seen by the queue")
    live = receive(ws)
    assert (live["type"], live["text"]) == ("conversation.message", "Seen by the queue")


def test_join_after_n_sends_each_later_message_once_in_order_then_live_ones(layer, workspace):
    # spec: CONV-2
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)  # seq 1: "… joined the chat."
    for number in range(2, 6):
        post(conversation_id=conversation.pk, sender="customer", text=f"Message {number}")
    ws = workspace(agent)

    joined, *backlog = join(ws, agent, conversation.pk, after=2)
    assert joined == {"type": "conversation.joined", "conversation": conversation.pk, "status": "active", "ref": "j"}
    assert [(m["type"], m["seq"], m["text"]) for m in backlog] == [
        ("conversation.message", 3, "Message 3"),
        ("conversation.message", 4, "Message 4"),
        ("conversation.message", 5, "Message 5"),
    ]
    post(conversation_id=conversation.pk, sender="customer", text="Live one")
    live = receive(ws)
    assert (live["seq"], live["sender"], live["text"]) == (6, "customer", "Live one")
    assert marker(ws, agent) == []  # nothing twice


def test_a_message_stored_while_joining_arrives_exactly_once_in_order(layer, workspace, monkeypatch):
    # spec: CONV-2, REL-1 — the group is joined before the backlog is read, and the overlap is dropped
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    post(conversation_id=conversation.pk, sender="customer", text="Before the join")
    join_group = WorkspaceConsumer.join

    async def join_while_the_customer_writes(consumer, group):
        await join_group(consumer, group)
        if group == conversation_group(conversation.pk):
            # Stored after the group was joined and before the backlog is read: it is both
            # published to this socket and in the backlog.
            await db_hop(post)(conversation_id=conversation.pk, sender="customer", text="While joining")

    monkeypatch.setattr(WorkspaceConsumer, "join", join_while_the_customer_writes)
    ws = workspace(agent)
    frames = join(ws, agent, conversation.pk, after=1)
    post(conversation_id=conversation.pk, sender="customer", text="After the join")
    frames += marker(ws, agent)
    assert [(f["type"], f.get("seq"), f.get("text")) for f in frames] == [
        ("conversation.joined", None, None),
        ("conversation.message", 2, "Before the join"),
        ("conversation.message", 3, "While joining"),
        ("conversation.message", 4, "After the join"),
    ]


def test_events_arriving_out_of_order_are_sent_in_sequence_order_once(layer, workspace):
    # spec: CONV-2 — two senders' events may cross; the stored order wins
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    assert [f["type"] for f in join(ws, agent, conversation.pk, after=1)] == ["conversation.joined"]
    with mock.patch("conversations.services.publish_on_commit"):  # hold the events back
        second, _ = post(conversation_id=conversation.pk, sender="customer", text="second")
        third, _ = post(conversation_id=conversation.pk, sender="agent", text="third", sender_user=agent.user)
    group_send_now(conversation_group(conversation.pk), message_event(third))
    group_send_now(conversation_group(conversation.pk), message_event(second))
    assert [(m["seq"], m["text"]) for m in marker(ws, agent)] == [(2, "second"), (3, "third")]


def test_a_supervisor_may_join_any_conversation(layer, workspace):
    # spec: SEC-1, ROU-15
    conversation = chat_given_to(AgentProfileFactory())
    supervisor = SupervisorFactory()
    ws = workspace(supervisor)
    joined, *backlog = join(ws, supervisor, conversation.pk)
    assert joined["status"] == "active"
    assert [m["seq"] for m in backlog] == [1]


# --- One renderer for history and live messages (issue 11) --------------------------------------


def history_fragments(client, agent, conversation) -> dict[int, str]:
    """Each message's ``<li>`` as the conversation page renders it, by seq."""
    client.force_login(agent.user)
    page = client.get(f"/workspace/conversations/{conversation.pk}/")
    html = page.content.decode()
    fragments = {}
    for row in page.context["page"].messages:
        fragment = workspace_reads.message_fragment(row)
        assert fragment in html  # the page is made of these very fragments
        fragments[row.seq] = fragment
    return fragments


def test_a_live_message_reads_as_the_pages_history(layer, workspace, client):
    # spec: LIVE-2, ROU-15, SEC-2 — the socket sends the HTML the page renders after a reload:
    # the consultant's name (not "Agent"), the link, the time; markup stays text
    agent = AgentProfileFactory(display_name="Ada")
    consultant = AgentProfileFactory(display_name="Alice")
    conversation = chat_given_to(agent)
    with transaction.atomic():  # the transfer workflow's transaction, which the consult joins
        conversation_consultant_add(conversation_id=conversation.pk, by_agent=agent, consultant=consultant, note="")
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=2)

    post(
        conversation_id=conversation.pk,
        sender="agent",
        text="<img src=x onerror=alert(1)> see https://shop.example.com/a_(b)?q=1&r=2.",
        sender_user=consultant.user,
        agent=consultant,
    )
    post(conversation_id=conversation.pk, sender="customer", text="Thanks (https://shop.example.com/x)!")
    live = [receive(ws), receive(ws)]
    assert [(f["seq"], f["sender_name"]) for f in live] == [(3, "Alice"), (4, "Customer")]
    history = history_fragments(client, agent, conversation)
    assert [f["html"] for f in live] == [history[3], history[4]]
    assert "<img" not in live[0]["html"] and "&lt;img src=x onerror=alert(1)&gt;" in live[0]["html"]
    assert (
        '<a href="https://shop.example.com/a_(b)?q=1&amp;r=2" target="_blank" rel="noopener noreferrer nofollow">'
        "https://shop.example.com/a_(b)?q=1&amp;r=2</a>."
    ) in live[0]["html"]
    assert '<span class="ws-message__who" data-testid="message-sender">Alice</span>' in live[0]["html"]

    # A page coming back gets the same fragments in its backlog.
    again = workspace(agent)
    _joined, *backlog = join(again, agent, conversation.pk, after=0)
    assert {f["seq"]: f["html"] for f in backlog} == history


def test_the_fragment_path_costs_no_query_live_and_one_for_a_backlog(agent_and_chat, django_assert_num_queries):
    # spec: issue 11 — query counts bounded whatever the number of messages and writers
    agent, conversation = agent_and_chat
    for number in range(5):
        post(
            conversation_id=conversation.pk, sender="agent", text=f"https://x.example/{number}", sender_user=agent.user
        )
    event = message_event(Message.objects.select_related("sender_user__agent").get(conversation=conversation, seq=6))
    consumer = WorkspaceConsumer()
    consumer.language, consumer.last_sent = "en", {conversation.pk: 0}
    with django_assert_num_queries(0):
        frame = consumer.message_frame(event)
    assert frame["sender_name"] == agent.display_name and 'href="https://x.example/4"' in frame["html"]
    with django_assert_num_queries(1):
        sent = consumer.backlog_frames(conversation.pk)
    assert [f["seq"] for f in sent] == [1, 2, 3, 4, 5, 6]
    assert sent[-1] == frame


@pytest.fixture
def agent_and_chat(db):
    agent = AgentProfileFactory(display_name="Ada")
    return agent, chat_given_to(agent)


def test_messages_are_rendered_in_the_pages_language(layer, workspace):
    # spec: I18N-1 — the socket renders names and times in the language of the page that opened it
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent, query="?lang=fr")
    join(ws, agent, conversation.pk, after=1)
    post(conversation_id=conversation.pk, sender="customer", text="Bonjour")
    frame = receive(ws)
    stored = Message.objects.get(conversation=conversation, seq=2)
    assert f">{stored.created_at:%H:%M}</time>" in frame["html"]  # French TIME_FORMAT is H:i
    with translation.override("fr"):
        assert frame["html"] == workspace_reads.message_fragment(workspace_reads.message_row(stored))


def test_an_english_socket_writes_the_english_time(layer, workspace):
    # spec: I18N-1 — the live message's time in the socket's language, as the page writes it
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent, query="?lang=en")
    join(ws, agent, conversation.pk, after=1)
    post(conversation_id=conversation.pk, sender="customer", text="Hello")
    frame = receive(ws)
    stored = Message.objects.get(conversation=conversation, seq=2)
    with translation.override("en"):
        assert frame["html"] == workspace_reads.message_fragment(workspace_reads.message_row(stored))
    assert f">{stored.created_at:%-I:%M} {stored.created_at:%p}</time>" in frame["html"]


# --- Sending (LIVE-2, CONV-2, CONV-2a) -----------------------------------------------------------


def held_and_watched(workspace):
    """A chat an agent holds, with the agent's socket and a supervisor's both joined to it after
    its first message: (agent, conversation, agent's socket, supervisor's socket)."""
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    supervisor = SupervisorFactory()
    watcher = workspace(supervisor)
    join(watcher, supervisor, conversation.pk, after=1)
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=1)
    return agent, conversation, ws, watcher


def test_message_send_stores_the_message_acknowledges_it_and_broadcasts_it(layer, workspace):
    # spec: LIVE-2, CONV-2 — the same client id twice stores one message
    agent, conversation, ws, watcher = held_and_watched(workspace)

    frame = {"type": "message.send", "conversation": conversation.pk, "text": "Hello <b>there</b>", "client_id": "c-1"}
    send(ws, {**frame, "ref": "s1"})
    assert receive(ws) == {
        "type": "message.ack",
        "conversation": conversation.pk,
        "client_id": "c-1",
        "seq": 2,
        "ref": "s1",
    }
    stored = Message.objects.get(conversation=conversation, seq=2)
    assert (stored.sender, stored.sender_user, stored.text, stored.client_id) == (
        "agent",
        agent.user,
        "Hello <b>there</b>",
        "c-1",
    )
    for socket in (ws, watcher):
        event = receive(socket)
        html = event.pop("html")  # the fragment's own test: test_a_live_message_reads_as_the_pages_history
        assert event == {**message_event(stored), "sender_name": agent.display_name}
        assert "Hello &lt;b&gt;there&lt;/b&gt;" in html

    send(ws, {**frame, "ref": "s2"})  # a retry after a reconnect
    assert receive(ws)["seq"] == 2
    assert Message.objects.filter(conversation=conversation).count() == 2
    assert marker(ws, agent) == []


def test_a_message_over_28_kb_is_refused_and_nothing_is_stored(layer, workspace):
    # spec: CONV-2a — 28 KB of UTF-8, so 14,337 two-byte letters are too many
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=1)
    before = snapshot(Conversation, Message)
    for text in ("x" * (MAX_BYTES + 1), "é" * (MAX_BYTES // 2 + 1)):
        send(ws, {"type": "message.send", "conversation": conversation.pk, "text": text, "ref": "big"})
        error = receive(ws)
        assert (error["type"], error["code"], error["ref"]) == ("error", "message_too_large", "big")
        assert "28 KB" in error["message"]
    assert snapshot(Conversation, Message) == before
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "x" * MAX_BYTES})
    assert receive(ws)["type"] == "message.ack"


def test_only_the_agent_holding_an_active_conversation_may_write_in_it(layer, workspace):
    # spec: CONV-1, SEC-1 — a supervisor watching, or a conversation in wrap-up, refuses messages
    agent, conversation, ws, watcher = held_and_watched(workspace)
    send(watcher, {"type": "message.send", "conversation": conversation.pk, "text": "Hi"})
    assert receive(watcher)["code"] == "not_holder"

    send(ws, {"type": "conversation.end", "conversation": conversation.pk})
    ack, _ = until(ws, "ack")
    before = snapshot(Conversation, Message)
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "Too late"})
    assert until(ws, "error")[0]["code"] == "conversation_not_active"
    assert snapshot(Conversation, Message) == before


def test_typing_reaches_the_others_in_the_conversation_but_not_the_typist(layer, workspace):
    # spec: LIVE-2 — both sides see typing indicators
    agent, conversation, ws, watcher = held_and_watched(workspace)

    send(ws, {"type": "typing", "conversation": conversation.pk, "is_typing": True})
    assert receive(watcher) == {
        "type": "conversation.typing",
        "conversation": conversation.pk,
        "sender": "agent",
        "is_typing": True,
        "agent": agent.pk,
    }
    customer_typing = {"type": "conversation.typing", "conversation": conversation.pk, "sender": "customer"}
    group_send_now(conversation_group(conversation.pk), {**customer_typing, "is_typing": True})
    assert marker(ws, agent) == [{**customer_typing, "is_typing": True}]


# --- Ending a conversation (CONV-1, LIVE-3) ---------------------------------------------------------


def test_the_agent_ends_the_chat_then_closes_it_after_wrap_up(layer, workspace):
    # spec: CONV-1 — active → wrap-up → closed, each seen by whoever joined
    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=1)

    send(ws, {"type": "conversation.close", "conversation": conversation.pk, "ref": "early"})
    assert receive(ws)["code"] == "not_in_wrap_up"
    send(ws, {"type": "conversation.end", "conversation": conversation.pk, "ref": "e"})
    assert receive(ws) == {
        "type": "ack",
        "frame": "conversation.end",
        "conversation": conversation.pk,
        "status": "wrap_up",
        "ref": "e",
    }
    frames = marker(ws, agent)
    assert {
        "type": "conversation.status",
        "conversation": conversation.pk,
        "status": "wrap_up",
        "previous": "active",
        "actor": "agent",
    } in frames
    assert [f["text"] for f in frames if f["type"] == "conversation.message"] == [
        f"{agent.display_name} ended the chat."
    ]

    send(ws, {"type": "conversation.close", "conversation": conversation.pk, "ref": "c"})
    assert receive(ws)["status"] == "closed"
    conversation.refresh_from_db()
    assert conversation.status == "closed"
    assert conversation.sessions.get().closed_at is not None


def test_the_agent_sees_the_customer_end_the_chat(layer, workspace):
    # spec: LIVE-3
    from conversations.services import conversation_customer_end

    agent = AgentProfileFactory()
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=1)
    conversation_customer_end(conversation_id=conversation.pk)
    frames = marker(ws, agent)
    assert frames[0] == {
        "type": "conversation.status",
        "conversation": conversation.pk,
        "status": "wrap_up",
        "previous": "active",
        "actor": "customer",
    }
    assert (frames[1]["sender"], frames[1]["text"]) == ("system", "The customer ended the chat.")


# --- Presence, notifications and offers (ROU-5, NOT-4, NOT-8, ROU-10) -----------------------------------


def test_presence_set_changes_the_presence_and_refuses_a_system_one(layer, workspace):
    # spec: ROU-5
    agent = AgentProfileFactory()
    ws = workspace(agent)
    away = presence("away")
    send(ws, {"type": "presence.set", "presence": away.pk, "ref": "p"})
    assert receive(ws) == {"type": "ack", "frame": "presence.set", "presence": away.pk, "ref": "p"}
    changed = receive(ws)
    assert (changed["type"], changed["presence"]["id"], changed["presence"]["name"]) == (
        "presence.changed",
        away.pk,
        "Away",
    )
    agent.refresh_from_db()
    assert agent.presence == away

    send(ws, {"type": "presence.set", "presence": presence("inactive").pk})
    error = receive(ws)
    assert error["type"] == "error" and "set by the system" in error["message"]
    agent.refresh_from_db()
    assert agent.presence == away


def test_a_raised_notification_is_acknowledged_then_accepted_into_the_conversation(layer, workspace):
    # spec: NOT-4, NOT-8, NOT-13
    agent = AgentProfileFactory()
    ws = workspace(agent)
    offer = offer_to(agent)
    raised = receive(ws)
    assert raised["type"] == "notification.raised"
    notification = raised["notification"]
    assert (notification["offer"], notification["kind"], notification["status"]) == (offer.pk, "alert", "sent")

    send(ws, {"type": "notification.displayed", "notification": notification["id"], "ref": "d"})
    assert receive(ws) == {
        "type": "ack",
        "frame": "notification.displayed",
        "notification": notification["id"],
        "ref": "d",
    }
    offer.refresh_from_db()
    assert offer.displayed_at is not None
    assert Notification.objects.get(pk=notification["id"]).status == "displayed"

    conversation_id = offer.work_item.conversation.pk
    send(ws, {"type": "offer.accept", "offer": offer.pk, "ref": "a"})
    assert receive(ws) == {
        "type": "offer.accepted",
        "offer": offer.pk,
        "conversation": conversation_id,
        "url": f"/workspace/conversations/{conversation_id}/",
        "ref": "a",
    }
    later = marker(ws, agent)
    assert {"type": "notification.closed", "notification": notification["id"], "status": "accepted"} in later
    offer.refresh_from_db()
    assert offer.status == "accepted"
    assert Conversation.objects.get(pk=conversation_id).agent == agent


def test_an_agent_rejects_their_offer_but_cannot_touch_another_agents(layer, workspace):
    # spec: NOT-4, ROU-10
    agent = AgentProfileFactory()
    ws = workspace(agent)
    mine = offer_to(agent)
    theirs = offer_to(AgentProfileFactory())
    until(ws, "notification.raised")
    before = snapshot(Offer, Notification)
    for frame_type in ("offer.accept", "offer.reject"):
        send(ws, {"type": frame_type, "offer": theirs.pk})
        assert receive(ws)["code"] == "not_yours"
    send(ws, {"type": "notification.displayed", "notification": Notification.objects.get(offer_id=theirs.pk).pk})
    assert receive(ws)["code"] == "not_found"
    assert snapshot(Offer, Notification) == before

    send(ws, {"type": "offer.reject", "offer": mine.pk, "ref": "r"})
    assert receive(ws) == {"type": "offer.rejected", "offer": mine.pk, "ref": "r"}
    mine.refresh_from_db()
    assert mine.status == "rejected"
    send(ws, {"type": "offer.accept", "offer": mine.pk})
    assert until(ws, "error")[0]["code"] == "offer_gone"
