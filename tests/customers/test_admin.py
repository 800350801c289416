"""Admin center for customer records: contacts, accounts, cases, notes (ADM-1, SUM-3, SUM-14)."""

import pytest
from django.urls import reverse

from customers.models import Account, Case, Contact, Note
from tests.admin_helpers import add_inline_rows, admin_form_data, field_errors, inline_prefix
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory

pytestmark = pytest.mark.django_db


def _several_rows():
    for _ in range(5):  # one query a row would break the bounds
        account = AccountFactory()
        contact = ContactFactory(account=account)
        account.primary_contact = contact
        account.save()
        case = CaseFactory(contact=contact, account=account)
        NoteFactory(contact=contact)
        NoteFactory(contact=None, case=case)


@pytest.mark.parametrize("model, queries", [("contact", 8), ("account", 7), ("case", 8), ("note", 8)])
def test_every_changelist_answers_with_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, model, queries
):
    # spec: ADM-1
    _several_rows()
    url = reverse(f"admin:customers_{model}_changelist")
    with django_assert_max_num_queries(queries):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert admin_client.get(url, {"q": "Account"}).status_code == 200


@pytest.mark.parametrize("model", ["contact", "account", "case", "note"])
def test_every_add_and_change_page_answers(admin_client, model):
    # spec: ADM-1
    _several_rows()
    record = {"contact": Contact, "account": Account, "case": Case, "note": Note}[model].objects.first()
    assert admin_client.get(reverse(f"admin:customers_{model}_add")).status_code == 200
    assert admin_client.get(reverse(f"admin:customers_{model}_change", args=[record.pk])).status_code == 200


# --- Contacts -------------------------------------------------------------------------------


def test_contacts_are_found_by_name_email_or_phone_in_any_spelling(admin_client):
    # spec: SUM-4, SMS-2, ADM-1
    maria = ContactFactory(
        first_name="Maria", last_name="Lopez", email="maria@example.com", mobile_phone="+14155550123"
    )
    ContactFactory(first_name="Jean", last_name="Martin", mobile_phone="+14155550999")
    url = reverse("admin:customers_contact_changelist")
    for term in ("Lopez", "maria@example", "+14155550123", "(415) 555-0123"):
        results = list(admin_client.get(url, {"q": term}).context["cl"].result_list)
        assert results == [maria], term


def test_contacts_filter_by_account_and_country(admin_client):
    # spec: ADM-1
    account = AccountFactory(name="Acme")
    acme = ContactFactory(account=account, country="France")
    ContactFactory(country="Spain")
    url = reverse("admin:customers_contact_changelist")
    assert list(admin_client.get(url, {"account__id__exact": account.pk}).context["cl"].result_list) == [acme]
    assert list(admin_client.get(url, {"country": "France"}).context["cl"].result_list) == [acme]


def test_a_contact_phone_is_stored_in_international_form_and_a_bad_one_is_refused(admin_client):
    # spec: SMS-2, ADM-1
    data = admin_form_data(admin_client.get(reverse("admin:customers_contact_add")))
    data.update({"first_name": "Maria", "last_name": "Lopez", "mobile_phone": "not a phone"})
    response = admin_client.post(reverse("admin:customers_contact_add"), data)
    assert field_errors(response, "mobile_phone") == ["Enter a valid phone number, e.g. +14155550123."]
    assert not Contact.objects.exists()

    data["mobile_phone"] = "(415) 555-0123"
    assert admin_client.post(reverse("admin:customers_contact_add"), data).status_code == 302
    assert Contact.objects.get().mobile_phone == "+14155550123"


def test_a_note_written_on_a_contact_records_its_author(admin_client, admin_user):
    # spec: SUM-16
    contact = ContactFactory()
    url = reverse("admin:customers_contact_change", args=[contact.pk])
    response = admin_client.get(url)
    data = add_inline_rows(admin_form_data(response), inline_prefix(response, Note), [{"text": "Prefers email."}])
    assert admin_client.post(url, data).status_code == 302
    note = contact.notes.get()
    assert (note.text, note.author, note.account, note.case) == ("Prefers email.", admin_user, None, None)


# --- Accounts -------------------------------------------------------------------------------


def test_an_account_page_lists_its_contacts_inline(admin_client):
    # spec: SUM-3
    account = AccountFactory(name="Acme")
    ContactFactory(account=account, last_name="Lopez")
    url = reverse("admin:customers_account_change", args=[account.pk])
    response = admin_client.get(url)
    assert "Lopez" in response.content.decode()
    data = add_inline_rows(
        admin_form_data(response), inline_prefix(response, Contact), [{"first_name": "Jean", "last_name": "Martin"}]
    )
    assert admin_client.post(url, data).status_code == 302
    assert sorted(account.contacts.values_list("last_name", flat=True)) == ["Lopez", "Martin"]


# --- Cases ----------------------------------------------------------------------------------


def test_a_case_needs_a_contact_or_an_account(admin_client):
    # spec: SUM-14, ADM-1
    data = admin_form_data(admin_client.get(reverse("admin:customers_case_add")))
    data.update({"title": "Broken blender"})
    response = admin_client.post(reverse("admin:customers_case_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["A case belongs to a contact or an account."]
    assert not Case.objects.exists()


def test_a_case_is_created_with_a_note_and_resolving_it_stamps_the_time(admin_client, admin_user):
    # spec: SUM-14, REC-1
    contact = ContactFactory()
    response = admin_client.get(reverse("admin:customers_case_add"))
    data = admin_form_data(response)
    data.update({"title": "Broken blender", "contact": str(contact.pk), "priority": "high", "origin": "phone"})
    add_inline_rows(data, inline_prefix(response, Note), [{"text": "Customer sent photos."}])
    assert admin_client.post(reverse("admin:customers_case_add"), data).status_code == 302
    case = Case.objects.get()
    assert (case.title, case.contact, case.status, case.priority, case.resolved_at) == (
        "Broken blender",
        contact,
        "active",
        "high",
        None,
    )
    assert [(note.text, note.author) for note in case.notes.all()] == [("Customer sent photos.", admin_user)]

    url = reverse("admin:customers_case_change", args=[case.pk])
    data = admin_form_data(admin_client.get(url))
    data["status"] = "resolved"
    assert admin_client.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.resolved_at is not None


def test_cases_filter_by_status_priority_and_origin(admin_client):
    # spec: SUM-15, ADM-1
    urgent = CaseFactory(priority="high", origin="chat")
    CaseFactory(priority="low", origin="email", status="cancelled")
    url = reverse("admin:customers_case_changelist")
    for query in ({"priority__exact": "high"}, {"origin__exact": "chat"}, {"status__exact": "active"}):
        assert list(admin_client.get(url, query).context["cl"].result_list) == [urgent], query


# --- Notes ----------------------------------------------------------------------------------


def test_a_note_on_two_records_is_refused(admin_client):
    # spec: SUM-16, ADM-1
    data = admin_form_data(admin_client.get(reverse("admin:customers_note_add")))
    data.update({"text": "Hello", "contact": str(ContactFactory().pk), "account": str(AccountFactory().pk)})
    response = admin_client.post(reverse("admin:customers_note_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "A note belongs to exactly one contact, account or case."
    ]
    assert not Note.objects.exists()
