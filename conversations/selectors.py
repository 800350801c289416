"""Reads of the conversations app that pages, consumers and the API share.

Every read of a conversation by a person goes through :func:`conversations_visible_to` or
:func:`access_conversation`, so the SEC-1 rule lives in one place.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from agents.selectors import agent_for_user, oversees_all
from conversations.models import Conversation, Message
from core.errors import NotFound
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
        .select_related("queue", "agent", "workstream")
        .prefetch_related("skills", "tags")
        .order_by("-created_at", "-pk")
    )


def access_conversation(user: AbstractBaseUser | AnonymousUser, conversation_id: int) -> Conversation:
    """Fetch one conversation with the permission check inside.

    Raises :class:`~core.errors.NotFound` both when it does not exist and when the user
    may not see it, so ids of other queues' conversations do not leak (SEC-1).
    """
    try:
        return conversations_visible_to(user).select_related("queue", "agent", "workstream").get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


def conversation_messages(*, conversation: Conversation, after: int | None = None) -> QuerySet[Message]:
    """The conversation's messages in sequence order; with ``after``, only later ones (CONV-2 resume)."""
    messages = Message.objects.filter(conversation=conversation).order_by("seq")
    if after is not None:
        messages = messages.filter(seq__gt=after)
    return messages
