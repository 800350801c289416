"""Every write of customer records: contacts, accounts, cases and notes.

A conversation's links to these records (the customer summary's workflows) are the
conversations app's: ``conversations.customer_links`` calls these services for the records.

Each write runs the model's ``full_clean()`` before saving, so the rules that live on the
models (phone numbers stored in E.164, a case needs a contact or an account, a note sits on
exactly one record, a unique token subject) hold alike for the API, the admin and the
workspace. A broken rule raises Django's ``ValidationError`` with field errors and nothing is
saved (REL-3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from core.errors import DomainError, NotFound
from core.realtime import case_group, publish_on_commit
from customers.models import Account, Case, Contact, Note
from notifications.scenarios import Scenario
from routing.models import WorkItem
from routing.services import work_item_enqueue

#: The contact's fields a service may change, in the order the API shows them.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "mobile_phone",
    "business_phone",
    "city",
    "country",
    "job_title",
    "preferred_language",
    "account",
    "auth_subject",
)
ACCOUNT_FIELDS = frozenset(
    {"name", "email", "main_phone", "other_phone", "city", "country", "website", "primary_contact"}
)
CASE_FIELDS = frozenset({"title", "description", "status", "priority", "origin", "contact", "account", "owner"})


def _locked(model: type[models.Model], pk: int, what: str) -> Any:
    try:
        return model.objects.select_for_update(no_key=True).get(pk=pk)
    except model.DoesNotExist:
        raise NotFound(f"No such {what}.") from None


def _values(record: models.Model) -> dict[str, Any]:
    return {field.attname: getattr(record, field.attname) for field in record._meta.concrete_fields}


def _update_valid(
    record: models.Model,
    changes: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    prepare: Callable[[Any], None] | None = None,
) -> None:
    """Apply ``changes`` to a locked row, validate the whole row, save only what changed.

    ``clean()`` may normalise fields (phones, email), so the saved fields are found by comparing
    the row before and after, not taken from ``changes``. Unknown field names are a caller bug.
    """
    unknown = set(changes) - set(allowed)
    if unknown:
        raise TypeError(f"{type(record).__name__} has no editable fields {sorted(unknown)}")
    before = _values(record)
    for name, value in changes.items():
        setattr(record, name, value)
    if prepare is not None:
        prepare(record)
    record.full_clean()
    changed = [name for name, value in _values(record).items() if value != before[name]]
    if changed:
        if any(field.name == "updated_at" for field in record._meta.concrete_fields):
            changed.append("updated_at")
        record.save(update_fields=changed)


def _create_valid(record: models.Model) -> None:
    """Validate the whole row (fields, clean(), uniqueness, constraints), then insert it."""
    record.full_clean()
    record.save(force_insert=True)


# --- Contacts ---------------------------------------------------------------------------------


@transaction.atomic
def contact_create(
    *,
    last_name: str,
    first_name: str = "",
    email: str = "",
    mobile_phone: str = "",
    business_phone: str = "",
    city: str = "",
    country: str = "",
    job_title: str = "",
    preferred_language: str = "",
    account: Account | None = None,
    auth_subject: str | None = None,
) -> Contact:
    """Create a contact; phones are stored in E.164 and the email in lower case (SUM-4, SMS-2)."""
    contact = Contact(
        first_name=first_name,
        last_name=last_name,
        email=email,
        mobile_phone=mobile_phone,
        business_phone=business_phone,
        city=city,
        country=country,
        job_title=job_title,
        preferred_language=preferred_language,
        account=account,
        auth_subject=auth_subject,
    )
    _create_valid(contact)
    return contact


@transaction.atomic
def contact_update(*, contact_id: int, changes: Mapping[str, Any]) -> Contact:
    """Change some of a contact's fields under its row lock, with the same rules as creation."""
    contact = _locked(Contact, contact_id, "contact")
    _update_valid(contact, changes, CONTACT_FIELDS)
    return contact


# --- Accounts ---------------------------------------------------------------------------------


@transaction.atomic
def account_create(
    *,
    name: str,
    email: str = "",
    main_phone: str = "",
    other_phone: str = "",
    city: str = "",
    country: str = "",
    website: str = "",
    primary_contact: Contact | None = None,
) -> Account:
    """Create an account; its phone numbers are stored in E.164 (SUM-3)."""
    account = Account(
        name=name,
        email=email,
        main_phone=main_phone,
        other_phone=other_phone,
        city=city,
        country=country,
        website=website,
        primary_contact=primary_contact,
    )
    _create_valid(account)
    return account


@transaction.atomic
def account_update(*, account_id: int, changes: Mapping[str, Any]) -> Account:
    """Change some of an account's fields under its row lock, with the same rules as creation."""
    account = _locked(Account, account_id, "account")
    _update_valid(account, changes, ACCOUNT_FIELDS)
    return account


# --- Cases ------------------------------------------------------------------------------------


