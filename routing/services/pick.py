"""Pick mode: agents take queued work from their queues themselves (ROU-13).

A pick-mode workstream's items are never offered (``offers_dispatch`` serves push work only);
they wait, queued, until an agent of the queue picks one. The work item's row lock decides
between agents picking the same item at once: exactly one owner, everybody else is told it
is taken (ROU-10 holds in pick mode too). Locks are taken work item first, then agent — the
order every assignment path uses.
"""

from __future__ import annotations

from django.db import transaction

from agents.models import MAX_SESSIONS, AgentProfile, Presence
from core.errors import NotFound
from routing.errors import RoutingError
from routing.models import Offer, QueueMembership, WorkItem, Workstream
from routing.services.capacity import agent_reserved_units
from routing.services.queue_events import open_items_changed_on_commit
from routing.services.work_items import work_item_assign


def _check_may_take(agent: AgentProfile, work_item: WorkItem, workstream: Workstream) -> None:
    """The locked agent may take the item now: allowed presence, a free session slot and free
    capacity once their pending offers are counted as taken (ROU-1, ROU-6, ROU-7)."""
    allowed = list(workstream.allowed_presences.all())
    presence = Presence.objects.get(pk=agent.presence_id)
    if (allowed and presence not in allowed) or (not allowed and presence.base != Presence.Base.AVAILABLE):
        raise RoutingError(
            f"Your presence “{presence.name}” does not allow taking work from this queue; "
            "set a presence such as Available first.",
            code="presence_not_allowed",
        )
    pending = Offer.objects.filter(agent=agent, status=Offer.Status.PENDING).count()
    if agent.session_count + pending >= MAX_SESSIONS:
        raise RoutingError(
            f"You already have {MAX_SESSIONS} open sessions; close one before taking more work.",
            code="max_sessions",
        )
    free = agent.capacity - agent.capacity_used - agent_reserved_units(agent)
    if free < work_item.capacity_units:
        raise RoutingError(
            f"This work item takes {work_item.capacity_units} capacity units and you have {max(free, 0)} free.",
            code="no_capacity",
        )


@transaction.atomic
def work_item_pick(*, work_item_id: int, agent: AgentProfile) -> WorkItem:
    """The agent takes an open item of one of their queues (ROU-13).

    Only a member of the item's queue sees it (others get :class:`NotFound`, SEC-1). Among
    agents picking the same item at once exactly one wins; the others get ``already_taken``.
    A refusal changes nothing.
    """
    work_item = WorkItem.objects.select_for_update(no_key=True).filter(pk=work_item_id).first()
    if work_item is None or not QueueMembership.objects.filter(queue_id=work_item.queue_id, agent=agent).exists():
        raise NotFound("No such work item in your queues.")
    workstream = Workstream.objects.prefetch_related("allowed_presences").get(pk=work_item.workstream_id)
    if workstream.distribution != Workstream.Distribution.PICK:
        raise RoutingError("Work of this queue is offered to agents; it cannot be picked.", code="not_pickable")
    if work_item.status != WorkItem.Status.QUEUED:
        raise RoutingError("Another agent has already taken this work item.", code="already_taken")
    agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=agent.pk)
    _check_may_take(agent, work_item, workstream)
    work_item.workstream = workstream
    work_item_assign(work_item, agent=agent)
    open_items_changed_on_commit(queue_id=work_item.queue_id)
    return work_item
