"""Canned responses (issue 15): which ones an agent may use, filled from a conversation, and the
agent's own (personal) ones, which they create, change and delete in the workspace and the API.

Visibility is decided here once, on the server: an agent gets the shared ones, those of their
queues and their own personal ones; never another agent's personal ones, never another queue's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from agents.models import AgentProfile
from conversations.errors import ConversationValidationError
from conversations.models import CannedResponse, Conversation
from conversations.placeholders import placeholders_fill
from conversations.rendering import customer_name
from core.errors import NotFound
from routing.selectors import queue_ids_of

#: What an agent may change of a personal canned response.
PERSONAL_FIELDS = ("title", "shortcut", "text", "language")


# --- Reads ------------------------------------------------------------------------------------
def canned_responses_for(agent: AgentProfile, *, language: str | None = None) -> QuerySet[CannedResponse]:
    """The canned responses ``agent`` may use: shared with all, shared with one of their queues,
    or their own. With ``language``, only those in it or in every language."""
    visibility = CannedResponse.Visibility
    responses = CannedResponse.objects.filter(
        Q(visibility=visibility.ALL)
        | Q(visibility=visibility.QUEUES, queues__in=queue_ids_of(agent))
        | Q(visibility=visibility.PERSONAL, owner=agent)
    ).distinct()
    if language:
        primary = language.split("-")[0]
        responses = responses.filter(language__in=["", language, primary])
    return responses.order_by("shortcut", "title", "pk")


def access_personal_canned_response(agent: AgentProfile, canned_id: int) -> CannedResponse:
    """One of the agent's own personal canned responses, or :class:`NotFound` (another agent's
    look the same as missing ones)."""
    try:
        return CannedResponse.objects.get(pk=canned_id, visibility=CannedResponse.Visibility.PERSONAL, owner=agent)
    except CannedResponse.DoesNotExist:
        raise NotFound(_("No such canned response.")) from None


def placeholder_values(conversation: Conversation, agent: AgentProfile) -> dict[str, str]:
    """What each placeholder stands for in ``conversation`` answered by ``agent`` ("" when unknown).

    Select ``contact``, ``queue`` and ``workstream`` with the conversation: no query.
    """
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    email = conversation.contact.email if conversation.contact_id else ""
    if not email and isinstance(answers.get("email"), str):
        email = answers["email"].strip()
    return {
        "customer_name": customer_name(conversation),
        "customer_email": email,
        "agent_name": agent.display_name,
        "queue": conversation.queue.name if conversation.queue_id else "",
        "workstream": conversation.workstream.name if conversation.workstream_id else "",
    }


@dataclass(frozen=True)
class CannedReply:
    """A canned response as the composer offers it: its text already filled for the conversation."""

    id: int
    title: str
    shortcut: str
    text: str
    personal: bool


def canned_replies(conversation: Conversation, agent: AgentProfile) -> list[CannedReply]:
    """The agent's canned responses for this conversation's language, filled from it (one query)."""
    values = placeholder_values(conversation, agent)
    return [
        CannedReply(
            id=response.pk,
            title=response.title,
            shortcut=response.shortcut,
            text=placeholders_fill(response.text, values),
            personal=response.visibility == CannedResponse.Visibility.PERSONAL,
        )
        for response in canned_responses_for(agent, language=conversation.language)
    ]


# --- The agent's own ------------------------------------------------------------------------
def _checked_save(response: CannedResponse, *, update_fields: list[str] | None = None) -> CannedResponse:
    """Validate (placeholders, lengths, the shortcut's uniqueness) and save, or raise
    :class:`ConversationValidationError` with the problems per field; nothing is saved then."""
    try:
        response.full_clean(exclude=["queues"])
    except ValidationError as error:
        raise ConversationValidationError(_("Please correct the canned response."), errors=error.message_dict) from None
    try:
        with transaction.atomic():
            response.save(update_fields=update_fields)
    except IntegrityError:  # a concurrent save took the shortcut
        raise ConversationValidationError(
            _("Please correct the canned response."),
            errors={"shortcut": [_("You already have a canned response with this shortcut.")]},
        ) from None
    return response


@transaction.atomic
def canned_response_create(
    *, agent: AgentProfile, title: str, shortcut: str, text: str, language: str = ""
) -> CannedResponse:
    """A new personal canned response of ``agent``; refused with the problems per field."""
    response = CannedResponse(
        title=title,
        shortcut=shortcut,
        text=text,
        language=language,
        visibility=CannedResponse.Visibility.PERSONAL,
        owner=agent,
    )
    return _checked_save(response)


@transaction.atomic
def canned_response_update(*, agent: AgentProfile, canned_id: int, changes: dict) -> CannedResponse:
    """Change one of the agent's own personal canned responses (only :data:`PERSONAL_FIELDS`)."""
    unknown = set(changes) - set(PERSONAL_FIELDS)
    if unknown:
        raise ConversationValidationError(
            _("Please correct the canned response."), errors={name: [_("Unknown field.")] for name in sorted(unknown)}
        )
    try:
        response = CannedResponse.objects.select_for_update(no_key=True).get(
            pk=canned_id, visibility=CannedResponse.Visibility.PERSONAL, owner=agent
        )
    except CannedResponse.DoesNotExist:
        raise NotFound(_("No such canned response.")) from None
    for name, value in changes.items():
        setattr(response, name, value)
    return _checked_save(response, update_fields=[*changes, "updated_at"])


@transaction.atomic
def canned_response_delete(*, agent: AgentProfile, canned_id: int) -> None:
    """Delete one of the agent's own personal canned responses. Deleting it twice: :class:`NotFound`."""
    deleted, _rows = CannedResponse.objects.filter(
        pk=canned_id, visibility=CannedResponse.Visibility.PERSONAL, owner=agent
    ).delete()
    if not deleted:
        raise NotFound(_("No such canned response."))
