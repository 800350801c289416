"""Contacts, accounts, cases and notes through the developer API (API-1, SEC-1, REL-3)."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Account, Case, Contact, Note
from tests.api_helpers import token_client
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory
from tests.routing.factories import AgentProfileFactory, SupervisorFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def agent():
    """A supervisor: they reach every customer record, so these tests are about the records
    themselves; what a plain agent reaches is in test_api_access.py (SEC-1)."""
    return SupervisorFactory()


@pytest.fixture
def api(agent):
    return token_client(agent.user)


def rows(*models):
    return tuple(model.objects.count() for model in models)


# --- Authentication and who may use the records -----------------------------------------------


def test_a_token_acts_for_its_user_and_a_wrong_token_is_refused(agent):
    # spec: API-1 — token authentication
    contact = ContactFactory()
    ok = token_client(agent.user).get(f"{API}/contacts/")
    assert ok.status_code == 200
    assert [row["id"] for row in ok.json()["results"]] == [contact.pk]

    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    refused = wrong.get(f"{API}/contacts/")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize("path", ["contacts", "accounts", "cases", "notes"])
def test_anonymous_callers_get_401_with_a_json_detail(path):
    # spec: API-1 — token authentication
    response = APIClient().get(f"{API}/{path}/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_a_user_who_is_neither_agent_nor_admin_gets_403_and_creates_nothing():
    # spec: SEC-1 — API tokens act with their user's rights
    client = token_client(UserFactory())
    assert client.get(f"{API}/contacts/").status_code == 403
    response = client.post(f"{API}/contacts/", {"last_name": "Nguyen"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only agents, supervisors and admins may use this API."}
    assert not Contact.objects.exists()


def test_an_admin_without_an_agent_profile_may_use_the_records():
    # spec: SEC-1 — admins see more
    ContactFactory()
    response = token_client(UserFactory(is_staff=True)).get(f"{API}/contacts/")
    assert response.status_code == 200
    assert response.json()["count"] == 1


# --- Contacts ---------------------------------------------------------------------------------


def test_creating_a_contact_stores_phones_in_e164_and_the_email_in_lower_case(api):
    # spec: API-1, SMS-2
    account = AccountFactory(name="Contoso")
    response = api.post(
        f"{API}/contacts/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "Ada@Example.COM",
            "mobile_phone": "(415) 555-0123",
            "business_phone": "+33 4 72 00 00 00",
            "account": account.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    contact = Contact.objects.get()
    assert (contact.email, contact.mobile_phone, contact.business_phone) == (
        "ada@example.com",
        "+14155550123",
        "+33472000000",
    )
    body = response.json()
    assert body["id"] == contact.pk
    assert body["full_name"] == "Ada Lovelace"
    assert body["mobile_phone"] == "+14155550123"
    assert body["account"] == {"id": account.pk, "name": "Contoso"}
    assert body["auth_subject"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"last_name": "Lovelace", "email": "not-an-email"}, "email"),
        ({"last_name": "Lovelace", "mobile_phone": "12"}, "mobile_phone"),
        ({"last_name": "Lovelace", "business_phone": "call me maybe"}, "business_phone"),
        ({"first_name": "Ada"}, "last_name"),
        ({"last_name": ["Lovelace"]}, "last_name"),
        ({"last_name": "Lovelace", "account": "Contoso"}, "account"),
        ({"last_name": "Lovelace", "account": 999_999}, "account"),
        ({"last_name": "Lovelace", "preferred_language": "tlh"}, "preferred_language"),
        ({"last_name": "Lovelace", "nickname": "Ada"}, "nickname"),
    ],
)
def test_bad_contact_input_is_a_400_on_the_field_and_stores_nothing(api, payload, field):
    # spec: REL-3, API-1
    response = api.post(f"{API}/contacts/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert response.json()[field]
    assert not Contact.objects.exists()


def test_an_unknown_field_is_named_in_the_error(api):
    # spec: REL-3
    response = api.post(f"{API}/contacts/", {"last_name": "Lovelace", "nickname": "Ada"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"nickname": ["Unknown field."]}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"last_name": "Lovelace"', "application/json"), ("last_name=Lovelace", "application/json")],
)
def test_a_body_that_is_not_json_is_a_400_and_stores_nothing(api, body, content_type):
    # spec: REL-3
    response = api.post(f"{API}/contacts/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert not Contact.objects.exists()


def test_a_json_list_instead_of_an_object_is_a_400(api):
    # spec: REL-3
    response = api.post(f"{API}/contacts/", [{"last_name": "Lovelace"}], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not Contact.objects.exists()


def test_a_second_contact_with_the_same_token_subject_is_refused(api):
    # spec: REL-3, AUTH-2 — the verified subject identifies one contact
    ContactFactory(auth_subject="user-42")
    response = api.post(f"{API}/contacts/", {"last_name": "Twin", "auth_subject": "user-42"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["auth_subject"]
    assert Contact.objects.count() == 1


def test_patching_a_contact_changes_only_what_is_sent(api):
    # spec: API-1
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", city="London")
    response = api.patch(f"{API}/contacts/{contact.pk}/", {"mobile_phone": "415-555-0199"}, format="json")
    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert (contact.mobile_phone, contact.first_name, contact.city) == ("+14155550199", "Ada", "London")


def test_a_bad_phone_on_update_is_a_400_and_leaves_the_contact_as_it_was(api):
    # spec: REL-3
    contact = ContactFactory(mobile_phone="+14155550100", email="ada@example.com")
    before = Contact.objects.values().get(pk=contact.pk)
    response = api.patch(
        f"{API}/contacts/{contact.pk}/", {"mobile_phone": "nope", "email": "new@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["mobile_phone"]
    assert Contact.objects.values().get(pk=contact.pk) == before


def test_put_replaces_the_contact_and_clears_what_is_left_out(api):
    # spec: API-1
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", city="London", account=AccountFactory())
    response = api.put(f"{API}/contacts/{contact.pk}/", {"last_name": "Byron"}, format="json")
    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.city, contact.account_id) == ("", "Byron", "", None)


def test_put_without_the_required_last_name_is_a_400(api):
    # spec: REL-3
    contact = ContactFactory(last_name="Lovelace")
    response = api.put(f"{API}/contacts/{contact.pk}/", {"first_name": "Ada"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["last_name"]
    contact.refresh_from_db()
    assert contact.last_name == "Lovelace"


def test_an_unknown_contact_is_a_404_with_a_json_detail(api):
    # spec: REL-3
    for path in (f"{API}/contacts/999999/", f"{API}/contacts/not-a-number/"):
        response = api.get(path)
        assert response.status_code == 404
        assert "detail" in response.json()
    assert api.patch(f"{API}/contacts/999999/", {"city": "Paris"}, format="json").status_code == 404


@pytest.mark.parametrize("kind", ["contacts", "accounts", "cases", "notes"])
def test_ids_beyond_the_database_range_are_answered_not_crashed_on(api, kind):
    # spec: REL-3 — bad input never produces a server error
    huge = "9" * 25
    assert api.get(f"{API}/{kind}/{huge}/").status_code == 404
    assert api.patch(f"{API}/{kind}/{huge}/", {}, format="json").status_code == 404
    filtered = api.get(f"{API}/{kind}/", {"account": huge} if kind != "accounts" else {"primary_contact": huge})
    assert filtered.status_code == 400


def test_contacts_filter_by_email_ignoring_case_and_by_phone_in_any_notation(api):
    # spec: API-1 — filters
    account = AccountFactory()
    ada = ContactFactory(email="ada@example.com", mobile_phone="+14155550123", account=account)
    ContactFactory(email="grace@example.com", mobile_phone="+14155550124")

    def ids(query):
        response = api.get(f"{API}/contacts/", query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids({"email": "ADA@example.com"}) == [ada.pk]
    assert ids({"mobile_phone": "(415) 555-0123"}) == [ada.pk]
    assert ids({"mobile_phone": "+1 415 555 0123"}) == [ada.pk]
    assert ids({"account": account.pk}) == [ada.pk]
    assert ids({"search": "grace"}) == [Contact.objects.get(email="grace@example.com").pk]


def test_a_contact_filter_that_is_not_a_phone_or_not_an_id_is_a_400(api):
    # spec: REL-3
    ContactFactory()
    bad_phone = api.get(f"{API}/contacts/", {"mobile_phone": "abc"})
    assert bad_phone.status_code == 400
    assert list(bad_phone.json()) == ["mobile_phone"]
    bad_account = api.get(f"{API}/contacts/", {"account": "Contoso"})
    assert bad_account.status_code == 400
    assert list(bad_account.json()) == ["account"]


def test_contacts_are_paginated_and_ordered_on_request(api):
    # spec: API-1 — pagination
    ContactFactory.create_batch(3)
    ContactFactory(last_name="Aaronson")
    first = api.get(f"{API}/contacts/", {"ordering": "last_name"}).json()
    assert first["count"] == 4
    assert first["next"] is None
    assert first["results"][0]["last_name"] == "Aaronson"
    assert api.get(f"{API}/contacts/", {"page": 2}).status_code == 404


# --- Accounts ---------------------------------------------------------------------------------


def test_creating_and_updating_an_account(api):
    # spec: API-1
    primary = ContactFactory(first_name="Ada", last_name="Lovelace")
    created = api.post(
        f"{API}/accounts/",
        {"name": "Contoso", "main_phone": "04 72 00 00 00", "primary_contact": primary.pk},
        format="json",
    )
    # A number without a country code is read as a US number (the default region); this one is not one.
    assert created.status_code == 400
    assert list(created.json()) == ["main_phone"]
    assert not Account.objects.exists()

    created = api.post(
        f"{API}/accounts/",
        {"name": "Contoso", "main_phone": "+33 4 72 00 00 00", "primary_contact": primary.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    account = Account.objects.get()
    assert account.main_phone == "+33472000000"
    assert created.json()["primary_contact"] == {"id": primary.pk, "name": "Ada Lovelace"}

    updated = api.patch(f"{API}/accounts/{account.pk}/", {"website": "not a url"}, format="json")
    assert updated.status_code == 400
    assert list(updated.json()) == ["website"]
    updated = api.patch(f"{API}/accounts/{account.pk}/", {"website": "https://contoso.example"}, format="json")
    assert updated.status_code == 200
    account.refresh_from_db()
    assert account.website == "https://contoso.example"


def test_accounts_filter_and_search(api):
    # spec: API-1 — filters
    contoso = AccountFactory(name="Contoso", email="info@contoso.example")
    AccountFactory(name="Fabrikam")
    assert [a["id"] for a in api.get(f"{API}/accounts/", {"search": "conto"}).json()["results"]] == [contoso.pk]
    assert [a["id"] for a in api.get(f"{API}/accounts/", {"email": "INFO@contoso.example"}).json()["results"]] == [
        contoso.pk
    ]


# --- Cases ------------------------------------------------------------------------------------


def test_a_case_needs_a_contact_or_an_account(api):
    # spec: REL-3, SUM-14
    response = api.post(f"{API}/cases/", {"title": "Parcel lost"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["A case belongs to a contact or an account."]}
    assert not Case.objects.exists()


def test_creating_a_case_for_a_contact(api, agent):
    # spec: API-1, SUM-14
    contact = ContactFactory(first_name="Ada", last_name="Lovelace")
    response = api.post(
        f"{API}/cases/",
        {"title": "Parcel lost", "contact": contact.pk, "priority": "high", "owner": agent.user.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    case = Case.objects.get()
    assert (case.contact, case.account, case.priority, case.status, case.owner) == (
        contact,
        None,
        "high",
        "active",
        agent.user,
    )
    body = response.json()
    assert body["number"] == f"CAS-{case.pk:06d}"
    assert body["contact"] == {"id": contact.pk, "name": "Ada Lovelace"}
    assert body["resolved_at"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": 3}, "priority"),
        ({"title": ""}, "title"),
        ({"contact": None}, "non_field_errors"),
        ({"owner": 999_999}, "owner"),
    ],
)
def test_bad_case_updates_are_a_400_and_change_nothing(api, payload, field):
    # spec: REL-3
    case = CaseFactory(title="Parcel lost")
    before = Case.objects.values().get(pk=case.pk)
    response = api.patch(f"{API}/cases/{case.pk}/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Case.objects.values().get(pk=case.pk) == before


def test_resolving_a_case_stamps_when_and_reopening_it_clears_the_stamp(api):
    # spec: API-1
    case = CaseFactory()
    resolved = api.patch(f"{API}/cases/{case.pk}/", {"status": "resolved"}, format="json")
    assert resolved.status_code == 200
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.resolved_at is not None
    assert case.resolved_at <= timezone.now()
    reopened = api.patch(f"{API}/cases/{case.pk}/", {"status": "active"}, format="json")
    assert reopened.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == ("active", None)


def test_cases_filter_by_status_contact_and_account(api):
    # spec: API-1 — filters
    contact, account = ContactFactory(), AccountFactory()
    mine = CaseFactory(contact=contact)
    resolved = CaseFactory(contact=contact, status="resolved")
    on_account = CaseFactory(contact=None, account=account)

    def ids(query):
        response = api.get(f"{API}/cases/", query)
        assert response.status_code == 200, response.json()
        return sorted(row["id"] for row in response.json()["results"])

    assert ids({"contact": contact.pk}) == sorted([mine.pk, resolved.pk])
    assert ids({"contact": contact.pk, "status": "active"}) == [mine.pk]
    assert ids({"account": account.pk}) == [on_account.pk]
    assert api.get(f"{API}/cases/", {"status": "done"}).status_code == 400


# --- Notes ------------------------------------------------------------------------------------


def test_a_note_is_written_by_the_caller_on_one_record(api, agent):
    # spec: API-1, SUM-16
    case = CaseFactory()
    response = api.post(f"{API}/notes/", {"text": "Called back.", "case": case.pk}, format="json")
    assert response.status_code == 201, response.json()
    note = Note.objects.get()
    assert (note.text, note.case, note.contact, note.author) == ("Called back.", case, None, agent.user)
    assert response.json()["author"] == {"id": agent.user.pk, "username": agent.user.username}


@pytest.mark.parametrize("records", [("contact", "account"), ("contact", "case"), ()])
def test_a_note_on_two_records_or_none_is_a_400_and_stores_nothing(api, records):
    # spec: REL-3
    targets = {"contact": ContactFactory().pk, "account": AccountFactory().pk, "case": CaseFactory().pk}
    payload = {"text": "Called back.", **{name: targets[name] for name in records}}
    response = api.post(f"{API}/notes/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["A note belongs to exactly one contact, account or case."]}
    assert not Note.objects.exists()


def test_a_note_cannot_be_moved_to_another_record(api, agent):
    # spec: REL-3 — only the text of a note changes
    note = NoteFactory(author=agent.user)
    response = api.patch(f"{API}/notes/{note.pk}/", {"account": AccountFactory().pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"account": ["Unknown field."]}
    note.refresh_from_db()
    assert note.account_id is None


def test_the_author_edits_and_deletes_their_note(api, agent):
    # spec: API-1
    note = NoteFactory(author=agent.user, text="Called back.")
    edited = api.patch(f"{API}/notes/{note.pk}/", {"text": "Called back twice."}, format="json")
    assert edited.status_code == 200
    note.refresh_from_db()
    assert note.text == "Called back twice."
    deleted = api.delete(f"{API}/notes/{note.pk}/")
    assert deleted.status_code == 204
    assert not Note.objects.exists()


def test_another_agent_reads_but_cannot_edit_or_delete_a_note():
    # spec: SEC-1 — a note is changed only by its author or an admin
    note = NoteFactory(author=AgentProfileFactory().user, text="Called back.")
    other = token_client(SupervisorFactory().user)  # reaches every note (SEC-1)
    assert other.get(f"{API}/notes/{note.pk}/").status_code == 200
    edit = other.patch(f"{API}/notes/{note.pk}/", {"text": "Rewritten."}, format="json")
    assert edit.status_code == 403
    assert edit.json() == {"detail": "Only the note's author or an admin can change or delete it."}
    assert other.delete(f"{API}/notes/{note.pk}/").status_code == 403
    note.refresh_from_db()
    assert note.text == "Called back."


def test_an_admin_deletes_anyones_note():
    # spec: SEC-1 — admins see and do more
    note = NoteFactory(author=AgentProfileFactory().user)
    response = token_client(UserFactory(is_staff=True)).delete(f"{API}/notes/{note.pk}/")
    assert response.status_code == 204
    assert not Note.objects.exists()


def test_notes_filter_by_record(api):
    # spec: API-1 — filters
    contact, account, case = ContactFactory(), AccountFactory(), CaseFactory()
    on_contact = NoteFactory(contact=contact)
    on_account = NoteFactory(contact=None, account=account)
    on_case = NoteFactory(contact=None, case=case)
    for query, expected in (({"contact": contact.pk}, on_contact), ({"account": account.pk}, on_account)):
        assert [n["id"] for n in api.get(f"{API}/notes/", query).json()["results"]] == [expected.pk]
    assert [n["id"] for n in api.get(f"{API}/notes/", {"case": case.pk}).json()["results"]] == [on_case.pk]


# --- Bounded queries --------------------------------------------------------------------------


def _make(kind: str, count: int) -> None:
    if kind == "contacts":
        ContactFactory.create_batch(count, account=AccountFactory())
    elif kind == "accounts":
        AccountFactory.create_batch(count, primary_contact=ContactFactory())
    elif kind == "cases":
        CaseFactory.create_batch(count, account=AccountFactory(), owner=UserFactory())
    else:
        author, case = UserFactory(), CaseFactory()
        for index in range(count):
            NoteFactory(author=author, **({"contact": None, "case": case} if index % 2 else {}))


@pytest.mark.parametrize("count", [3, 30])
@pytest.mark.parametrize("kind", ["contacts", "accounts", "cases", "notes"])
def test_record_lists_take_a_bounded_number_of_queries(api, django_assert_max_num_queries, kind, count):
    # spec: API-1, SUM-17 — bounded queries whatever the number of rows
    _make(kind, count)
    with django_assert_max_num_queries(4):  # token and user, agent profile, count, page
        response = api.get(f"{API}/{kind}/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == response.json()["count"] >= count
