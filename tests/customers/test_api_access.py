"""Who reaches which customer record through the developer API (SEC-1).

An agent reaches a customer's contact, account, cases and notes through the conversations they
may see, as the customer summary shows them; every other record is a 404 like a missing one,
lists leave it out, and naming it in a body is a 400. Supervisors and admins reach every record.
"""

import pytest

from conversations.selectors import conversations_visible_to
from customers.models import Account, Case, Contact, Note
from customers.selectors import records_visible_to
from tests.api_helpers import ids, token_client
from tests.conversations.factories import ConversationFactory
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory
from tests.routing.factories import AgentProfileFactory, QueueFactory, SupervisorFactory, UserFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def world():
    """Sales' conversation links Ana (of Acme) and her case; Billing's links Bo, Beta and Bo's case."""
    sales = WorkstreamFactory(default_queue=QueueFactory(name="Sales"))
    billing = WorkstreamFactory(default_queue=QueueFactory(name="Billing"))
    acme, beta = AccountFactory(name="Acme"), AccountFactory(name="Beta")
    ana, bo = ContactFactory(first_name="Ana", account=acme), ContactFactory(first_name="Bo", account=beta)
    ana_case, bo_case = CaseFactory(contact=ana), CaseFactory(contact=bo)
    ana_older_case = CaseFactory(contact=ana)  # not linked, but one of Ana's recent cases (SUM-15)
    ConversationFactory(workstream=sales, contact=ana, account=acme, case=ana_case)
    ConversationFactory(workstream=billing, contact=bo, account=beta, case=bo_case)
    notes = {
        name: NoteFactory(author=None, **{"contact": None, "account": None, "case": None, kind: record})
        for name, kind, record in [
            ("ana", "contact", ana),
            ("acme", "account", acme),
            ("ana_case", "case", ana_case),
            ("ana_older_case", "case", ana_older_case),
            ("bo", "contact", bo),
            ("beta", "account", beta),
            ("bo_case", "case", bo_case),
        ]
    }
    return {
        "sales": sales,
        "billing": billing,
        "acme": acme,
        "beta": beta,
        "ana": ana,
        "bo": bo,
        "ana_case": ana_case,
        "ana_older_case": ana_older_case,
        "bo_case": bo_case,
        "notes": notes,
        "agent": AgentProfileFactory(queues=[sales.default_queue]),
    }


@pytest.mark.embedded
def test_an_agent_lists_only_the_records_of_conversations_they_may_see(world):
    # spec: SEC-1 — agents reach customer records through the conversations they may see
    api = token_client(world["agent"].user)
    notes = world["notes"]
    assert ids(api.get(f"{API}/contacts/")) == [world["ana"].pk]
    assert ids(api.get(f"{API}/accounts/")) == [world["acme"].pk]
    assert ids(api.get(f"{API}/cases/")) == sorted([world["ana_case"].pk, world["ana_older_case"].pk])
    assert ids(api.get(f"{API}/notes/")) == sorted(
        notes[name].pk for name in ("ana", "acme", "ana_case", "ana_older_case")
    )
    # A filter naming someone else's record finds nothing rather than their rows.
    assert ids(api.get(f"{API}/cases/", {"contact": world["bo"].pk})) == []
    assert ids(api.get(f"{API}/notes/", {"account": world["beta"].pk})) == []


@pytest.mark.parametrize(
    ("kind", "record"),
    [("contacts", "bo"), ("accounts", "beta"), ("cases", "bo_case")],
)
def test_another_queues_record_is_a_404_to_read_and_to_write_and_changes_nothing(world, kind, record):
    # spec: SEC-1 — a record not reached through a conversation of the agent's queues
    api = token_client(world["agent"].user)
    target = world[record]
    before = type(target).objects.values().get(pk=target.pk)
    url = f"{API}/{kind}/{target.pk}/"
    answers = [
        api.get(url),
        api.patch(url, {"city": "Nowhere"} if kind != "cases" else {"title": "Taken"}, format="json"),
        api.put(url, {"last_name": "X", "name": "X", "title": "X", "contact": None}, format="json"),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert all(set(answer.json()) == {"detail"} for answer in answers)
    assert type(target).objects.values().get(pk=target.pk) == before


def test_another_queues_note_is_a_404_to_read_edit_and_delete_even_for_its_author(world):
    # spec: SEC-1 — the author lost sight of the conversation: the note goes with it
    note = world["notes"]["bo"]
    note.author = world["agent"].user
    note.save(update_fields=["author"])
    api = token_client(world["agent"].user)
    url = f"{API}/notes/{note.pk}/"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"text": "Rewritten."}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    note.refresh_from_db()
    assert note.text == "Called back about the delivery."


