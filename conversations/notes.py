"""Private notes in a conversation's thread (issue 15): agents see them, the customer never does.

A note is a :class:`~conversations.models.ConversationNote`, not a message: the customer's paths
(the widget socket and its resume, transcripts, SMS, the bot API, the message webhooks) read
messages only, and its event goes to :func:`~core.realtime.conversation_staff_group`, which no
customer socket joins.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import AgentProfile
from conversations.errors import ConversationError
from conversations.models import Conversation, ConversationNote
from conversations.selectors import is_consultant
from conversations.services import conversation_lock, message_validate_text
from core.realtime import conversation_staff_group, publish_on_commit


@transaction.atomic
def note_post(*, conversation_id: int, agent: AgentProfile, text: str) -> ConversationNote:
    """Store a private note of the agent who holds the conversation or consults in it (ROU-15), then
    tell the conversation's agents on commit. Refused once it is closed; a refusal stores nothing.

    Takes the conversation's row lock, so notes and the conversation's close do not cross.
    """
    text = message_validate_text(text)  # not blank, at most 28 KB (CONV-2a)
    conversation = conversation_lock(conversation_id)
    if conversation.agent_id != agent.pk and not is_consultant(conversation_id=conversation_id, agent=agent):
        raise ConversationError(
            _("Only the agent who holds this conversation, or consults in it, can add a note."), code="not_holder"
        )
    if conversation.status == Conversation.Status.CLOSED:
        raise ConversationError(_("This conversation is closed; notes can no longer be added."), code="closed")
    note = ConversationNote.objects.create(
        conversation=conversation, author=agent, text=text, created_at=timezone.now()
    )
    publish_on_commit(conversation_staff_group(conversation_id), note_event(note, author_name=agent.display_name))
    return note


def note_event(note: ConversationNote, *, author_name: str | None) -> dict:
    """The realtime event (and workspace frame) of a note; ``internal`` marks it for agents only."""
    return {
        "type": "conversation.note",
        "conversation": note.conversation_id,
        "note": note.pk,
        "text": note.text,
        "author_name": author_name,
        "created_at": note.created_at.isoformat(),
        "internal": True,
    }


def conversation_notes(*, conversation_id: int, after: int | None = None) -> QuerySet[ConversationNote]:
    """A conversation's notes in the order written, their authors with them; with ``after`` (a note
    id), only later ones: what a workspace page that reconnects has not seen."""
    notes = ConversationNote.objects.filter(conversation_id=conversation_id).select_related("author")
    if after is not None:
        notes = notes.filter(pk__gt=after)
    return notes.order_by("pk")
