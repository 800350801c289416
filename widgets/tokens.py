"""Signed tokens the widget keeps in the browser (WID-12, WID-3, SEC-1).

The widget's calls carry no cookies, so who a browser is travels in two signed tokens:

- the **visitor token** names a visitor of one widget; the widget keeps it in localStorage;
- the **conversation token** names one conversation of one visitor; it is what the WebSocket
  accepts, so a customer can only ever join their own conversation.

Both are ``django.core.signing`` values with their own salt, so one can never stand in for the
other, and both name their widget or visitor, so a token of another widget is refused too.
Tokens hold public ids (UUIDs), never database ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core import signing

from core.errors import DomainError

VISITOR_SALT = "widgets.visitor"
CONVERSATION_SALT = "widgets.conversation"
# A visitor is remembered for a year of page loads; a conversation token outlives any live
# chat and its grace period by far, and persistent chat re-issues it at every session.
VISITOR_TOKEN_MAX_AGE = 365 * 24 * 3600
CONVERSATION_TOKEN_MAX_AGE = 30 * 24 * 3600


class TokenError(DomainError):
    """A token that is missing, forged, expired or made for another widget or visitor."""

    code = "invalid_token"


@dataclass(frozen=True)
class VisitorClaim:
    visitor: uuid.UUID
    widget: uuid.UUID


@dataclass(frozen=True)
class ConversationClaim:
    conversation: uuid.UUID
    visitor: uuid.UUID


def visitor_token(*, visitor_public_id: uuid.UUID, widget_key: uuid.UUID) -> str:
    return signing.dumps({"v": str(visitor_public_id), "w": str(widget_key)}, salt=VISITOR_SALT)


def conversation_token(*, conversation_public_id: uuid.UUID, visitor_public_id: uuid.UUID) -> str:
    return signing.dumps({"c": str(conversation_public_id), "v": str(visitor_public_id)}, salt=CONVERSATION_SALT)


def _load(token: object, *, salt: str, max_age: int, keys: tuple[str, str], what: str) -> tuple[uuid.UUID, ...]:
    if not isinstance(token, str) or not token or len(token) > 500:
        raise TokenError(f"A {what} token is required.")
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise TokenError(f"The {what} token has expired.", code="expired_token") from None
    except signing.BadSignature:
        raise TokenError(f"The {what} token is not valid.") from None
    try:
        return tuple(uuid.UUID(payload[key]) for key in keys)
    except (TypeError, KeyError, ValueError, AttributeError):
        raise TokenError(f"The {what} token is not valid.") from None


def read_visitor_token(token: object, *, widget_key: uuid.UUID) -> VisitorClaim:
    """The visitor a token names, if it was signed here for this widget; else :class:`TokenError`."""
    visitor, widget = _load(token, salt=VISITOR_SALT, max_age=VISITOR_TOKEN_MAX_AGE, keys=("v", "w"), what="visitor")
    if widget != widget_key:
        raise TokenError("The visitor token belongs to another widget.")
    return VisitorClaim(visitor=visitor, widget=widget)


def read_conversation_token(token: object) -> ConversationClaim:
    """The conversation and visitor a token names, if it was signed here; else :class:`TokenError`.

    Whether that conversation belongs to the widget at hand is the caller's lookup
    (:func:`widgets.selectors.conversation_for_customer`).
    """
    conversation, visitor = _load(
        token, salt=CONVERSATION_SALT, max_age=CONVERSATION_TOKEN_MAX_AGE, keys=("c", "v"), what="conversation"
    )
    return ConversationClaim(conversation=conversation, visitor=visitor)


PAGE_VISIT_SALT = "widgets.page_visit"
#: A page visit's token is good while the page could plausibly stay open.
PAGE_VISIT_TOKEN_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class PageVisitClaim:
    page_visit: uuid.UUID
    visitor: uuid.UUID


def page_visit_token(*, page_visit_public_id: uuid.UUID, visitor_public_id: uuid.UUID) -> str:
    """Names one page load of one visitor: what the widget reports time on page for (PRO-2)."""
    return signing.dumps({"p": str(page_visit_public_id), "v": str(visitor_public_id)}, salt=PAGE_VISIT_SALT)


def read_page_visit_token(token: object) -> PageVisitClaim:
    """The page visit and visitor a token names, if it was signed here; else :class:`TokenError`."""
    page_visit, visitor = _load(
        token, salt=PAGE_VISIT_SALT, max_age=PAGE_VISIT_TOKEN_MAX_AGE, keys=("p", "v"), what="page visit"
    )
    return PageVisitClaim(page_visit=page_visit, visitor=visitor)
