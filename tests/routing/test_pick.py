"""Pick mode: agents see their queues' open items and take one (ROU-13), in the workspace and the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from agents.models import AgentProfile
from conversations.models import Conversation, Session
from conversations.services import conversation_customer_end, conversation_start
from core.realtime import agent_group
from routing.errors import RoutingError
from routing.models import Offer, WorkItem
from routing.services import offers_dispatch, work_item_pick
from tests.api_helpers import token_client
from tests.conversations.factories import chat_start
from tests.customers.factories import CaseFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkItemFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory, VisitorFactory

pytestmark = pytest.mark.django_db

OPEN_ITEMS = "/workspace/open-items/"
API = "/api/v1"


@pytest.fixture
def queue():
    return QueueFactory(name="Returns")


@pytest.fixture
def widget(queue):
    return ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue, distribution="pick", capacity_units=25))


def test_pick_mode_items_are_not_offered_and_members_are_told_they_arrived(run_on_commit, widget, queue, published):
    # spec: ROU-13 — queued, never offered; the queue's members' pages hear of it (live update)
    member = AgentProfileFactory(queues=[queue], reachable=True)
    outsider = AgentProfileFactory(reachable=True)
    conversation = run_on_commit(chat_start, widget)
    assert WorkItem.objects.get(conversation=conversation).status == "queued"
    assert run_on_commit(offers_dispatch) == 0
    assert not Offer.objects.exists()
    changed = [(group, event) for group, event in published if event["type"] == "queue.items_changed"]
    assert changed == [(agent_group(member.pk), {"type": "queue.items_changed", "queue": queue.pk})]
    assert all(group != agent_group(outsider.pk) for group, _ in published)


def test_an_agent_picks_an_open_item_and_gets_the_conversation(run_on_commit, widget, queue, published):
    # spec: ROU-13, ROU-6, ROU-7, CONV-3
    agent = AgentProfileFactory(queues=[queue])
    colleague = AgentProfileFactory(queues=[queue])
    conversation = run_on_commit(chat_start, widget)
    published.clear()
    work_item = run_on_commit(
        work_item_pick, work_item_id=WorkItem.objects.get(conversation=conversation).pk, agent=agent
    )
    assert (work_item.status, work_item.agent) == ("assigned", agent)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.agent) == ("active", agent)
    assert Session.objects.filter(agent=agent, conversation=conversation, closed_at__isnull=True).exists()
    agent.refresh_from_db()
    assert (agent.capacity_used, agent.session_count) == (25, 1)
    # the colleague's open-items list is told it went; a second pick is refused and changes nothing
    assert (agent_group(colleague.pk), {"type": "queue.items_changed", "queue": queue.pk}) in published
    with pytest.raises(RoutingError) as refused:
        work_item_pick(work_item_id=work_item.pk, agent=colleague)
    assert refused.value.code == "already_taken"
    assert "already taken" in refused.value.message
    colleague.refresh_from_db()
    assert (colleague.capacity_used, colleague.session_count) == (0, 0)


@pytest.mark.parametrize(
    "agent_fields, code",
    [
        ({"presence": "away"}, "presence_not_allowed"),
        ({"session_count": 10}, "max_sessions"),
        ({"capacity": 100, "capacity_used": 80}, "no_capacity"),
    ],
)
def test_a_pick_is_refused_without_room_and_changes_nothing(run_on_commit, widget, queue, agent_fields, code):
    # spec: ROU-13, ROU-1 (allowed presences), ROU-6 (capacity), ROU-7 (10 sessions)
    if "presence" in agent_fields:
        agent_fields = {**agent_fields, "presence": presence(agent_fields["presence"])}
    agent = AgentProfileFactory(queues=[queue], **agent_fields)
    work_item = WorkItem.objects.get(conversation=run_on_commit(chat_start, widget))
    with pytest.raises(RoutingError) as refused:
        work_item_pick(work_item_id=work_item.pk, agent=agent)
    assert refused.value.code == code
    assert WorkItem.objects.get(pk=work_item.pk).status == "queued"
    before = AgentProfile.objects.get(pk=agent.pk)
    assert (before.capacity_used, before.session_count) == (
        agent_fields.get("capacity_used", 0),
        agent_fields.get("session_count", 0),
    )


def test_pending_offers_count_against_the_room_for_a_pick(run_on_commit, widget, queue):
    # spec: ROU-13, ROU-7 — nine sessions and one pending push offer leave no slot to pick with
    push_queue = QueueFactory()
    agent = AgentProfileFactory(queues=[queue, push_queue], session_count=9, reachable=True)
    push = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=push_queue))
    run_on_commit(chat_start, push)
    assert Offer.objects.get(agent=agent).status == "pending"
    work_item = WorkItem.objects.get(conversation=run_on_commit(chat_start, widget))
    with pytest.raises(RoutingError) as refused:
        work_item_pick(work_item_id=work_item.pk, agent=agent)
    assert refused.value.code == "max_sessions"


def test_only_members_see_and_pick_a_queues_items_and_push_items_cannot_be_picked(run_on_commit, widget):
    # spec: ROU-13, SEC-1
    outsider = AgentProfileFactory()
    work_item = WorkItem.objects.get(conversation=run_on_commit(chat_start, widget))
    from core.errors import NotFound

    with pytest.raises(NotFound):
        work_item_pick(work_item_id=work_item.pk, agent=outsider)
    push_queue = QueueFactory()
    member = AgentProfileFactory(queues=[push_queue], presence=presence("away"))  # not offered meanwhile
    push_item = WorkItem.objects.get(
        conversation=run_on_commit(
            chat_start, ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=push_queue))
        )
    )
    with pytest.raises(RoutingError) as refused:
        work_item_pick(work_item_id=push_item.pk, agent=member)
    assert refused.value.code == "not_pickable"
    assert WorkItem.objects.get(pk=push_item.pk).status == "queued"


def test_the_open_items_page_lists_my_queues_items_escaped_and_picks(
    client, run_on_commit, widget, queue, django_assert_max_num_queries
):
    # spec: ROU-13, SEC-1, SEC-2 — reachable from the dashboard; bounded queries; one click takes it
    agent = AgentProfileFactory(queues=[queue])
    other_queue = QueueFactory()
    other = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=other_queue, distribution="pick"))
    mine = [
        run_on_commit(
            conversation_start,
            widget=widget,
            visitor=VisitorFactory(widget=widget),
        )
        for _ in range(3)
    ]
    Conversation.objects.filter(pk=mine[0].pk).update(prechat_answers={"name": "<b>Eve</b>"})
    run_on_commit(conversation_start, widget=other, visitor=VisitorFactory(widget=other))
    queue_item = WorkItemFactory(workstream=widget.workstream, queue=queue, case=CaseFactory(title="Broken <script>"))
    client.force_login(agent.user)
    assert OPEN_ITEMS in client.get(reverse("conversations:dashboard")).content.decode()
    with django_assert_max_num_queries(8):
        response = client.get(OPEN_ITEMS)
    html = response.content.decode()
    rows = response.context["items"]
    assert [row.work_item_id for row in rows] == [
        *WorkItem.objects.filter(conversation__in=mine).order_by("enqueued_at", "pk").values_list("pk", flat=True),
        queue_item.pk,
    ]
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve" not in html
    assert "Broken &lt;script&gt;" in html
    # the same number of queries for many more items
    for _ in range(10):
        run_on_commit(conversation_start, widget=widget, visitor=VisitorFactory(widget=widget))
    with django_assert_max_num_queries(8):
        assert len(client.get(OPEN_ITEMS).context["items"]) == 14
    picked = rows[1].work_item_id
    response = client.post(reverse("conversations:open_item_pick", args=[picked]))
    conversation = WorkItem.objects.get(pk=picked).conversation
    assert response["Location"] == reverse("conversations:conversation", args=[conversation.pk])
    assert Conversation.objects.get(pk=conversation.pk).agent == agent
    # picking it again: back to the list with the reason, nothing changed
    response = client.post(reverse("conversations:open_item_pick", args=[picked]), follow=True)
    assert "already taken" in response.content.decode()
    assert AgentProfile.objects.get(pk=agent.pk).session_count == 1
    assert client.get(reverse("conversations:open_item_pick", args=[picked])).status_code == 405


def test_an_item_that_goes_away_leaves_the_list(run_on_commit, widget, queue, published):
    # spec: ROU-13, LIVE-3 — the customer left before anyone picked it
    member = AgentProfileFactory(queues=[queue])
    conversation = run_on_commit(chat_start, widget)
    published.clear()
    run_on_commit(conversation_customer_end, conversation_id=conversation.pk)
    assert WorkItem.objects.get(conversation=conversation).status == "done"
    assert (agent_group(member.pk), {"type": "queue.items_changed", "queue": queue.pk}) in published
    from routing.selectors import open_items_for

    assert open_items_for(member) == []


def test_the_api_lists_my_open_items_and_picks_one(run_on_commit, widget, queue, django_assert_max_num_queries):
    # spec: ROU-13, API-1, SEC-1
    agent, colleague = AgentProfileFactory(queues=[queue]), AgentProfileFactory(queues=[queue])
    outsider = AgentProfileFactory()
    items = [WorkItem.objects.get(conversation=run_on_commit(chat_start, widget)) for _ in range(3)]
    api = token_client(agent.user)
    with django_assert_max_num_queries(6):
        response = api.get(f"{API}/work-items/open/")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [item.pk for item in items]
    assert body["results"][0]["queue"] == {"id": queue.pk, "name": "Returns"}
    assert body["results"][0]["channel"] == "chat"
    assert token_client(outsider.user).get(f"{API}/work-items/open/").json()["results"] == []

    response = api.post(f"{API}/work-items/{items[0].pk}/pick/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "assigned"
    assert response.json()["agent"] == {"id": agent.pk, "display_name": agent.display_name}
    again = token_client(colleague.user).post(f"{API}/work-items/{items[0].pk}/pick/")
    assert (again.status_code, again.json()["code"]) == (409, "already_taken")
    missing = token_client(outsider.user).post(f"{API}/work-items/{items[1].pk}/pick/")
    assert missing.status_code == 404
    assert APIClient().get(f"{API}/work-items/open/").status_code == 401
    assert [row["id"] for row in api.get(f"{API}/work-items/open/").json()["results"]] == [items[1].pk, items[2].pk]
