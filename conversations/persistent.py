"""Services of persistent chat's waiting stage (CONV-1, PER-6, PER-7, PER-8, ROU-6, ROU-12).

- :func:`conversation_park` — the agent's ✖ on a persistent chat: active → waiting. The agent's
  session closes and the work item is parked, so the conversation takes none of their capacity.
- :func:`conversation_customer_back` — the customer wrote in a waiting conversation: waiting →
  open, and its work item returns to the queue for the same agent first (ROU-12), who is
  notified with an offer and resumes it on accepting. Called by ``message_post`` in the
  transaction that stores the message.
- :func:`conversation_waiting_auto_close` — a conversation left waiting past the workstream's
  ``auto_close_waiting_seconds`` is closed (CONV-1).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from conversations.chat_settings import chat_settings_of
from conversations.errors import ConversationError
from conversations.models import Conversation, ConversationEvent, Message, Session
from conversations.services import (
    conversation_lock,
    conversation_lock_with_work,
    conversation_transition,
    conversation_work_item_id,
    message_post,
)
from routing.services import work_item_complete
from routing.services.continuity import work_item_park, work_item_return

Actor = ConversationEvent.Actor

INACTIVE_NOTICE = "This conversation was closed after a long time without activity."


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


def conversation_customer_back(*, conversation_id: int) -> Conversation:
    """The customer wrote in a waiting conversation: it reopens and goes back to its agent (PER-6, PER-8).

    Runs inside ``message_post``'s transaction (the message is stored first). Waiting → open, the
    waiting auto-close is cancelled and the parked work item returns to its queue, offered to
    the previous agent first (ROU-12) — during the queue's operating hours (PER-7).
    """
    # Inside message_post, which holds the conversation's lock already (its work item is parked,
    # so no accept or transfer can hold that item meanwhile).
    conversation = conversation_lock(conversation_id)
    if conversation.status != Conversation.Status.WAITING:
        return conversation
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.OPEN, actor=Actor.CUSTOMER, note="Customer wrote"
    )
    conversation.auto_close_at = None
    conversation.save(update_fields=["auto_close_at"])
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        work_item_return(work_item_id=work_item_id)
    return conversation


def conversation_waiting_auto_close(*, conversation: Conversation) -> Conversation:
    """Close a locked conversation left waiting past its deadline (CONV-1); the caller checked the deadline."""
    message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=INACTIVE_NOTICE)
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=Actor.SYSTEM, note="Inactive"
    )
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        work_item_complete(work_item_id=work_item_id)
    return conversation
