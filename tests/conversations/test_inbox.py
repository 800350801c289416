"""The agent's inbox (issue 15): its tabs, rows, unread counts and read markers, its live counts
over the workspace socket, the sound setting, bounded queries at 1,000 items, and SEC-1."""

import pytest

from conversations.inbox import inbox, inbox_counts
from conversations.models import Conversation, ConversationRead
from conversations.persistent import conversation_park
from conversations.read_markers import conversation_mark_read
from conversations.services import message_post
from tests.conversations.factories import ConversationFactory, TagFactory, chat_given_to, closed_chat_of
from tests.conversations.workspace_socket import marker, receive, send, until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkItemFactory, WorkstreamFactory

DASHBOARD = "/workspace/"


def customer_says(conversation, text="Hello?"):
    message, _created = message_post(conversation_id=conversation.pk, sender="customer", text=text)
    return message


def parked_chat_of(agent) -> Conversation:
    conversation = chat_given_to(
        agent, workstream=WorkstreamFactory(persistent=True), channel=Conversation.Channel.PERSISTENT_CHAT
    )
    return conversation_park(conversation_id=conversation.pk, agent=agent)


def queued_in(workstream, **fields):
    conversation = ConversationFactory(workstream=workstream, **fields)
    WorkItemFactory(conversation=conversation)
    return conversation


@pytest.mark.django_db
def test_each_tab_holds_its_conversations_and_the_unread_count_is_the_customers_messages_since_read(agent):
    # spec: ROU-13, PER-6 — mine, the queues' pickable work, parked chats, closed recently
    from routing.models import QueueMembership

    pick = WorkstreamFactory(default_queue=QueueFactory(name="Picks"), distribution="pick")
    QueueMembership.objects.create(agent=agent, queue=pick.default_queue)
    mine = chat_given_to(agent)
    waiting = parked_chat_of(agent)
    closed = closed_chat_of(agent)
    pickable = queued_in(pick)
    elsewhere = queued_in(WorkstreamFactory(distribution="pick"))  # SEC-1: not the agent's queue
    colleagues = chat_given_to(AgentProfileFactory())
    customer_says(mine, "First")
    customer_says(mine, "Second")

    counts = inbox_counts(agent)

    assert counts == {"mine": 1, "queues": 1, "waiting": 1, "closed": 1, "unread": 2}
    rows = {tab: [row.conversation_id for row in inbox(agent, tab=tab).rows] for tab in counts if tab != "unread"}
    assert rows == {"mine": [mine.pk], "queues": [pickable.pk], "waiting": [waiting.pk], "closed": [closed.pk]}
    assert elsewhere.pk not in sum(rows.values(), []) and colleagues.pk not in sum(rows.values(), [])
    (row,) = inbox(agent, tab="mine").rows
    assert (row.preview, row.preview_sender, row.unread, row.channel) == ("Second", "customer", 2, "Live chat")

    conversation_mark_read(
        agent=agent, conversation_id=mine.pk, seq=Conversation.objects.get(pk=mine.pk).last_message_seq
    )
    assert inbox_counts(agent)["unread"] == 0
    customer_says(mine, "Third")
    assert inbox(agent, tab="mine").rows[0].unread == 1


@pytest.mark.django_db
def test_the_read_marker_only_moves_forward(agent):
    conversation = chat_given_to(agent)
    assert conversation_mark_read(agent=agent, conversation_id=conversation.pk, seq=5) is True
    assert conversation_mark_read(agent=agent, conversation_id=conversation.pk, seq=3) is False
    assert conversation_mark_read(agent=agent, conversation_id=conversation.pk, seq=5) is False
    assert ConversationRead.objects.get(agent=agent, conversation=conversation).last_read_seq == 5


@pytest.mark.django_db
def test_opening_the_conversation_page_marks_it_read(client, agent):
    conversation = chat_given_to(agent)
    customer_says(conversation, "Are you there?")
    client.force_login(agent.user)
    assert client.get(DASHBOARD).context["inbox"].counts["unread"] == 1
    assert client.get(f"/workspace/conversations/{conversation.pk}/").status_code == 200
    response = client.get(DASHBOARD)
    assert response.context["inbox"].counts["unread"] == 0
    assert 'data-testid="inbox-count-mine" data-count="1"' in response.content.decode()


@pytest.mark.django_db
def test_the_dashboard_shows_each_row_with_channel_customer_preview_waiting_time_unread_and_tags(client, agent):
    conversation = chat_given_to(agent, prechat_answers={"name": "Grace <b>Hopper</b>"})
    conversation.tags.add(TagFactory(name="Billing", colour="#fde68a"))
    customer_says(conversation, "<script>alert(1)</script> my invoice")
    client.force_login(agent.user)
    html = client.get(DASHBOARD).content.decode()
    assert "Grace &lt;b&gt;Hopper&lt;/b&gt;" in html  # SEC-2: escaped everywhere
    assert "&lt;script&gt;alert(1)&lt;/script&gt; my invoice" in html and "<script>alert(1)" not in html
    assert "Live chat" in html and "Waiting " in html and "1 unread" in html
    assert 'style="background: #fde68a; color: #000000">Billing</span>' in html
    assert "INBOX" not in html and "ROU-13" not in html  # no spec codes on a screen


