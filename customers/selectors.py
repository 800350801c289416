"""Reads of customer records (contacts, accounts, cases, notes) that pages and the API share.

Who reaches which record is decided by :func:`records_visible_to` alone (SEC-1): an agent
reaches a customer's records through the conversations they may see, as the customer summary
does; supervisors and admins reach every record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from agents.selectors import agent_for_user, oversees_all
from customers.models import Account, Case, Contact, Note, normalise_phone
from routing.models import Channel, Workstream
from routing.rule_fields import CHOICE, RuleField
from routing.selectors import queue_ids_of

Record = TypeVar("Record", Contact, Account, Case, Note)


def records_visible_to(user: AbstractBaseUser | AnonymousUser, records: QuerySet[Record]) -> QuerySet[Record]:
    """The customer records of ``records`` that ``user`` may reach (SEC-1).

    Supervisors and admins reach all. An agent reaches what the customer summary of a
    conversation they may see shows: its linked contact, account and case, the cases of that
    contact or account (recent cases, SUM-15), and the notes on any of those (the timeline,
    SUM-16). Anyone else reaches nothing. Subqueries only: no query of its own, whatever the
    history's size.

    The conversations are read backwards from the records (their ``conversations`` relation),
    as customers sits below the conversations app: the condition is the one
    ``conversations.selectors.conversations_visible_to`` applies — the agent's queues' and
    those the agent holds — and a test holds the two to the same answer.
    """
    if oversees_all(user):
        return records
    agent = agent_for_user(user)
    if agent is None:
        return records.none()
    queues = queue_ids_of(agent)

    def reached(model: type[Contact] | type[Account] | type[Case]) -> QuerySet:
        return (
            model.objects.filter(Q(conversations__queue__in=queues) | Q(conversations__agent=agent))
            .order_by()
            .values("pk")
        )

    contacts = reached(Contact)
    accounts = reached(Account)
    cases = Case.objects.filter(
        Q(pk__in=reached(Case)) | Q(contact_id__in=contacts) | Q(account_id__in=accounts)
    ).values("pk")
    model = records.model
    if model is Contact:
        return records.filter(pk__in=contacts)
    if model is Account:
        return records.filter(pk__in=accounts)
    if model is Case:
        return records.filter(pk__in=cases)
    if model is Note:
        return records.filter(Q(contact_id__in=contacts) | Q(account_id__in=accounts) | Q(case_id__in=cases))
    raise TypeError(f"{model.__name__} is not a customer record.")


def contact_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Contact]:
    contacts = Contact.objects.select_related("account").order_by("last_name", "first_name", "pk")
    return records_visible_to(user, contacts)


def account_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    return records_visible_to(user, Account.objects.select_related("primary_contact").order_by("name", "pk"))


def case_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    return records_visible_to(user, Case.objects.select_related("contact", "account").order_by("-created_at", "-pk"))


def note_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Note]:
    notes = Note.objects.select_related("author", "contact", "account", "case").order_by("-created_at", "-pk")
    return records_visible_to(user, notes)


def contacts_with_email(contacts: QuerySet[Contact], email: str) -> QuerySet[Contact]:
    """Contacts whose email is ``email``; stored emails are lower case, so the match ignores case."""
    return contacts.filter(email__iexact=email.strip())


def contacts_with_mobile_phone(contacts: QuerySet[Contact], phone: str) -> QuerySet[Contact]:
    """Contacts whose mobile phone is ``phone`` in any common notation (SMS-2).

    The query is normalised like stored numbers are, so ``(415) 555-0123`` finds ``+14155550123``.
    Raises ValidationError when ``phone`` is not a phone number.
    """
    return contacts.filter(mobile_phone=normalise_phone(phone))


# --- Who a conversation's customer is (SUM-5) -------------------------------------------------


def _prechat_value(answers: Mapping[str, Any], word: str) -> str:
    for name, value in answers.items():
        if word in str(name).lower() and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _unique(contacts: QuerySet[Contact]) -> Contact | None:
    found = list(contacts[:2])
    return found[0] if len(found) == 1 else None


def _by_email(email: str) -> Contact | None:
    return _unique(contacts_with_email(Contact.objects.all(), email)) if email else None


def _by_mobile_phone(phone: str) -> Contact | None:
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


def contact_matching(
    *,
    authenticated: bool,
    auth_subject: str,
    verified_email: str = "",
    channel_phone: str = "",
    prechat_answers: Any = None,
) -> CustomerMatch:
    """The contact a conversation's details point at (SUM-5), verified details first.

    Verified, in order: the token subject of an authenticated chat (AUTH-2), the email inside
    that signed token (``verified_email``), the phone number an SMS or a call came from
    (``channel_phone``, SMS-2). Claims, only when no verified detail matched: the email and then
    the mobile phone the customer typed in the pre-chat survey. An email or phone shared by
    several contacts matches none of them.
    """
    if authenticated:
        if auth_subject:
            contact = Contact.objects.filter(auth_subject=auth_subject).first()
            if contact is not None:
                return CustomerMatch(contact, "token subject", verified=True)
        contact = _by_email(verified_email.strip())
        if contact is not None:
            return CustomerMatch(contact, "token email", verified=True)
    contact = _by_mobile_phone(channel_phone)
    if contact is not None:
        return CustomerMatch(contact, "channel phone number", verified=True)
    answers = prechat_answers if isinstance(prechat_answers, dict) else {}
    contact = _by_email(_prechat_value(answers, "email"))
    if contact is not None:
        return CustomerMatch(contact, "email")
    contact = _by_mobile_phone(_prechat_value(answers, "phone"))
    if contact is not None:
        return CustomerMatch(contact, "mobile phone")
    return NO_MATCH


def workstream_case_rule_fields(workstream_id: int | None) -> list[RuleField]:
    """The case fields a routing rule may test, offered on workstreams that route cases. One query."""
    if workstream_id is None or not Workstream.objects.filter(pk=workstream_id, channel=Channel.RECORDS).exists():
        return []
    group = _("The case")
    return [
        RuleField("case", "priority", _("Case priority"), CHOICE, tuple(Case.Priority.values), group=group),
        RuleField("case", "origin", _("Case origin"), CHOICE, tuple(Case.Origin.values), group=group),
        RuleField("case", "title", _("Case title"), group=group),
    ]
