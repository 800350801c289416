"""Reads of customer records (contacts, accounts, cases, notes) that pages and the API share.

Who reaches which record is decided by :func:`records_visible_to` alone (SEC-1): an agent
reaches a customer's records through the conversations they may see, as the customer summary
does; supervisors and admins reach every record.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from conversations.selectors import conversations_visible_to
from customers.models import Account, Case, Contact, Note, normalise_phone
from routing.models import Channel, Workstream
from routing.rule_fields import CHOICE, RuleField
from routing.selectors import oversees_all

Record = TypeVar("Record", Contact, Account, Case, Note)


def records_visible_to(user: AbstractBaseUser | AnonymousUser, records: QuerySet[Record]) -> QuerySet[Record]:
    """The customer records of ``records`` that ``user`` may reach (SEC-1).

    Supervisors and admins reach all. An agent reaches what the customer summary of a
    conversation they may see (``conversations_visible_to``) shows: its linked contact, account
    and case, the cases of that contact or account (recent cases, SUM-15), and the notes on any
    of those (the timeline, SUM-16). Anyone else reaches nothing. Subqueries only: no query of
    its own, whatever the history's size.
    """
    if oversees_all(user):
        return records
    conversations = conversations_visible_to(user).order_by()
    contacts = conversations.filter(contact__isnull=False).values("contact_id")
    accounts = conversations.filter(account__isnull=False).values("account_id")
    cases = Case.objects.filter(
        Q(pk__in=conversations.filter(case__isnull=False).values("case_id"))
        | Q(contact_id__in=contacts)
        | Q(account_id__in=accounts)
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
