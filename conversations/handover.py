"""The conversation side of handing work over: transfer (ROU-14), consult / escalation and the
hand-over from a bot (ROU-15).

The workflows are in ``conversations.transfer``: routing decides who takes the work and moves
the capacity (``routing.services.transfer``); these functions record it on the conversation: who
holds it, its sessions, the audit event with the note, and the system message the customer sees.
They run inside the workflow's transaction, which already holds the work item's and the agents'
row locks; the conversation row is locked here, last (``core.locks``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversations.errors import ConversationError
from conversations.models import Conversation, ConversationEvent, ConversationParticipant, Message, Session
from conversations.services import (
    context_variables_validate,
    conversation_lock,
    conversation_lock_with_work,
    conversation_started_publish,
    conversation_transition,
    message_post,
    message_validate_text,
)
from core.errors import NotFound
from core.realtime import conversation_group, publish_on_commit

Actor = ConversationEvent.Actor


def _actor(agent) -> str:
    return Actor.SUPERVISOR if agent.role == "supervisor" else Actor.AGENT


def _locked_active(conversation_id: int) -> Conversation:
    """The conversation, locked, which must still be active (the customer may have just ended it)."""
    conversation = conversation_lock(conversation_id)
    if conversation.status != Conversation.Status.ACTIVE:
        raise ConversationError("Only an active conversation can be handed over.", code="not_active")
    return conversation


def _record_transfer(
    conversation: Conversation, *, from_agent, note: str, at, customer_text: str, to_agent=None, to_queue=None
) -> None:
    """The audit event with the note, the customer's system message and the live event of a transfer."""
    target = {"to_agent": to_agent.pk} if to_agent is not None else {"to_queue": to_queue.pk}
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TRANSFERRED,
        actor=_actor(from_agent),
        actor_user=from_agent.user,
        note=note,
        data={"from_agent": from_agent.pk, **target},
        created_at=at,
    )
    message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=customer_text)
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.transferred",
            "conversation": conversation.pk,
            "from_agent": from_agent.pk,
            "to_agent": to_agent.pk if to_agent is not None else None,
            "to_queue": to_queue.pk if to_queue is not None else None,
        },
    )


def conversation_transfer_to_agent(*, conversation_id: int, from_agent, to_agent, work_item, note: str) -> Conversation:
    """The conversation now belongs to ``to_agent``: the sender's session closes, the receiver's
    opens, it stays active for the customer, who is told (ROU-14)."""
    conversation = _locked_active(conversation_id)
    now = timezone.now()
    Session.objects.filter(conversation=conversation, agent=from_agent, closed_at__isnull=True).update(closed_at=now)
    Session.objects.create(agent=to_agent, work_item=work_item, conversation=conversation, opened_at=now)
    # A consultant who now holds it is its owner, no longer a consultant.
    ConversationParticipant.objects.filter(conversation=conversation, agent=to_agent, left_at__isnull=True).update(
        left_at=now
    )
    conversation.agent = to_agent
    conversation.save(update_fields=["agent"])
    _record_transfer(
        conversation,
        from_agent=from_agent,
        note=note,
        at=now,
        to_agent=to_agent,
        customer_text=f"{from_agent.display_name} transferred the conversation to {to_agent.display_name}.",
    )
    return conversation


def conversation_transfer_to_queue(*, conversation_id: int, from_agent, queue, note: str) -> Conversation:
    """The conversation goes back to routing in ``queue``: the sender's session closes, it is open
    again until an agent of that queue takes it, and the customer is told (ROU-14)."""
    conversation = _locked_active(conversation_id)
    now = timezone.now()
    Session.objects.filter(conversation=conversation, agent=from_agent, closed_at__isnull=True).update(closed_at=now)
    conversation_transition(
        conversation_id=conversation.pk,
        to=Conversation.Status.OPEN,
        actor=_actor(from_agent),
        actor_user=from_agent.user,
        note="Transferred to a queue",
    )
    conversation.refresh_from_db()
    conversation.queue = queue
    conversation.save(update_fields=["queue"])
    _record_transfer(
        conversation,
        from_agent=from_agent,
        note=note,
        at=now,
        to_queue=queue,
        customer_text=f"{from_agent.display_name} transferred you to {queue.name}. "
        "The next agent will be with you shortly.",
    )
    return conversation


