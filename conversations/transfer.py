"""Handing a conversation over (ROU-14, ROU-15): transfer to an agent or a queue, consult /
escalation, and the hand-over from a bot. Conversation workflows: each is one transaction that
locks the conversation's work item first (``core.locks``), lets routing move the holder and the
capacity (``routing.services.transfer``: the agents are locked next) or enqueue the work, and
records it on the conversation (``conversations.handover``: the conversation is locked last).
"""

from __future__ import annotations

from django.db import transaction

from agents.models import AgentProfile
from conversations.handover import (
    access_bot_conversation,
    conversation_consultant_add,
    conversation_transfer_to_agent,
    conversation_transfer_to_queue,
)
from conversations.models import Conversation, ConversationEvent, Message
from conversations.services import conversation_enqueue, message_post
from core.errors import NotFound
from notifications.scenarios import Scenario
from notifications.services import notification_raise_toast
from routing.errors import RoutingError
from routing.models import WorkItem, Workstream
from routing.rules import Facts, route_evaluate
from routing.selectors import agents_visible_to
from routing.services.transfer import work_item_lock_held, work_item_reassign, work_item_requeue

MAX_NOTE = 1000


def _clean_note(note) -> str:
    if not isinstance(note, str):
        raise RoutingError("The note is text.", code="bad_note")
    if len(note) > MAX_NOTE:
        raise RoutingError(f"A note is at most {MAX_NOTE} characters.", code="bad_note")
    return note.strip()


def _held_work_item(*, conversation_id: int, agent: AgentProfile) -> WorkItem:
    """The conversation's work item, locked first of all, which ``agent`` must hold while the
    conversation is active."""
    work_item_id = Conversation.objects.filter(pk=conversation_id).values_list("work_item_id", flat=True).first()
    work_item = work_item_lock_held(work_item_id=work_item_id, agent=agent)
    status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True).first()
    if status != Conversation.Status.ACTIVE:
        raise RoutingError("Only an active conversation can be handed over.", code="not_active")
    return work_item


@transaction.atomic
def conversation_transfer(
    *,
    conversation_id: int,
    by: AgentProfile,
    to_agent_id: int | None = None,
    to_queue_id: int | None = None,
    note: str = "",
) -> WorkItem:
    """The holder hands an active conversation to another agent or to a queue, with a note (ROU-14).

    To an agent (one who shares a queue with the sender, or any agent for a supervisor, SEC-1):
    capacity and the session move at once, the conversation stays active, and the receiver gets
    the transfer toast (NOT-3) with the note; the page shows the history and the note.
    To a queue: the sender is released and the conversation is routed again in that queue.
    A refusal changes nothing.
    """
    note = _clean_note(note)
    if (to_agent_id is None) == (to_queue_id is None):
        raise RoutingError("Transfer to an agent or to a queue.", code="bad_target")
    work_item = _held_work_item(conversation_id=conversation_id, agent=by)
    if to_agent_id is not None:
        sender, receiver = work_item_reassign(work_item=work_item, by=by, to_agent_id=to_agent_id)
        conversation_transfer_to_agent(
            conversation_id=conversation_id, from_agent=sender, to_agent=receiver, work_item=work_item, note=note
        )
        notification_raise_toast(
            agent_id=receiver.pk,
            work_item=work_item,
            scenario=Scenario.TRANSFER,
            extra={"fromAgent": sender.display_name, "transferNote": note},
        )
        return work_item
    sender, queue = work_item_requeue(work_item=work_item, by=by, to_queue_id=to_queue_id)
    conversation_transfer_to_queue(conversation_id=conversation_id, from_agent=sender, queue=queue, note=note)
    return work_item


@transaction.atomic
def conversation_consult(*, conversation_id: int, by: AgentProfile, consultant_id: int, note: str = ""):
    """The holder brings in a supervisor or another agent to consult (ROU-15): the consultant
    joins the conversation, reads and writes in it, and does not hold it (no capacity, no
    session). They get an escalation toast (a supervisor) or a consult toast (an agent), NOT-3.

    The consultant: any supervisor, or an agent sharing a queue with the holder (SEC-1).
    """
    note = _clean_note(note)
    work_item = _held_work_item(conversation_id=conversation_id, agent=by)
    consultant = (
        AgentProfile.objects.filter(pk=consultant_id).filter(pk__in=agents_visible_to(by.user).values("pk")).first()
    ) or AgentProfile.objects.filter(pk=consultant_id, role=AgentProfile.Role.SUPERVISOR).first()
    if consultant is None:
        raise NotFound("No such agent.")
    if consultant.pk == by.pk:
        raise RoutingError("You already hold this conversation.", code="bad_target")
    work_item.workstream = Workstream.objects.get(pk=work_item.workstream_id)
    participant = conversation_consultant_add(
        conversation_id=conversation_id, by_agent=by, consultant=consultant, note=note
    )
    is_supervisor = consultant.role == AgentProfile.Role.SUPERVISOR
    notification_raise_toast(
        agent_id=consultant.pk,
        work_item=work_item,
        scenario=Scenario.ESCALATION if is_supervisor else Scenario.CONSULT,
        extra={"fromAgent": by.display_name, "transferNote": note},
    )
    return participant


@transaction.atomic
def bot_escalate(*, bot_user, conversation_id: int, note: str = "") -> WorkItem:
    """A bot hands its conversation to a human (ROU-15): it is routed like a new one — routing
    rules over its context variables and language — and offered with the "escalation from a
    bot" notification (NOT-1). The bot's messages stay in the conversation as its transcript.
    Handing it over twice is refused.

    The conversation has no work item yet, so its row lock is the first lock taken.
    """
    note = _clean_note(note)
    conversation = access_bot_conversation(bot_user=bot_user, conversation_id=conversation_id)
    conversation = Conversation.objects.select_for_update(no_key=True).get(pk=conversation.pk)
    if conversation.status != Conversation.Status.OPEN or conversation.work_item_id is not None:
        raise RoutingError("This conversation was already handed to a human.", code="already_escalated")
    workstream = Workstream.objects.select_related("default_queue", "fallback_queue").get(pk=conversation.workstream_id)
    variables = conversation.context_variables or {}
    decision = route_evaluate(
        workstream,
        Facts(
            context={
                name: (variable.get("value") if isinstance(variable, dict) else variable)
                for name, variable in variables.items()
            },
            language=conversation.language,
            authenticated=conversation.authenticated,
            url=conversation.page_url,
        ),
    )
    conversation.queue = decision.queue
    conversation.save(update_fields=["queue"])
    if decision.skills:
        conversation.skills.set(decision.skills)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.ESCALATED,
        actor=ConversationEvent.Actor.BOT,
        actor_user=bot_user,
        note=note,
        data={"queue": decision.queue.pk, "rule": decision.rule.name if decision.rule else None},
    )
    message_post(
        conversation_id=conversation.pk,
        sender=Message.Sender.SYSTEM,
        text="Connecting you with an agent. Please wait a moment.",
    )
    return conversation_enqueue(conversation, workstream=workstream, queue=decision.queue, skills=decision.skills)
