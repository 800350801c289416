"""Signed-in customers and the conversations they may reach (AUTH-2, AUTH-3, PER-2, PER-3, SEC-1).

A persistent conversation belongs to the customer the organisation's token names (``sub``), not
to a browser: the same customer, signed in on any browser, sees the whole conversation and
carries on (PER-3), and a token for another ``sub`` never reaches it. So for a persistent
widget every way in — the session's resume, starting a chat, joining the socket, ending —
needs a verified token, and finds the conversation by its subject.

Live widgets keep the browser-bound rules of :mod:`widgets.selectors`; with an authentication
setting, a live chat started with a valid token is authenticated too (AUTH-2).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from conversations.models import Conversation
from conversations.services import conversation_start
from core.errors import NotFound
from customers.models import Contact
from customers.services import contact_create
from widgets import selectors
from widgets.authentication import AuthTokenError, VerifiedCustomer, auth_token_verify
from widgets.models import ChatWidget, Visitor
from widgets.tokens import TokenError, read_conversation_token

logger = logging.getLogger(__name__)


def _verify(widget: ChatWidget, auth_token: object) -> VerifiedCustomer:
    if widget.authentication_id is None:  # PER-2 makes this impossible for a persistent widget
        raise AuthTokenError(
            "This chat widget has no sign-in configured, so it cannot verify customers.",
            code="authentication_required",
        )
    return auth_token_verify(widget.authentication, auth_token)


def _contact_names(claims: dict) -> dict[str, str]:
    def text(name: str) -> str:
        value = claims.get(name)
        return value.strip()[:100] if isinstance(value, str) else ""

    names = {
        "first_name": text("given_name"),
        "last_name": text("family_name") or text("name") or f"Customer {claims['sub']}"[:100],
    }
    email = text("email")
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    if email:
        names["email"] = email
    return names


def _contact_for(verified: VerifiedCustomer, *, create: bool):
    """The contact linked to the subject; created (with the token's names) when asked."""
    contact = Contact.objects.filter(auth_subject=verified.subject).first()
    if contact is not None or not create:
        return contact
    try:
        return contact_create(auth_subject=verified.subject, **_contact_names(verified.claims))
    except (IntegrityError, ValidationError):
        # Another request created it first (the subject is unique): use theirs.
        return Contact.objects.filter(auth_subject=verified.subject).first()


def customer_sign_in(*, widget: ChatWidget, visitor: Visitor, auth_token: object) -> VerifiedCustomer:
    """Verify the customer's token and link this browser's visitor to them (AUTH-2).

    The visitor takes the token's subject and the contact with that subject (created when the
    setting says so). A refused token (:class:`AuthTokenError`) changes nothing. ``visitor`` is
    updated in place too, so the caller's copy is current. The key set is read before the
    transaction (it may be fetched over the network).
    """
    verified = _verify(widget, auth_token)
    with transaction.atomic():
        contact = _contact_for(verified, create=widget.authentication.create_contact)
        locked = Visitor.objects.select_for_update(no_key=True).get(pk=visitor.pk)
        changes = []
        if locked.auth_subject != verified.subject:
            locked.auth_subject = verified.subject
            changes.append("auth_subject")
        contact_id = contact.pk if contact is not None else None
        if contact_id is not None and locked.contact_id != contact_id:
            locked.contact_id = contact_id
            changes.append("contact")
        elif contact_id is None and locked.contact_id is not None and "auth_subject" in changes:
            locked.contact_id = None  # another customer signed in on this browser: not their contact
            changes.append("contact")
        if changes:
            locked.save(update_fields=changes)
    visitor.auth_subject, visitor.contact_id = locked.auth_subject, locked.contact_id
    return verified


def subject_unfinished_conversation(*, widget: ChatWidget, subject: str) -> Conversation | None:
    """The signed-in customer's conversation on this widget that an agent has not ended (PER-3)."""
    return (
        Conversation.objects.filter(
            widget=widget, authenticated=True, auth_subject=subject, status__in=selectors.UNFINISHED_STATUSES
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def session_conversation(
    *, widget: ChatWidget, visitor: Visitor, auth_token: object
) -> tuple[Conversation | None, TokenError | None]:
    """The chat a widget session resumes, and the sign-in refusal if the token was refused.

    Live widget: this browser's unfinished chat. Persistent widget: the signed-in customer's
    unfinished conversation, from whichever browser it was started (PER-3); none without a
    valid token — a refused token is reported, never fatal to the session (the chat button
    still shows, and the host page gets an ``error`` event).
    """
    if not widget.workstream.is_persistent:
        return selectors.visitor_unfinished_conversation(visitor), None
    if auth_token in (None, ""):
        return None, None
    try:
        verified = customer_sign_in(widget=widget, visitor=visitor, auth_token=auth_token)
    except TokenError as refusal:
        return None, refusal
    return subject_unfinished_conversation(widget=widget, subject=verified.subject), None


def customer_chat_start(
    *, widget: ChatWidget, visitor: Visitor, auth_token: object, context, **start
) -> tuple[Conversation, bool]:
    """Start a chat for this customer, or give back the one under way: ``(conversation, created)``.

    A persistent widget needs a verified token (PER-2, AUTH-3) and resumes the customer's
    unfinished conversation whatever the browser (PER-3); a live widget with an authentication
    setting verifies a token when one is sent. Claims the setting lists become verified context
    variables (AUTH-2), over the host page's values of the same name, and the token's email is a
    verified email (SUM-5). A refusal creates nothing.
    """
    persistent = widget.workstream.is_persistent
    signed_in = None
    if persistent or (widget.authentication_id and auth_token not in (None, "")):
        signed_in = customer_sign_in(widget=widget, visitor=visitor, auth_token=auth_token)
    if persistent:
        existing = subject_unfinished_conversation(widget=widget, subject=signed_in.subject)
    else:
        existing = selectors.visitor_unfinished_conversation(visitor)
    if existing is not None:  # a second submit, a second tab or a second device
        return existing, False
    conversation = conversation_start(
        widget=widget,
        visitor=visitor,
        context_variables=context,
        authenticated=signed_in is not None,
        auth_subject=signed_in.subject if signed_in else "",
        verified_context=signed_in.context if signed_in else None,
        verified_email=signed_in.email if signed_in else "",
        **start,
    )
    return conversation, True


def customer_conversation(*, widget: ChatWidget, token: object, auth_token: object = None) -> Conversation:
    """The one conversation a customer may follow or end (SEC-1, AUTH-3).

    Live chat: the conversation token of this browser's visitor. Persistent chat: the conversation
    token *and* a valid sign-in token whose subject is the conversation's — so the conversation
    follows the customer across browsers, and a token for another subject finds nothing.
    """
    if not widget.workstream.is_persistent:
        return selectors.conversation_for_customer(widget=widget, token=token)
    claim = read_conversation_token(token)
    verified = _verify(widget, auth_token)
    conversation = (
        Conversation.objects.filter(
            public_id=claim.conversation, widget=widget, authenticated=True, auth_subject=verified.subject
        )
        .select_related("workstream")
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation
