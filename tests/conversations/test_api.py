"""Conversations and messages through the developer API: who sees what, filters, resume (API-1, SEC-1, CONV-2)."""

from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api_helpers import token_client
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.customers.factories import ContactFactory
from tests.routing.factories import (
    AgentProfileFactory,
    QueueFactory,
    SkillFactory,
    SupervisorFactory,
    UserFactory,
    WorkstreamFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def sales():
    return WorkstreamFactory(default_queue=QueueFactory(name="Sales"))


@pytest.fixture
def billing():
    return WorkstreamFactory(default_queue=QueueFactory(name="Billing"))


@pytest.fixture
def sales_agent(sales):
    return AgentProfileFactory(queues=[sales.default_queue])


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- Who sees which conversation (SEC-1) -------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["conversations/", "conversations/1/", "conversations/1/messages/", "conversations/1/messages/?after=0"]
)
def test_anonymous_callers_get_401_with_a_json_detail(path):
    # spec: API-1 — token authentication
    ConversationFactory()
    response = APIClient().get(f"{API}/{path}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_an_agent_sees_the_conversations_of_their_queues_and_those_they_hold(sales, billing, sales_agent):
    # spec: SEC-1
    in_sales = ConversationFactory(workstream=sales)
    in_billing = ConversationFactory(workstream=billing)
    held_in_billing = ConversationFactory(workstream=billing, agent=sales_agent, status="active")
    api = token_client(sales_agent.user)
    assert sorted(ids(api.get(f"{API}/conversations/"))) == sorted([in_sales.pk, held_in_billing.pk])
    assert api.get(f"{API}/conversations/{in_sales.pk}/").json()["id"] == in_sales.pk
    assert api.get(f"{API}/conversations/{held_in_billing.pk}/").status_code == 200
    assert in_billing.pk not in ids(api.get(f"{API}/conversations/", {"queue": billing.default_queue.pk}))


def test_another_queues_conversation_and_its_messages_are_a_404_like_a_missing_one(sales, billing, sales_agent):
    # spec: SEC-1 — ids of other queues' conversations do not leak
    in_billing = ConversationFactory(workstream=billing)
    MessageFactory(conversation=in_billing, seq=1)
    api = token_client(sales_agent.user)
    hidden = api.get(f"{API}/conversations/{in_billing.pk}/")
    missing = api.get(f"{API}/conversations/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No such conversation.", "code": "not_found"}
    hidden_messages = api.get(f"{API}/conversations/{in_billing.pk}/messages/")
    assert hidden_messages.status_code == 404
    assert hidden_messages.json() == {"detail": "No such conversation.", "code": "not_found"}
    assert api.get(f"{API}/conversations/{in_billing.pk}/messages/", {"after": 0}).status_code == 404


def test_an_agent_reads_the_messages_of_their_own_queues_conversation(sales, sales_agent):
    # spec: SEC-1, API-1
    conversation = ConversationFactory(workstream=sales)
    MessageFactory(conversation=conversation, seq=1, text="Hello")
    response = token_client(sales_agent.user).get(f"{API}/conversations/{conversation.pk}/messages/")
    assert response.status_code == 200
    assert [(m["seq"], m["sender"], m["text"]) for m in response.json()["results"]] == [(1, "customer", "Hello")]


@pytest.mark.parametrize("who", ["supervisor", "admin", "admin agent"])
def test_supervisors_and_admins_see_every_conversation(sales, billing, who):
    # spec: SEC-1 — supervisors and admins see more
    everyone = [ConversationFactory(workstream=sales).pk, ConversationFactory(workstream=billing).pk]
    user = {
        "supervisor": lambda: SupervisorFactory().user,
        "admin": lambda: UserFactory(is_staff=True),
        "admin agent": lambda: AgentProfileFactory(user=UserFactory(is_staff=True)).user,
    }[who]()
    api = token_client(user)
    assert sorted(ids(api.get(f"{API}/conversations/"))) == sorted(everyone)
    for pk in everyone:
        assert api.get(f"{API}/conversations/{pk}/messages/").status_code == 200


def test_an_agent_in_no_queue_sees_no_conversation(sales):
    # spec: SEC-1
    ConversationFactory(workstream=sales)
    assert ids(token_client(AgentProfileFactory().user).get(f"{API}/conversations/")) == []


def test_a_user_with_no_agent_profile_gets_403(sales):
    # spec: SEC-1 — API tokens act with their user's rights
    conversation = ConversationFactory(workstream=sales)
    api = token_client(UserFactory())
    for path in ("conversations/", f"conversations/{conversation.pk}/", f"conversations/{conversation.pk}/messages/"):
        response = api.get(f"{API}/{path}")
        assert response.status_code == 403
        assert response.json() == {"detail": "Only agents, supervisors and admins may use this API."}


def test_a_conversation_id_that_is_not_a_number_is_a_404(sales_agent):
    # spec: REL-3
    response = token_client(sales_agent.user).get(f"{API}/conversations/abc/")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such conversation."


# --- What a conversation shows and how to find it (API-1) -------------------------------------


def test_a_conversation_shows_its_routing_customer_and_visitor_details(sales, sales_agent):
    # spec: API-1, SUM-6, SUM-11, CONV-3
    started = timezone.now() - timedelta(minutes=5)
    contact = ContactFactory()
    skill = SkillFactory(name="French")
    conversation = ConversationFactory(
        workstream=sales,
        agent=sales_agent,
        status="active",
        created_at=started,
        first_assigned_at=started + timedelta(seconds=90),
        contact=contact,
        prechat_answers={"topic": "refund"},
        context_variables={"plan": "gold"},
        language="fr",
        authenticated=True,
        browser="Firefox",
        operating_system="Linux",
    )
    conversation.skills.add(skill)
    body = token_client(sales_agent.user).get(f"{API}/conversations/{conversation.pk}/").json()
    assert body["channel"] == "live_chat"
    assert body["status"] == "active"
    assert body["queue"] == {"id": sales.default_queue.pk, "name": "Sales"}
    assert body["workstream"] == {"id": sales.pk, "name": sales.name}
    assert body["skills"] == [{"id": skill.pk, "name": "French"}]
    assert body["agent"] == {"id": sales_agent.pk, "display_name": sales_agent.display_name}
    assert body["wait_seconds"] == 90.0
    assert body["contact"] == contact.pk
    assert body["prechat_answers"] == {"topic": "refund"}
    assert body["context_variables"] == {"plan": "gold"}
    assert (body["language"], body["authenticated"], body["browser"], body["operating_system"]) == (
        "fr",
        True,
        "Firefox",
        "Linux",
    )
    assert body["created_at"] and body["first_assigned_at"]


def test_conversations_filter_by_status_channel_queue_agent_contact_and_start_time(sales, billing):
    # spec: API-1 — filters
    supervisor = SupervisorFactory()
    agent = AgentProfileFactory()
    contact = ContactFactory()
    now = timezone.now()
    old = ConversationFactory(workstream=sales, created_at=now - timedelta(days=3), contact=contact)
    sms = ConversationFactory(workstream=billing, channel="sms", created_at=now - timedelta(hours=1))
    held = ConversationFactory(workstream=billing, agent=agent, status="active", created_at=now)
    api = token_client(supervisor.user)

    def found(**query):
        return sorted(ids(api.get(f"{API}/conversations/", query)))

    assert found(status="active") == [held.pk]
    assert found(channel="sms") == [sms.pk]
    assert found(queue=billing.default_queue.pk) == sorted([sms.pk, held.pk])
    assert found(agent=agent.pk) == [held.pk]
    assert found(contact=contact.pk) == [old.pk]
    assert found(created_at_after=(now - timedelta(days=1)).isoformat()) == sorted([sms.pk, held.pk])
    assert found(created_at_before=(now - timedelta(days=1)).isoformat()) == [old.pk]
    assert found(
        created_at_after=(now - timedelta(hours=2)).isoformat(),
        created_at_before=(now - timedelta(minutes=30)).isoformat(),
    ) == [sms.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "gone"}, "status"), ({"queue": "Sales"}, "queue"), ({"created_at_after": "yesterday"}, "created_at")],
)
def test_a_bad_conversation_filter_is_a_400(sales_agent, query, field):
    # spec: REL-3
    response = token_client(sales_agent.user).get(f"{API}/conversations/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        # Python parses +21:58; PostgreSQL stores no offset past 15:59.
        ("2020-01-01T00:00:00+21:58", "Enter a UTC offset between -14:00 and +14:00."),
        ("2020-01-01T00:00:00+16:00", "Enter a UTC offset between -14:00 and +14:00."),
        ("2020-01-01T00:00:00-23:59", "Enter a UTC offset between -14:00 and +14:00."),
        ("0001-01-01T00:00:00+01:00", "Enter a date and time between the years 1 and 9999 (UTC)."),  # year 0 in UTC
        ("9999-12-31T23:59:59-05:00", "Enter a date and time between the years 1 and 9999 (UTC)."),  # year 10000
    ],
)
@pytest.mark.parametrize("bound", ["created_at_after", "created_at_before"])
@pytest.mark.embedded  # SQLite takes any offset; the same 400 there
def test_a_date_filter_the_database_cannot_store_is_a_400_not_a_500(sales_agent, bound, value, error):
    # spec: REL-3 — bad input gets a clear error, never a server error
    response = token_client(sales_agent.user).get(f"{API}/conversations/", {bound: value})
    assert response.status_code == 400
    assert response.json() == {"created_at": [error]}


