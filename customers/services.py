"""Every write of customer records: contacts, accounts, cases and notes.

Each write runs the model's ``full_clean()`` before saving, so the rules that live on the
models (phone numbers stored in E.164, a case needs a contact or an account, a note sits on
exactly one record, a unique token subject) hold alike for the API, the admin and the
workspace. A broken rule raises Django's ``ValidationError`` with field errors and nothing is
saved (REL-3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.selectors import agent_for_user, oversees_all
from conversations.models import Conversation, ConversationEvent
from core.errors import DomainError, Forbidden, NotFound
from core.realtime import case_group, conversation_group, publish_on_commit
from customers.models import Account, Case, Contact, Note
from customers.summary import may_change_summary

CONTACT_FIELDS = frozenset(
    {
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
    }
)
ACCOUNT_FIELDS = frozenset(
    {"name", "email", "main_phone", "other_phone", "city", "country", "website", "primary_contact"}
)
CASE_FIELDS = frozenset({"title", "description", "status", "priority", "origin", "contact", "account", "owner"})


def _locked(model: type[models.Model], pk: int, what: str) -> Any:
    try:
        return model.objects.select_for_update().get(pk=pk)
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


# --- The customer summary: what an agent links and writes from a conversation (SUM-4..16) ------
#
# These change a conversation's links to customer records, its skills, and add quick notes.
# Each locks the conversation row first (then any record it creates), writes the audit row
# (ConversationEvent) and, after commit, tells the pages showing the summary what changed
# (``summary.changed`` on the conversation's group: SUM-9).

SUMMARY_RECORD_KINDS = ("contact", "account", "case")


def summary_changed_publish(*, conversation_id: int, changed: list[str]) -> None:
    """Tell the workspace pages showing this conversation that its summary changed (SUM-9).

    ``changed`` names what: ``contact``, ``account``, ``case``, ``skills``, ``queue``,
    ``timeline``. Published after commit; other apps call it too (a transfer changes the queue).
    """
    publish_on_commit(
        conversation_group(conversation_id),
        {"type": "summary.changed", "conversation": conversation_id, "changed": sorted(set(changed))},
    )


def _summary_locked(conversation_id: int, by: AbstractBaseUser | None) -> Conversation:
    """Lock the conversation and check that ``by`` may change its summary now (SUM-1: closed is read-only)."""
    conversation = _locked(Conversation, conversation_id, "conversation")
    if by is not None and not may_change_summary(by, conversation):
        raise Forbidden("Only the agent who holds this conversation, or a supervisor, can change its summary.")
    if conversation.status == Conversation.Status.CLOSED:
        raise DomainError("This conversation is closed; its summary is read-only.", code="read_only")
    return conversation


def _record_for_link(kind: str, record_id: int) -> Contact | Account | Case:
    model = {"contact": Contact, "account": Account, "case": Case}.get(kind)
    if model is None:
        raise DomainError("Link a contact, an account or a case.", code="invalid")
    try:
        return model.objects.get(pk=record_id)
    except model.DoesNotExist:
        raise NotFound(f"No such {kind}.") from None


def _actor(by: AbstractBaseUser | None) -> str:
    if by is None:
        return ConversationEvent.Actor.SYSTEM
    agent = agent_for_user(by)
    if agent is not None:
        return ConversationEvent.Actor.SUPERVISOR if oversees_all(by) else ConversationEvent.Actor.AGENT
    return ConversationEvent.Actor.ADMIN


def _link(conversation: Conversation, links: Mapping[str, Any], *, by: AbstractBaseUser | None, how: str) -> list[str]:
    """Set some of the conversation's links (kind → record or None), audit and announce the change."""
    changed = [
        kind for kind, record in links.items() if getattr(conversation, f"{kind}_id") != (record.pk if record else None)
    ]
    if not changed:
        return []
    for kind in changed:
        setattr(conversation, kind, links[kind])
    update = list(changed)
    if "contact" in changed and conversation.suggested_contact_id is not None:
        # Whoever the agent links (or confirms), the question "is this her?" is answered.
        conversation.suggested_contact, conversation.suggested_by = None, ""
        update += ["suggested_contact", "suggested_by"]
    conversation.save(update_fields=update)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.LINKED,
        actor=_actor(by),
        actor_user=by,
        note=how,
        data={kind: (links[kind].pk if links[kind] else None) for kind in changed},
    )
    summary_changed_publish(conversation_id=conversation.pk, changed=[*changed, "timeline"])
    return changed


@transaction.atomic
def conversation_record_link(*, conversation_id: int, kind: str, record_id: int, by: AbstractBaseUser) -> Conversation:
    """Link a contact, an account or a case to the conversation (SUM-4, SUM-14).

    Linking a contact also links their account when the conversation has none. Linking what is
    already linked changes nothing. Refused for a closed conversation and for an agent who does
    not hold it.
    """
    conversation = _summary_locked(conversation_id, by)
    record = _record_for_link(kind, record_id)
    links: dict[str, Any] = {kind: record}
    if kind == "contact" and record.account_id and not conversation.account_id:
        links["account"] = record.account
    _link(conversation, links, by=by, how="linked by the agent")
    return conversation


