"""Reads of customer records (contacts, accounts, cases, notes) that pages and the API share.

Customer records are readable by every agent (SEC-1 limits conversations, not records); the
API checks that the caller is an agent or an admin before it reads them.
"""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import Account, Case, Contact, Note, normalise_phone


def contact_list() -> QuerySet[Contact]:
    return Contact.objects.select_related("account").order_by("last_name", "first_name", "pk")


def account_list() -> QuerySet[Account]:
    return Account.objects.select_related("primary_contact").order_by("name", "pk")


def case_list() -> QuerySet[Case]:
    return Case.objects.select_related("contact", "account").order_by("-created_at", "-pk")


def note_list() -> QuerySet[Note]:
    return Note.objects.select_related("author", "contact", "account", "case").order_by("-created_at", "-pk")


def contacts_with_email(contacts: QuerySet[Contact], email: str) -> QuerySet[Contact]:
    """Contacts whose email is ``email``; stored emails are lower case, so the match ignores case."""
    return contacts.filter(email__iexact=email.strip())


def contacts_with_mobile_phone(contacts: QuerySet[Contact], phone: str) -> QuerySet[Contact]:
    """Contacts whose mobile phone is ``phone`` in any common notation (SMS-2).

    The query is normalised like stored numbers are, so ``(415) 555-0123`` finds ``+14155550123``.
    Raises ValidationError when ``phone`` is not a phone number.
    """
    return contacts.filter(mobile_phone=normalise_phone(phone))
