"""Transfer (ROU-14), consult / escalation and the hand-over from a bot (ROU-15).

Locks follow the order of every assignment path — work item, then agents (in primary-key
order), then the conversation — so a transfer never deadlocks with an accept, a pick or a
timeout, and a conversation never has two holders.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentProfile, Presence
from conversations.models import Conversation
from core.errors import NotFound
from core.realtime import SUPERVISORS_GROUP, publish_on_commit
from notifications.scenarios import Scenario
from routing.errors import RoutingError
from routing.models import Offer, Queue, WorkItem, Workstream
from routing.selectors import agents_visible_to
from routing.services.assignment import work_item_enqueue, work_item_transition
from routing.services.capacity import (
    agent_capacity_event,
    agent_follow_capacity,
    agent_release,
    agent_reserved_units,
    dispatch_on_commit,
)

MAX_NOTE = 1000
#: Presences under which nobody can take a conversation over (they are gone or must reset first).
UNAVAILABLE_BASES = (Presence.Base.OFFLINE, Presence.Base.INACTIVE)


def _clean_note(note) -> str:
    if not isinstance(note, str):
        raise RoutingError("The note is text.", code="bad_note")
    if len(note) > MAX_NOTE:
        raise RoutingError(f"A note is at most {MAX_NOTE} characters.", code="bad_note")
    return note.strip()


def _held_work_item(*, conversation_id: int, agent: AgentProfile) -> WorkItem:
    """The conversation's work item, locked, which ``agent`` must hold while it is active."""
    work_item = WorkItem.objects.select_for_update().filter(conversation_id=conversation_id).first()
    if work_item is None:
        raise NotFound("No such conversation.")
    if work_item.agent_id != agent.pk or work_item.status != WorkItem.Status.ASSIGNED:
        raise RoutingError("Only the agent who holds this conversation can hand it over.", code="not_holder")
    status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True).first()
    if status != Conversation.Status.ACTIVE:
        raise RoutingError("Only an active conversation can be handed over.", code="not_active")
    return work_item


def _lock_agents(*agent_ids: int) -> dict[int, AgentProfile]:
    """Lock the agents in primary-key order (no join under FOR UPDATE)."""
    locked = {}
    for agent_id in sorted(set(agent_ids)):
        locked[agent_id] = AgentProfile.objects.select_for_update().get(pk=agent_id)
    return locked


def _check_has_room(agent: AgentProfile, units: int) -> None:
    """The receiver can hold one more conversation now: reachable presence, a session slot and the
    capacity, with their pending offers counted as taken (ROU-6, ROU-7)."""
    presence = Presence.objects.get(pk=agent.presence_id)
    if presence.base in UNAVAILABLE_BASES:
        raise RoutingError(f"{agent.display_name} is {presence.name} and cannot take it now.", code="unavailable")
    pending = Offer.objects.filter(agent=agent, status=Offer.Status.PENDING).count()
    if agent.session_count + pending >= MAX_SESSIONS:
        raise RoutingError(f"{agent.display_name} already has {MAX_SESSIONS} open sessions.", code="max_sessions")
    if agent.capacity - agent.capacity_used - agent_reserved_units(agent) < units:
        raise RoutingError(f"{agent.display_name} has no free capacity for it.", code="no_capacity")


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
        return _transfer_to_agent(work_item, by=by, to_agent_id=to_agent_id, note=note)
    return _transfer_to_queue(work_item, by=by, to_queue_id=to_queue_id, note=note)


