"""A conversation's links to its customer: the customer summary's workflows (SUM-4..16).

These change a conversation's links to customer records (contact, account, case), its skills,
and add quick notes. The customer records themselves are the customers app's: they are created
and noted through ``customers.services``. Each workflow locks the conversation row first (then
any record it creates), writes the audit row (ConversationEvent) and, after commit, tells the
pages showing the summary what changed (``summary.changed`` on the conversation's group: SUM-9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from agents.models import Skill
from agents.selectors import agent_for_user, oversees_all
from conversations.chat_settings import chat_settings_of
from conversations.models import Conversation, ConversationEvent
from core.errors import DomainError, Forbidden, NotFound
from core.realtime import conversation_group, publish_on_commit
from customers.models import Account, Case, Contact, Note
from customers.selectors import contact_matching
from customers.services import account_create, case_create, contact_create, note_create


def _conversation_locked(conversation_id: int) -> Conversation:
    try:
        return Conversation.objects.select_for_update(no_key=True).get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


#: The kinds of record a conversation links to, in the order the linked-records selector shows them.
RECORD_KINDS = ("contact", "account", "case")


def may_change_summary(user: AbstractBaseUser, conversation: Conversation) -> bool:
    """The agent who holds the conversation, a supervisor or an admin changes its summary."""
    if oversees_all(user):
        return True
    agent = agent_for_user(user)
    return agent is not None and conversation.agent_id == agent.pk


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
    conversation = _conversation_locked(conversation_id)
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
    if kind not in RECORD_KINDS:
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
    if record_kind not in RECORD_KINDS:
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
    conversation = _summary_locked(conversation_id, by)
    if not chat_settings_of(conversation.workstream).agents_may_edit_skills:
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


def conversation_customer_match(
    *, conversation_id: int, created: Conversation | None = None, verified_email: str = ""
) -> Conversation:
    """Link the contact whose verified details match the conversation's, or suggest a claimed one (SUM-5).

    Called when a conversation starts. A verified match (see ``customers.selectors.contact_matching``) links the
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
        return _match_and_link(_conversation_locked(conversation_id), verified_email=verified_email)


def _match_and_link(conversation: Conversation, *, verified_email: str) -> Conversation:
    if conversation.contact_id:
        return conversation
    match = contact_matching(
        authenticated=conversation.authenticated,
        auth_subject=conversation.auth_subject,
        verified_email=verified_email,
        channel_phone=conversation.customer_phone,
        prechat_answers=conversation.prechat_answers,
    )
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
