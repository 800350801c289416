"""Reads of the conversations app that pages, consumers and the API share.

Every read of a conversation by a person goes through :func:`conversations_visible_to` or
:func:`access_conversation`, so the SEC-1 rule lives in one place.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from agents.selectors import agent_for_user, oversees_all
from conversations.models import Conversation, ConversationParticipant, Message
from core.errors import NotFound
from routing.models import Queue
from routing.selectors import queue_ids_of


def conversations_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Conversation]:
    """The conversations ``user`` may see (SEC-1).

    Admins (staff) and supervisors see all. An agent sees the conversations of the queues they
    belong to and those they hold, wherever those sit now (a transfer to another queue does not
    take a conversation out of its agent's hands). Anyone else sees nothing.
    """
    conversations = Conversation.objects.all()
    if oversees_all(user):
        return conversations
    agent = agent_for_user(user)
    if agent is None:
        return conversations.none()
    return conversations.filter(Q(queue__in=queue_ids_of(agent)) | Q(agent=agent))


def conversation_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Conversation]:
    """Visible conversations with what a list shows (queue, agent, skills) fetched in bulk."""
    return (
        conversations_visible_to(user)
        .select_related("queue", "agent", "workstream", "wrap_up_code", "survey")
        .prefetch_related("skills", "tags")
        .order_by("-created_at", "-pk")
    )


def access_conversation(user: AbstractBaseUser | AnonymousUser, conversation_id: int) -> Conversation:
    """Fetch one conversation with the permission check inside.

    Raises :class:`~core.errors.NotFound` both when it does not exist and when the user
    may not see it, so ids of other queues' conversations do not leak (SEC-1).
    """
    try:
        return (
            conversations_visible_to(user)
            .select_related("queue", "agent", "workstream", "wrap_up_code", "survey")
            .get(pk=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


def conversation_messages(*, conversation: Conversation, after: int | None = None) -> QuerySet[Message]:
    """The conversation's messages in sequence order; with ``after``, only later ones (CONV-2 resume)."""
    messages = Message.objects.filter(conversation=conversation).select_related("attachment").order_by("seq")
    if after is not None:
        messages = messages.filter(seq__gt=after)
    return messages


# --- Waiting (LIVE-1, WID-8) -----------------------------------------------------------------
AVERAGE_WAIT_WINDOW = timedelta(days=7)
AVERAGE_WAIT_SAMPLE = 200


def queue_average_wait_minutes(queue: Queue, *, now: datetime | None = None) -> int:
    """The average wait of the queue's recently assigned chats in whole minutes, rounded up, at least 1.

    Both the LIVE-1 system message and the widget's availability (WID-8) use it, so the host
    page and the chat never disagree.
    """
    now = now or timezone.now()
    waits = [
        (assigned - created).total_seconds()
        for created, assigned in Conversation.objects.filter(
            queue=queue, first_assigned_at__gte=now - AVERAGE_WAIT_WINDOW
        )
        .order_by("-first_assigned_at")
        .values_list("created_at", "first_assigned_at")[:AVERAGE_WAIT_SAMPLE]
    ]
    if not waits:
        return 1
    return max(1, math.ceil(sum(waits) / len(waits) / 60))


def is_consultant(*, conversation_id: int, agent) -> bool:
    """Whether the agent was brought in to consult and is still in the conversation (ROU-15)."""
    return ConversationParticipant.objects.filter(
        conversation_id=conversation_id, agent=agent, left_at__isnull=True
    ).exists()