@pytest.mark.django_db
def test_an_unknown_tab_shows_mine_and_bad_filters_change_nothing(client, agent):
    chat_given_to(agent)
    client.force_login(agent.user)
    response = client.get(DASHBOARD, {"tab": "<x>", "since": "not-a-date", "tag": "abc"})
    assert response.status_code == 200
    assert response.context["inbox"].tab == "mine" and len(response.context["inbox"].rows) == 1


@pytest.mark.django_db
def test_the_inbox_filters_by_tag(client, agent):
    tagged, plain = chat_given_to(agent), chat_given_to(agent)
    tag = TagFactory(name="VIP")
    tagged.tags.add(tag)
    client.force_login(agent.user)
    rows = client.get(DASHBOARD, {"tag": tag.pk}).context["inbox"].rows
    assert [row.conversation_id for row in rows] == [tagged.pk]
    assert plain.pk not in [row.conversation_id for row in rows]


@pytest.mark.django_db
@pytest.mark.parametrize("items", [10, 1000])
def test_the_dashboard_takes_the_same_number_of_queries_at_ten_or_a_thousand_open_items(
    client, agent, items, django_assert_max_num_queries
):
    # Issue 15: bounded at 1,000 open items — pickable queue work, each with a message and a tag.
    from conversations.models import Message
    from routing.models import QueueMembership, WorkItem

    pick = WorkstreamFactory(default_queue=QueueFactory(name="Picks"), distribution="pick")
    QueueMembership.objects.create(agent=agent, queue=pick.default_queue)
    work_items = WorkItem.objects.bulk_create(
        [WorkItem(kind="conversation", workstream=pick, queue=pick.default_queue) for _ in range(items)]
    )
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(channel="live_chat", workstream=pick, queue=pick.default_queue, work_item=work_item)
            for work_item in work_items
        ]
    )
    Message.objects.bulk_create([Message(conversation=c, seq=1, sender="customer", text="Hi") for c in conversations])
    tag = TagFactory()
    tag.conversations.add(*conversations)
    client.force_login(agent.user)
    with django_assert_max_num_queries(13):  # the filter's two selects (tags, wrap-up codes) included
        response = client.get(DASHBOARD, {"tab": "queues"})
    assert response.context["inbox"].counts["queues"] == items
    assert len(response.context["inbox"].rows) == min(items, 100)
    with django_assert_max_num_queries(9):  # the filter's two selects included
        assert client.get("/workspace/inbox/", {"tab": "queues"}).status_code == 200


@pytest.mark.django_db
def test_the_sound_is_off_by_default_and_the_agent_switches_it(client, agent):
    client.force_login(agent.user)
    assert 'data-inbox-sound="off"' in client.get(DASHBOARD).content.decode()
    response = client.post("/workspace/inbox-sound/", {"sound": "on"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"sound": "on"}
    assert 'data-inbox-sound="on"' in client.get(DASHBOARD).content.decode()
    refused = client.post("/workspace/inbox-sound/", {"sound": "loud"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    agent.refresh_from_db()
    assert agent.inbox_sound is True


# --- live counts over the workspace socket -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_counts_follow_a_customer_message_and_reading_it_on_the_socket(workspace, agent):
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    send(ws, {"type": "inbox.counts", "ref": "c"})
    answer = receive(ws)
    assert (answer["ref"], answer["counts"]) == ("c", {"mine": 1, "queues": 0, "waiting": 0, "closed": 0, "unread": 0})

    message = customer_says(conversation, "Anyone?")

    frame, _before = until(ws, "inbox.counts")
    assert (frame["reason"], frame["conversation"], frame["counts"]["unread"]) == (
        "customer_message",
        conversation.pk,
        1,
    )
    send(ws, {"type": "conversation.join", "conversation": conversation.pk, "after": message.seq, "ref": "j"})
    until(ws, "conversation.joined")
    send(ws, {"type": "conversation.read", "conversation": conversation.pk, "seq": message.seq, "ref": "r"})
    frames = [receive(ws), receive(ws)]
    read = next(frame for frame in frames if frame["type"] == "inbox.counts")
    assert (read["reason"], read["counts"]["unread"]) == ("read", 0)
    assert any(frame["type"] == "ack" and frame["ref"] == "r" for frame in frames)


@pytest.mark.django_db(transaction=True)
def test_a_socket_that_does_not_follow_the_inbox_gets_no_counts_and_others_cannot_read_for_it(workspace, agent):
    # SEC-1: marking another agent's conversation read is refused and changes nothing
    conversation = chat_given_to(agent)
    ws = workspace(agent)
    customer_says(conversation)
    assert [frame["type"] for frame in marker(ws, agent)] == []
    colleague = AgentProfileFactory()
    theirs = chat_given_to(colleague)
    send(ws, {"type": "conversation.read", "conversation": theirs.pk, "seq": 1, "ref": "x"})
    error = receive(ws)
    assert (error["type"], error["code"]) == ("error", "not_found")
    send(ws, {"type": "conversation.read", "conversation": conversation.pk, "seq": "1", "ref": "y"})
    assert receive(ws)["type"] == "error"  # exact types: no coercion
    assert not ConversationRead.objects.exists()