def _stamp_resolution(case: Case) -> None:
    """A resolved case records when; reopening it clears the stamp."""
    if case.status == Case.Status.RESOLVED:
        case.resolved_at = case.resolved_at or timezone.now()
    else:
        case.resolved_at = None


@transaction.atomic
def case_create(
    *,
    title: str,
    contact: Contact | None = None,
    account: Account | None = None,
    description: str = "",
    status: str = Case.Status.ACTIVE,
    priority: str = Case.Priority.NORMAL,
    origin: str = Case.Origin.WEB,
    owner: AbstractBaseUser | None = None,
) -> Case:
    """Create a case for a contact or an account (at least one of them: SUM-14, REC-1)."""
    case = Case(
        title=title,
        description=description,
        status=status,
        priority=priority,
        origin=origin,
        contact=contact,
        account=account,
        owner=owner,
    )
    _stamp_resolution(case)
    _create_valid(case)
    _case_publish(case, "case.created")
    return case


def _case_publish(case: Case, kind: str) -> None:
    """A case was created or changed: its event, on commit (outbound webhooks follow it: API-2)."""
    publish_on_commit(
        case_group(case.pk),
        {
            "type": kind,
            "case": case.pk,
            "title": case.title,
            "status": case.status,
            "priority": case.priority,
            "origin": case.origin,
            "contact": case.contact_id,
            "account": case.account_id,
            "owner": case.owner_id,
        },
    )


@transaction.atomic
def case_update(*, case_id: int, changes: Mapping[str, Any]) -> Case:
    """Change some of a case's fields under its row lock; resolving it stamps ``resolved_at``."""
    case = _locked(Case, case_id, "case")
    _update_valid(case, changes, CASE_FIELDS, prepare=_stamp_resolution)
    _case_publish(case, "case.updated")
    return case


# --- Notes ------------------------------------------------------------------------------------


def may_change_note(user: AbstractBaseUser, note: Note) -> bool:
    """A note is its author's words: only they, or an admin, may edit or delete it."""
    return bool(user.is_staff or user.is_superuser or (note.author_id is not None and note.author_id == user.pk))


@transaction.atomic
def note_create(
    *,
    text: str,
    author: AbstractBaseUser | None,
    contact: Contact | None = None,
    account: Account | None = None,
    case: Case | None = None,
    conversation_id: int | None = None,
) -> Note:
    """Write a note on exactly one record (a contact, an account or a case) (SUM-16).

    A quick note written from a conversation also keeps the conversation it came from.
    """
    note = Note(text=text, author=author, contact=contact, account=account, case=case, conversation_id=conversation_id)
    _create_valid(note)
    return note


@transaction.atomic
def note_update(*, note_id: int, text: str, by: AbstractBaseUser) -> Note:
    """Rewrite a note's text. Only its author or an admin may (see :func:`may_change_note`)."""
    note = _locked(Note, note_id, "note")
    if not may_change_note(by, note):
        raise DomainError("Only the note's author or an admin can change it.", code="forbidden")
    _update_valid(note, {"text": text}, {"text"})
    return note


@transaction.atomic
def note_delete(*, note_id: int, by: AbstractBaseUser) -> None:
    """Delete a note. Only its author or an admin may (see :func:`may_change_note`)."""
    note = _locked(Note, note_id, "note")
    if not may_change_note(by, note):
        raise DomainError("Only the note's author or an admin can delete it.", code="forbidden")
    note.delete()


# --- routing a case (NOT-14) ---------------------------------------------------------------------


def case_work_facts(case: Case) -> dict:
    """What routing and notifications show of the case: its work item's snapshot (``routing.models.FACTS``)."""
    return {
        "refs": {"case": case.pk},
        "customer_name": case.contact.full_name if case.contact_id else "",
        "case_title": case.title,
        "channel": "",
        "started_at": case.created_at.isoformat() if case.created_at else "",
    }


@transaction.atomic
def case_enqueue(*, case: Case, workstream, queue, skills) -> WorkItem:
    """Route the case to an agent (NOT-14): a work item in ``queue``, owned by the case (its
    ``work_item``). A case is routed once; routing it again is refused."""
    case = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
    if case.work_item_id is not None:
        raise DomainError("This case was routed already.", code="already_routed")
    work_item = work_item_enqueue(
        workstream=workstream,
        queue=queue,
        skills=skills,
        kind=WorkItem.Kind.CASE,
        scenario=Scenario.CASE_ASSIGNMENT,
        facts=case_work_facts(case),
    )
    case.work_item = work_item
    case.save(update_fields=["work_item"])
    return work_item


class CaseWork:
    """The case as routing's work subject (``routing.subjects``), registered in ``CustomersConfig.ready()``.

    A case keeps no state of its own about who works on it: its holder is its work item's agent,
    so an assignment (an accept, or NOT-14's hold at the timeout) changes no row of the case.
    """

    def assigned(self, *, work_item: WorkItem, agent) -> None:
        return None