def conversation_contact_link_verified(*, conversation: Conversation, contact: Contact, how: str) -> Conversation:
    """Link a contact found by a verified identity (the SMS provider's number: SMS-2).

    Called inside the caller's transaction with ``conversation`` locked or just created. A
    conversation already linked to a contact keeps it; the contact's account is linked too
    when the conversation has none.
    """
    if conversation.contact_id:
        return conversation
    links: dict[str, Any] = {"contact": contact}
    if contact.account_id and not conversation.account_id:
        links["account"] = contact.account
    _link(conversation, links, by=None, how=how)
    return conversation


@transaction.atomic
def conversation_record_unlink(*, conversation_id: int, kind: str, by: AbstractBaseUser) -> Conversation:
    """Unlink the conversation's contact, account or case; unlinking nothing changes nothing."""
    if kind not in SUMMARY_RECORD_KINDS:
        raise DomainError("Unlink a contact, an account or a case.", code="invalid")
    conversation = _summary_locked(conversation_id, by)
    _link(conversation, {kind: None}, by=by, how="unlinked by the agent")
    return conversation


@transaction.atomic
def conversation_record_create(
    *, conversation_id: int, kind: str, fields: Mapping[str, Any], by: AbstractBaseUser
) -> Contact | Account | Case:
    """Create a contact, an account or a case in place and link it to the conversation (SUM-4, SUM-14).

    ``fields`` are the record's own (as for ``contact_create``…); a new case belongs to the
    conversation's contact and account and comes from a chat unless it says otherwise. A rule
    the record breaks raises ValidationError and nothing is saved, the link neither.
    """
    conversation = _summary_locked(conversation_id, by)
    if kind == "contact":
        record = contact_create(**fields)
    elif kind == "account":
        record = account_create(**fields)
    elif kind == "case":
        fields = {
            "contact": conversation.contact,
            "account": conversation.account,
            "origin": Case.Origin.CHAT,
            **fields,
        }
        record = case_create(owner=by, **fields)
    else:
        raise DomainError("Create a contact, an account or a case.", code="invalid")
    links: dict[str, Any] = {kind: record}
    if kind == "contact" and record.account_id and not conversation.account_id:
        links["account"] = record.account
    _link(conversation, links, by=by, how="created and linked by the agent")
    return record


@transaction.atomic
def conversation_quick_note(*, conversation_id: int, record_kind: str, text: str, by: AbstractBaseUser) -> Note:
    """A quick note the agent writes from the conversation on a linked record (SUM-16).

    The note sits on the conversation's linked contact, account or case and keeps the
    conversation it came from.
    """
    if record_kind not in SUMMARY_RECORD_KINDS:
        raise DomainError("Write the note on the contact, the account or the case.", code="invalid")
    conversation = _summary_locked(conversation_id, by)
    record_id = getattr(conversation, f"{record_kind}_id")
    if record_id is None:
        raise DomainError(f"No {record_kind} is linked to this conversation.", code="not_linked")
    note = note_create(
        text=text, author=by, conversation_id=conversation.pk, **{record_kind: getattr(conversation, record_kind)}
    )
    summary_changed_publish(conversation_id=conversation.pk, changed=["timeline"])
    return note


@transaction.atomic
def conversation_skills_set(*, conversation_id: int, skill_ids: Iterable[int], by: AbstractBaseUser) -> Conversation:
    """Set the skills attached to the conversation, when its workstream lets agents (SUM-7).

    The routing of an item already offered or assigned is not redone. Unknown skills are
    refused and nothing changes; setting the same skills changes nothing.
    """
    from agents.models import Skill

    conversation = _summary_locked(conversation_id, by)
    if not conversation.workstream.agents_may_edit_skills:
        raise Forbidden("The admin does not let agents change the skills of this workstream's conversations.")
    wanted = set(skill_ids)
    skills = list(Skill.objects.filter(pk__in=wanted))
    if len(skills) != len(wanted):
        raise NotFound("No such skill.")
    before = set(conversation.skills.values_list("pk", flat=True))
    if before == wanted:
        return conversation
    conversation.skills.set(skills)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.SKILLS_CHANGED,
        actor=_actor(by),
        actor_user=by,
        data={"before": sorted(before), "after": sorted(wanted)},
    )
    summary_changed_publish(conversation_id=conversation.pk, changed=["skills"])
    return conversation


def _prechat_value(answers: Mapping[str, Any], word: str) -> str:
    for name, value in answers.items():
        if word in str(name).lower() and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _unique(contacts: models.QuerySet[Contact]) -> Contact | None:
    found = list(contacts[:2])
    return found[0] if len(found) == 1 else None


def _by_email(email: str) -> Contact | None:
    from customers.selectors import contacts_with_email

    return _unique(contacts_with_email(Contact.objects.all(), email)) if email else None


def _by_mobile_phone(phone: str) -> Contact | None:
    from customers.selectors import contacts_with_mobile_phone

    if not phone:
        return None
    try:
        return _unique(contacts_with_mobile_phone(Contact.objects.all(), phone))
    except ValidationError:
        return None