def test_a_date_filter_with_an_offset_compares_the_same_instant_in_utc(sales):
    # spec: API-1 — filters (any real offset is the same instant as its UTC time)
    supervisor = SupervisorFactory()
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    conversation = ConversationFactory(workstream=sales, created_at=at)
    api = token_client(supervisor.user)
    just_before = "2026-03-02T01:59:00+14:00"  # 11:59 UTC
    just_after = "2026-03-01T00:01:00-12:00"  # 12:01 UTC
    assert ids(api.get(f"{API}/conversations/", {"created_at_after": just_before})) == [conversation.pk]
    assert ids(api.get(f"{API}/conversations/", {"created_at_after": just_after})) == []
    assert ids(api.get(f"{API}/conversations/", {"created_at_before": just_after})) == [conversation.pk]


# --- Messages: order, resume, pagination (CONV-2) ---------------------------------------------


def test_after_returns_only_later_messages_in_sequence_order(sales, sales_agent):
    # spec: CONV-2 — a client asks for everything after the last number it saw
    conversation = ConversationFactory(workstream=sales)
    for seq in (3, 1, 5, 2, 4):  # stored out of order on purpose
        MessageFactory(conversation=conversation, seq=seq, text=f"m{seq}")
    MessageFactory(conversation=ConversationFactory(workstream=sales), seq=4, text="another conversation")
    api = token_client(sales_agent.user)
    url = f"{API}/conversations/{conversation.pk}/messages/"
    assert [m["seq"] for m in api.get(url).json()["results"]] == [1, 2, 3, 4, 5]
    later = api.get(url, {"after": 2}).json()
    assert later["count"] == 3
    assert [(m["seq"], m["text"]) for m in later["results"]] == [(3, "m3"), (4, "m4"), (5, "m5")]
    assert api.get(url, {"after": 5}).json()["results"] == []