def _transfer_to_agent(work_item: WorkItem, *, by: AgentProfile, to_agent_id: int, note: str) -> WorkItem:
    from conversations.handover import conversation_transfer_to_agent
    from notifications.services import notification_raise_toast

    if not agents_visible_to(by.user).filter(pk=to_agent_id).exists():
        raise NotFound("No such agent.")
    if to_agent_id == by.pk:
        raise RoutingError("You already hold this conversation.", code="bad_target")
    agents = _lock_agents(by.pk, to_agent_id)
    sender, receiver = agents[by.pk], agents[to_agent_id]
    _check_has_room(receiver, work_item.capacity_units)
    holds_capacity = work_item.holds_capacity
    agent_release(work_item, sender, session=True, work_ended=True)
    now = timezone.now()
    work_item.agent = receiver
    work_item.previous_agent = receiver
    work_item.assigned_at = now
    work_item.holds_capacity = holds_capacity
    work_item.save(update_fields=["agent", "previous_agent", "assigned_at", "holds_capacity"])
    if holds_capacity:
        receiver.capacity_used += work_item.capacity_units
    receiver.session_count += 1
    receiver.last_assigned_at = now
    receiver.save(update_fields=["capacity_used", "session_count", "last_assigned_at"])
    work_item.workstream = Workstream.objects.get(pk=work_item.workstream_id)
    agent_follow_capacity(receiver, work_item)
    publish_on_commit(SUPERVISORS_GROUP, agent_capacity_event(receiver))
    conversation_transfer_to_agent(
        conversation_id=work_item.conversation_id, from_agent=sender, to_agent=receiver, work_item=work_item, note=note
    )
    notification_raise_toast(
        agent_id=receiver.pk,
        work_item=work_item,
        scenario=Scenario.TRANSFER,
        extra={"fromAgent": sender.display_name, "transferNote": note},
    )
    return work_item


def _transfer_to_queue(work_item: WorkItem, *, by: AgentProfile, to_queue_id: int, note: str) -> WorkItem:
    from conversations.handover import conversation_transfer_to_queue

    queue = Queue.objects.filter(pk=to_queue_id, is_active=True).first()
    if queue is None:
        raise NotFound("No such queue.")
    sender = _lock_agents(by.pk)[by.pk]
    work_item.workstream = Workstream.objects.get(pk=work_item.workstream_id)
    agent_release(work_item, sender, session=True, work_ended=True)
    work_item_transition(work_item, to=WorkItem.Status.QUEUED)
    # The sender's accepted offer is spent: the next agent's accept makes the one holder (ROU-10).
    Offer.objects.filter(work_item=work_item, status=Offer.Status.ACCEPTED, released_at__isnull=True).update(
        released_at=timezone.now()
    )
    work_item.agent = None
    work_item.queue = queue
    work_item.enqueued_at = timezone.now()
    work_item.save(update_fields=["agent", "queue", "enqueued_at"])
    conversation_transfer_to_queue(conversation_id=work_item.conversation_id, from_agent=sender, queue=queue, note=note)
    if work_item.workstream.distribution == Workstream.Distribution.PICK:
        from routing.services.pick import open_items_changed_on_commit

        open_items_changed_on_commit(queue_id=queue.pk)
    else:
        dispatch_on_commit(queue_ids=[queue.pk])
        publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": queue.pk})
    return work_item


@transaction.atomic
def conversation_consult(*, conversation_id: int, by: AgentProfile, consultant_id: int, note: str = ""):
    """The holder brings in a supervisor or another agent to consult (ROU-15): the consultant
    joins the conversation, reads and writes in it, and does not hold it (no capacity, no
    session). They get an escalation toast (a supervisor) or a consult toast (an agent), NOT-3.

    The consultant: any supervisor, or an agent sharing a queue with the holder (SEC-1).
    """
    from conversations.handover import conversation_consultant_add
    from notifications.services import notification_raise_toast

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
    """
    from conversations.handover import access_bot_conversation
    from conversations.models import ConversationEvent, Message
    from conversations.services import message_post
    from routing.rules import Facts, route_evaluate

    note = _clean_note(note)
    conversation = access_bot_conversation(bot_user=bot_user, conversation_id=conversation_id)
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.status != Conversation.Status.OPEN or WorkItem.objects.filter(conversation=conversation).exists():
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
    return work_item_enqueue(
        workstream=workstream, queue=decision.queue, skills=decision.skills, conversation=conversation
    )
