"""The work-item side of handing work over (ROU-14, ROU-15): who holds it, capacity and sessions.

Transfer, consult and the hand-over from a bot are conversation workflows
(``conversations.transfer``); they lock the work item first (``core.locks``), then call these
services, which lock the agents in primary-key order, then record it on the conversation. So a
transfer never deadlocks with an accept, a pick or a timeout, and the work never has two holders.
"""

from __future__ import annotations

from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentProfile, Presence
from core.errors import NotFound
from core.locks import lock_rows
from core.realtime import SUPERVISORS_GROUP, publish_on_commit
from routing.errors import RoutingError
from routing.models import Offer, Queue, WorkItem, Workstream
from routing.selectors import agents_visible_to
from routing.services.capacity import (
    agent_capacity_event,
    agent_follow_capacity,
    agent_release,
    agent_reserved_units,
    dispatch_on_commit,
)
from routing.services.queue_events import open_items_changed_on_commit
from routing.services.transitions import work_item_transition
from routing.services.work_items import work_item_lock

#: Presences under which nobody can take work over (they are gone or must reset first).
UNAVAILABLE_BASES = (Presence.Base.OFFLINE, Presence.Base.INACTIVE)


def work_item_lock_held(*, work_item_id: int | None, agent: AgentProfile) -> WorkItem:
    """Lock the work item, which ``agent`` must hold (assigned to them), first of all locks.

    :class:`NotFound` when there is no such item; ``not_holder`` when someone else holds it.
    """
    work_item = work_item_lock(work_item_id=work_item_id)
    if work_item is None:
        raise NotFound("No such conversation.")
    if work_item.agent_id != agent.pk or work_item.status != WorkItem.Status.ASSIGNED:
        raise RoutingError("Only the agent who holds this conversation can hand it over.", code="not_holder")
    return work_item


def _check_has_room(agent: AgentProfile, units: int) -> None:
    """The receiver can hold one more piece of work now: reachable presence, a session slot and
    the capacity, with their pending offers counted as taken (ROU-6, ROU-7)."""
    presence = Presence.objects.get(pk=agent.presence_id)
    if presence.base in UNAVAILABLE_BASES:
        raise RoutingError(f"{agent.display_name} is {presence.name} and cannot take it now.", code="unavailable")
    pending = Offer.objects.filter(agent=agent, status=Offer.Status.PENDING).count()
    if agent.session_count + pending >= MAX_SESSIONS:
        raise RoutingError(f"{agent.display_name} already has {MAX_SESSIONS} open sessions.", code="max_sessions")
    if agent.capacity - agent.capacity_used - agent_reserved_units(agent) < units:
        raise RoutingError(f"{agent.display_name} has no free capacity for it.", code="no_capacity")


def work_item_reassign(*, work_item: WorkItem, by: AgentProfile, to_agent_id: int) -> tuple[AgentProfile, AgentProfile]:
    """The holder gives the work to another agent (ROU-14): capacity and the session slot move
    at once. Returns the locked ``(sender, receiver)``.

    The receiver: an agent who shares a queue with the sender, or anyone for a supervisor
    (SEC-1, else :class:`NotFound`), with room for it now. Called in the owner's transaction
    holding the work item's lock (:func:`work_item_lock_held`); locks the agents next, in
    primary-key order. A refusal raises before anything changed.
    """
    if not agents_visible_to(by.user).filter(pk=to_agent_id).exists():
        raise NotFound("No such agent.")
    if to_agent_id == by.pk:
        raise RoutingError("You already hold this conversation.", code="bad_target")
    agents = lock_rows(AgentProfile.objects.all(), [by.pk, to_agent_id])
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
    return sender, receiver


def work_item_requeue(*, work_item: WorkItem, by: AgentProfile, to_queue_id: int) -> tuple[AgentProfile, Queue]:
    """The holder hands the work back to routing in another queue (ROU-14): they are released,
    their accepted offer is spent, and the item is queued again there. Returns the locked sender
    and the queue. Called in the owner's transaction holding the work item's lock."""
    queue = Queue.objects.filter(pk=to_queue_id, is_active=True).first()
    if queue is None:
        raise NotFound("No such queue.")
    sender = lock_rows(AgentProfile.objects.all(), [by.pk])[by.pk]
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
    if work_item.workstream.distribution == Workstream.Distribution.PICK:
        open_items_changed_on_commit(queue_id=queue.pk)
    else:
        dispatch_on_commit(queue_ids=[queue.pk])
        publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": queue.pk})
    return sender, queue