@pytest.mark.parametrize("after", ["-1", "two", "1.5"])
def test_a_bad_after_is_a_400(sales, sales_agent, after):
    # spec: REL-3
    conversation = ConversationFactory(workstream=sales)
    response = token_client(sales_agent.user).get(f"{API}/conversations/{conversation.pk}/messages/?after={after}")
    assert response.status_code == 400
    assert list(response.json()) == ["after"]


def test_messages_are_paginated_and_resume_across_pages(sales, sales_agent):
    # spec: CONV-2, API-1 — pagination
    conversation = ConversationFactory(workstream=sales)
    MessageFactory.create_batch(55, conversation=conversation, seq=factory.Iterator(range(1, 56)))
    api = token_client(sales_agent.user)
    first = api.get(f"{API}/conversations/{conversation.pk}/messages/").json()
    assert first["count"] == 55
    assert [m["seq"] for m in first["results"]] == list(range(1, 51))
    second = api.get(first["next"]).json()
    assert [m["seq"] for m in second["results"]] == list(range(51, 56))
    resumed = api.get(f"{API}/conversations/{conversation.pk}/messages/", {"after": 50}).json()
    assert [m["seq"] for m in resumed["results"]] == list(range(51, 56))


# --- Bounded queries --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_the_conversation_list_takes_a_bounded_number_of_queries(
    sales, sales_agent, django_assert_max_num_queries, count
):
    # spec: API-1, SUM-17 — bounded queries whatever the number of rows
    skills = [SkillFactory(), SkillFactory()]
    for _ in range(count):
        conversation = ConversationFactory(workstream=sales, agent=sales_agent, contact=ContactFactory())
        conversation.skills.set(skills)
    api = token_client(sales_agent.user)
    with django_assert_max_num_queries(6):  # token and user, agent profile, count, page, skills, tags
        response = api.get(f"{API}/conversations/")
    assert len(ids(response)) == count


@pytest.mark.parametrize("count", [3, 30])
def test_the_message_list_takes_a_bounded_number_of_queries(sales, sales_agent, django_assert_max_num_queries, count):
    # spec: API-1, CONV-2 — bounded queries whatever the number of rows
    conversation = ConversationFactory(workstream=sales)
    MessageFactory.create_batch(count, conversation=conversation, seq=factory.Iterator(range(1, count + 1)))
    api = token_client(sales_agent.user)
    with django_assert_max_num_queries(5):  # token and user, agent profile, conversation, count, page
        response = api.get(f"{API}/conversations/{conversation.pk}/messages/", {"after": 0})
    assert len(response.json()["results"]) == count


def test_ids_beyond_the_database_range_are_answered_not_crashed_on(sales_agent):
    # spec: REL-3 — bad input never produces a server error
    api = token_client(sales_agent.user)
    huge = "9" * 25
    assert api.get(f"{API}/conversations/{huge}/").status_code == 404
    assert api.get(f"{API}/conversations/{huge}/messages/").status_code == 404
    conversation = ConversationFactory(workstream=sales_agent.queues.get().default_for.get())
    too_late = api.get(f"{API}/conversations/{conversation.pk}/messages/", {"after": huge})
    assert too_late.status_code == 400
    assert list(too_late.json()) == ["after"]
    too_big = api.get(f"{API}/conversations/", {"queue": huge, "contact": huge})
    assert too_big.status_code == 400
    assert sorted(too_big.json()) == ["contact", "queue"]