def test_an_agent_reads_and_writes_the_records_they_reach(world):
    # spec: SEC-1 — what the summary shows, the API reaches
    api = token_client(world["agent"].user)
    assert api.get(f"{API}/contacts/{world['ana'].pk}/").status_code == 200
    assert api.patch(f"{API}/accounts/{world['acme'].pk}/", {"city": "Paris"}, format="json").status_code == 200
    assert api.get(f"{API}/cases/{world['ana_older_case'].pk}/").status_code == 200
    note = api.post(f"{API}/notes/", {"text": "Prefers email.", "case": world["ana_case"].pk}, format="json")
    assert note.status_code == 201
    assert api.get(f"{API}/notes/{note.json()['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("notes", {"text": "Hi", "contact": "bo"}, "contact"),
        ("notes", {"text": "Hi", "case": "bo_case"}, "case"),
        ("cases", {"title": "Refund", "contact": "bo"}, "contact"),
        ("cases", {"title": "Refund", "account": "beta"}, "account"),
        ("contacts", {"last_name": "New", "account": "beta"}, "account"),
        ("accounts", {"name": "New", "primary_contact": "bo"}, "primary_contact"),
    ],
)
def test_naming_a_record_the_agent_does_not_reach_is_a_400_and_stores_nothing(world, kind, payload, field):
    # spec: SEC-1, REL-3 — no write onto someone else's customer, no hint that the record exists
    api = token_client(world["agent"].user)
    counts = [model.objects.count() for model in (Contact, Account, Case, Note)]
    body = {key: (world[value].pk if key == field else value) for key, value in payload.items()}
    response = api.post(f"{API}/{kind}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [f'Invalid pk "{world[payload[field]].pk}" - object does not exist.']}
    assert [model.objects.count() for model in (Contact, Account, Case, Note)] == counts


def test_an_agent_keeps_the_records_of_a_conversation_they_hold_in_another_queue(world):
    # spec: SEC-1 — conversations they hold, wherever those sit now
    ConversationFactory(workstream=world["billing"], agent=world["agent"], status="active", contact=world["bo"])
    api = token_client(world["agent"].user)
    assert ids(api.get(f"{API}/contacts/")) == sorted([world["ana"].pk, world["bo"].pk])
    assert api.get(f"{API}/cases/{world['bo_case'].pk}/").status_code == 200


def test_an_agent_in_no_queue_reaches_no_record(world):
    # spec: SEC-1
    api = token_client(AgentProfileFactory().user)
    for kind in ("contacts", "accounts", "cases", "notes"):
        assert ids(api.get(f"{API}/{kind}/")) == []


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_and_admins_reach_every_record(world, who):
    # spec: SEC-1 — supervisors and admins more
    user = SupervisorFactory().user if who == "supervisor" else UserFactory(is_staff=True)
    api = token_client(user)
    assert len(ids(api.get(f"{API}/contacts/"))) == 2
    assert len(ids(api.get(f"{API}/accounts/"))) == 2
    assert len(ids(api.get(f"{API}/cases/"))) == 3
    assert len(ids(api.get(f"{API}/notes/"))) == 7
    assert api.get(f"{API}/contacts/{world['bo'].pk}/").status_code == 200


@pytest.mark.parametrize("kind", ["contacts", "accounts", "cases", "notes"])
def test_an_agents_record_list_takes_a_bounded_number_of_queries(world, django_assert_max_num_queries, kind):
    # spec: SEC-1 — the rule is subqueries, not a query per conversation
    for _ in range(10):
        contact = ContactFactory()
        ConversationFactory(workstream=world["sales"], contact=contact, account=AccountFactory(), case=CaseFactory())
        NoteFactory(contact=contact)
    api = token_client(world["agent"].user)
    with django_assert_max_num_queries(8):
        response = api.get(f"{API}/{kind}/")
    assert response.status_code == 200
    assert response.json()["count"] >= 10


def test_the_records_an_agent_reaches_are_those_of_the_conversations_they_may_see(world):
    """customers reads the conversations backwards from the records (it sits below conversations),
    so its condition is held here to the conversations app's own SEC-1 rule, case by case: a
    queue member, the agent holding a conversation moved to another queue, and an agent of
    neither."""
    transferred = ConversationFactory(
        workstream=world["billing"], queue=world["billing"].default_queue, contact=ContactFactory(first_name="Cy")
    )
    holder = AgentProfileFactory(queues=[])
    transferred.agent = holder
    transferred.save(update_fields=["agent"])
    stranger = AgentProfileFactory(queues=[QueueFactory(name="Nobody's")])
    for agent in (world["agent"], holder, stranger):
        visible = conversations_visible_to(agent.user)
        expected = set(visible.filter(contact__isnull=False).values_list("contact_id", flat=True))
        assert set(records_visible_to(agent.user, Contact.objects.all()).values_list("pk", flat=True)) == expected
        expected = set(visible.filter(account__isnull=False).values_list("account_id", flat=True))
        assert set(records_visible_to(agent.user, Account.objects.all()).values_list("pk", flat=True)) == expected
    assert records_visible_to(holder.user, Contact.objects.all()).get() == transferred.contact
    assert not records_visible_to(stranger.user, Contact.objects.all()).exists()