@transaction.atomic
def conversation_consultant_add(*, conversation_id: int, by_agent, consultant, note: str) -> ConversationParticipant:
    """``consultant`` joins the conversation to read and write in it, without holding it (ROU-15).

    One transaction of its own, locking the conversation's work item before the conversation
    (``core.locks``; inside ``conversation_consult`` the work item is held already).
    """
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.status != Conversation.Status.ACTIVE:
        raise ConversationError("Only an active conversation can be handed over.", code="not_active")
    if ConversationParticipant.objects.filter(
        conversation=conversation, agent=consultant, left_at__isnull=True
    ).exists():
        raise ConversationError(f"{consultant.display_name} is already in this conversation.", code="already_joined")
    now = timezone.now()
    participant = ConversationParticipant.objects.create(
        conversation=conversation, agent=consultant, invited_by=by_agent, joined_at=now
    )
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.ESCALATED,
        actor=_actor(by_agent),
        actor_user=by_agent.user,
        note=note,
        data={"from_agent": by_agent.pk, "consultant": consultant.pk},
        created_at=now,
    )
    message_post(
        conversation_id=conversation.pk,
        sender=Message.Sender.SYSTEM,
        text=f"{consultant.display_name} joined the conversation to help {by_agent.display_name}.",
    )
    return participant


# --- Bots (ROU-15) --------------------------------------------------------------------------------


@transaction.atomic
def bot_conversation_start(*, bot_user, workstream, context_variables=None, language: str = "") -> Conversation:
    """An API client (a bot) takes a new conversation first; it is open, with no work item, until
    the bot hands it to a human (``conversations.transfer.bot_escalate``)."""
    if not workstream.is_active:
        raise ConversationError("This workstream is inactive.", code="workstream_inactive")
    variables = context_variables_validate(context_variables)
    conversation = Conversation.objects.create(
        channel=Conversation.Channel.LIVE_CHAT if workstream.channel == "chat" else Conversation.Channel.CUSTOM,
        origin=Conversation.Origin.BOT,
        workstream=workstream,
        queue=workstream.default_queue,
        bot_user=bot_user,
        context_variables=variables,
        language=language[:16],
        last_customer_activity_at=timezone.now(),
    )
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TRANSITION,
        to_status=Conversation.Status.OPEN,
        actor=Actor.BOT,
        actor_user=bot_user,
    )
    conversation_started_publish(conversation)
    return conversation


def access_bot_conversation(*, bot_user, conversation_id: int) -> Conversation:
    """A conversation this bot took first, or :class:`NotFound` (the same for anyone else's)."""
    conversation = Conversation.objects.filter(pk=conversation_id, bot_user=bot_user).first()
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


@transaction.atomic
def bot_message_post(*, bot_user, conversation_id: int, sender: str, text: str, client_id: str | None = None):
    """The bot writes (``bot``) or relays what the customer wrote (``customer``), CONV-2.

    The bot speaks only until it hands the conversation to a human; it relays the customer's
    messages for as long as the conversation lasts.
    """
    conversation = access_bot_conversation(bot_user=bot_user, conversation_id=conversation_id)
    if sender not in (Message.Sender.BOT, Message.Sender.CUSTOMER):
        raise ConversationError("A bot writes as “bot” or relays the “customer”.", code="bad_sender")
    message_validate_text(text)
    if sender == Message.Sender.BOT and conversation.events.filter(kind=ConversationEvent.Kind.ESCALATED).exists():
        raise ConversationError(
            "This conversation was handed to a human; the bot may only relay the customer now.",
            code="escalated",
        )
    return message_post(
        conversation_id=conversation.pk,
        sender=sender,
        text=text,
        sender_user=bot_user if sender == Message.Sender.BOT else None,
        client_id=client_id,
    )