@dataclass(frozen=True)
class CustomerMatch:
    """The one stored contact a conversation's details point at, by what, and whether that is proof.

    ``verified``: the detail is an identity (a signed token's subject or email, the phone number
    a channel delivered from) and the contact is linked. Otherwise it is a claim the customer
    typed, and the contact is only suggested to the agent (SUM-5).
    """

    contact: Contact | None
    how: str = ""
    verified: bool = False


NO_MATCH = CustomerMatch(None)


def matching_contact(conversation: Conversation, *, verified_email: str = "") -> CustomerMatch:
    """The contact the conversation's details point at (SUM-5), verified details first.

    Verified, in order: the token subject of an authenticated chat (AUTH-2), the email inside
    that signed token (``verified_email``), the phone number an SMS or a call came from (SMS-2).
    Claims, only when no verified detail matched: the email and then the mobile phone the
    customer typed in the pre-chat survey. An email or phone shared by several contacts matches
    none of them.
    """
    if conversation.authenticated:
        if conversation.auth_subject:
            contact = Contact.objects.filter(auth_subject=conversation.auth_subject).first()
            if contact is not None:
                return CustomerMatch(contact, "token subject", verified=True)
        contact = _by_email(verified_email.strip())
        if contact is not None:
            return CustomerMatch(contact, "token email", verified=True)
    contact = _by_mobile_phone(conversation.customer_phone)
    if contact is not None:
        return CustomerMatch(contact, "channel phone number", verified=True)
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    contact = _by_email(_prechat_value(answers, "email"))
    if contact is not None:
        return CustomerMatch(contact, "email")
    contact = _by_mobile_phone(_prechat_value(answers, "phone"))
    if contact is not None:
        return CustomerMatch(contact, "mobile phone")
    return NO_MATCH


def conversation_customer_match(
    *, conversation_id: int, created: Conversation | None = None, verified_email: str = ""
) -> Conversation:
    """Link the contact whose verified details match the conversation's, or suggest a claimed one (SUM-5).

    Called when a conversation starts. A verified match (see :func:`matching_contact`) links the
    contact, and its account when the conversation has none. A match on what an unauthenticated
    customer typed only suggests the contact: the agent confirms it
    (:func:`conversation_match_confirm`) before any of her records show. A conversation already
    linked to a contact keeps it; safe to call twice. ``created`` is the conversation itself
    when the caller has just inserted it inside its own open transaction (no other writer can
    see it yet): it is used as it is, in that transaction, so a chat whose details match nobody
    costs no query at all. Otherwise the row is read and locked in a transaction of its own.
    """
    if created is not None and created.pk == conversation_id and transaction.get_connection().in_atomic_block:
        return _match_and_link(created, verified_email=verified_email)
    with transaction.atomic():
        return _match_and_link(_locked(Conversation, conversation_id, "conversation"), verified_email=verified_email)


def _match_and_link(conversation: Conversation, *, verified_email: str) -> Conversation:
    if conversation.contact_id:
        return conversation
    match = matching_contact(conversation, verified_email=verified_email)
    if match.contact is None:
        return conversation
    if not match.verified:
        _suggest(conversation, match.contact, how=match.how)
        return conversation
    links: dict[str, Any] = {"contact": match.contact}
    if match.contact.account_id and not conversation.account_id:
        links["account"] = match.contact.account
    _link(conversation, links, by=None, how=f"matched by {match.how}")
    return conversation


def _suggest(conversation: Conversation, contact: Contact | None, *, how: str) -> None:
    """Set (or clear, with None) the possible match the agent is asked to confirm; the caller holds the row."""
    contact_id = contact.pk if contact is not None else None
    if conversation.suggested_contact_id == contact_id and conversation.suggested_by == how:
        return
    conversation.suggested_contact = contact
    conversation.suggested_by = how
    conversation.save(update_fields=["suggested_contact", "suggested_by"])
    summary_changed_publish(conversation_id=conversation.pk, changed=["contact"])


@transaction.atomic
def conversation_match_confirm(*, conversation_id: int, contact_id: int, by: AbstractBaseUser) -> Conversation:
    """The agent confirms the possible match: the suggested contact is linked, with her account (SUM-4, SUM-5).

    ``contact_id`` is the contact the agent saw suggested; a suggestion that changed or went
    meanwhile is refused (``stale``) and nothing changes. Confirming what is already linked is
    a no-op. Refused, like every summary change, for a closed conversation and for an agent
    who does not hold it. Locks the conversation row.
    """
    conversation = _summary_locked(conversation_id, by)
    if conversation.contact_id == contact_id and conversation.suggested_contact_id is None:
        return conversation
    if conversation.suggested_contact_id != contact_id:
        raise DomainError(_("This possible match is no longer suggested."), code="stale")
    contact = Contact.objects.select_related("account").get(pk=contact_id)
    links: dict[str, Any] = {"contact": contact}
    if contact.account_id and not conversation.account_id:
        links["account"] = contact.account
    _link(conversation, links, by=by, how=f"possible match ({conversation.suggested_by}) confirmed by the agent")
    return conversation
