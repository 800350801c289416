"""Services of persistent chat's waiting stage (CONV-1, PER-6, PER-7, PER-8, ROU-6, ROU-12).

- :func:`conversation_park` — the agent's ✖ on a persistent chat: active → waiting. The agent's
  session closes and the work item is parked, so the conversation takes none of their capacity.

The way out of the waiting stage is in ``conversations.services``, where ``message_post`` and
``conversation_auto_close`` take it: ``conversation_customer_back`` (the customer wrote: waiting →
open, the work item returns to its agent first, ROU-12) and ``conversation_waiting_auto_close``
(CONV-1).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from conversations.chat_settings import chat_settings_of
from conversations.errors import ConversationError
from conversations.models import Conversation, ConversationEvent, Session
from conversations.services import (
    conversation_lock_with_work,
    conversation_transition,
    conversation_work_item_id,
)
from routing.services.continuity import work_item_park

Actor = ConversationEvent.Actor


@transaction.atomic
def conversation_park(*, conversation_id: int, agent) -> Conversation:
    """The agent moves a persistent chat they hold to the waiting stage (PER-6).

    Refused (nothing changes) for a live chat, for another agent, and unless the conversation is
    active; parking a conversation already waiting changes nothing. Sets the waiting auto-close
    deadline from the workstream (none when it has no ``auto_close_waiting_seconds``).
    """
    conversation = conversation_lock_with_work(conversation_id)
    if not conversation.is_persistent:
        raise ConversationError(
            "Only a persistent chat can wait for the customer; end a live chat instead.", code="not_persistent"
        )
    if conversation.agent_id != agent.pk:
        raise ConversationError("Only the agent who holds this conversation can park it.", code="not_yours")
    if conversation.status == Conversation.Status.WAITING:
        return conversation
    if conversation.status != Conversation.Status.ACTIVE:
        raise ConversationError("Only an active conversation can be moved to waiting.", code="not_active")
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.WAITING, actor=Actor.AGENT, actor_user=agent.user
    )
    now = timezone.now()
    Session.objects.filter(conversation=conversation, agent=agent, closed_at__isnull=True).update(closed_at=now)
    seconds = chat_settings_of(conversation.workstream).auto_close_waiting_seconds
    conversation.auto_close_at = now + timedelta(seconds=seconds) if seconds else None
    conversation.save(update_fields=["auto_close_at"])
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        work_item_park(work_item_id=work_item_id)
    return conversation
