"""A work item's lifecycle (ROU-1, ROU-6, ROU-7, ROU-9): enqueued by the owner of the work,
assigned to an agent, wrapped up, completed or cancelled; the capacity it holds meanwhile.

Locks follow ``core.locks``: the work item first, then its offer, then the agent.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.models import AgentProfile, Skill
from core.locks import lock_row
from core.realtime import SUPERVISORS_GROUP, publish_on_commit
from core.tasks_by_name import task_send_on_commit
from routing.models import Queue, WorkItem, Workstream
from routing.services.alerts import agents_at_max_sessions_alert
from routing.services.capacity import agent_capacity_event, agent_follow_capacity, agent_release, dispatch_on_commit
from routing.services.queue_events import open_items_changed_on_commit
from routing.services.transitions import offer_withdraw_pending, work_item_transition
from routing.subjects import work_subject


def _schedule_closest_match(work_item: WorkItem, *, workstream: Workstream, skills: list[Skill]) -> None:
    """ROU-4: with closest matching, an item that needs skills waits ``closest_match_after_seconds``
    for an agent with all of them; then it goes to the nearest match. The moment is a deadline
    column written with the item, a task at that moment dispatches, and the sweep's dispatch
    catches a lost task (design.md, "Time")."""
    if workstream.skill_matching != Workstream.SkillMatching.CLOSEST or not skills:
        return
    work_item.closest_match_at = work_item.enqueued_at + timedelta(seconds=workstream.closest_match_after_seconds)
    work_item.save(update_fields=["closest_match_at"])
    task_send_on_commit("routing.closest_match_due", work_item.pk, eta=work_item.closest_match_at)


@transaction.atomic
def work_item_enqueue(
    *, workstream: Workstream, queue: Queue, skills: list[Skill], kind: str, scenario: str, facts: dict
) -> WorkItem:
    """Put a piece of work in a queue and offer it as soon as this transaction commits.

    Called by the owner of the work (a conversation, a case), which links the new item to its
    row in the same transaction; ``scenario`` says how its offer is announced (NOT-1) and
    ``facts`` is the owner's snapshot of what a notification shows (``routing.models.FACTS``).
    """
    work_subject(kind)  # the kind's owner must be registered: routing will tell it of the assignment
    work_item = WorkItem.objects.create(
        workstream=workstream,
        queue=queue,
        kind=kind,
        scenario=scenario,
        facts=facts,
        capacity_units=workstream.capacity_units,
        enqueued_at=timezone.now(),
    )
    if skills:
        work_item.skills.set(skills)
    if workstream.distribution == Workstream.Distribution.PICK:  # ROU-13: agents take it themselves
        open_items_changed_on_commit(queue_id=queue.pk)
        return work_item
    _schedule_closest_match(work_item, workstream=workstream, skills=skills)
    agents_at_max_sessions_alert(work_item)
    dispatch_on_commit(queue_ids=[queue.pk])
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": queue.pk})
    return work_item


def queue_position(work_item: WorkItem) -> int:
    """1 for the next item the queue serves (LIVE-1)."""
    return (
        WorkItem.objects.filter(
            queue_id=work_item.queue_id,
            status__in=[WorkItem.Status.QUEUED, WorkItem.Status.OFFERED],
        )
        .filter(Q(enqueued_at__lt=work_item.enqueued_at) | Q(enqueued_at=work_item.enqueued_at, pk__lt=work_item.pk))
        .count()
        + 1
    )


def work_item_lock(*, work_item_id: int | None) -> WorkItem | None:
    """Lock a work item, first of all locks (core.locks), for the owner's workflows that lock
    their own rows next (the customer ends the chat, a transfer). None: no such item (or no id:
    the work was not routed yet)."""
    return lock_row(WorkItem.objects.all(), work_item_id)


def work_item_assign(work_item: WorkItem, *, agent: AgentProfile) -> WorkItem:
    """Give a locked work item to a locked agent: capacity, session slot, and the owner of the
    work is told (``routing.subjects``: the conversation becomes active with a session, CONV-3)
    (ROU-6, ROU-7).

    Shared by an accepted offer, an automatic accept (NOT-5, NOT-14) and a pick (ROU-13); the
    caller holds both row locks (work item first, then agent) and has checked the agent may take it.
    """
    now = timezone.now()
    work_item.agent = agent
    work_item.previous_agent = agent
    work_item.assigned_at = now
    work_item.holds_capacity = True
    work_item.closest_match_at = None
    work_item_transition(
        work_item,
        to=WorkItem.Status.ASSIGNED,
        also=["agent", "previous_agent", "assigned_at", "holds_capacity", "closest_match_at"],
    )
    agent.capacity_used += work_item.capacity_units
    agent.session_count += 1
    agent.last_assigned_at = now
    agent.save(update_fields=["capacity_used", "session_count", "last_assigned_at"])
    agent_follow_capacity(agent, work_item)
    work_subject(work_item.kind).assigned(work_item=work_item, agent=agent)  # e.g. the chat becomes active
    publish_on_commit(SUPERVISORS_GROUP, agent_capacity_event(agent))
    return work_item


@transaction.atomic
def work_item_cancel(*, work_item_id: int) -> WorkItem | None:
    """The work went away before anyone took it (a live-chat customer left): withdraw its offer."""
    work_item = WorkItem.objects.select_for_update(no_key=True).filter(pk=work_item_id).first()
    if work_item is None or work_item.status not in (WorkItem.Status.QUEUED, WorkItem.Status.OFFERED):
        return work_item
    offer_withdraw_pending(work_item)
    work_item_transition(work_item, to=WorkItem.Status.DONE)
    if Workstream.objects.filter(pk=work_item.workstream_id, distribution=Workstream.Distribution.PICK).exists():
        open_items_changed_on_commit(queue_id=work_item.queue_id)  # ROU-13: it left the open items
        return work_item
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": work_item.queue_id})
    return work_item


@transaction.atomic
def work_item_wrap_up(*, work_item_id: int) -> WorkItem:
    """Wrap-up started: capacity follows the workstream's wrap-up setting (ROU-1, ROU-6)."""
    work_item = (
        WorkItem.objects.select_for_update(no_key=True, of=("self",)).select_related("workstream").get(pk=work_item_id)
    )
    if work_item.agent_id is None or not work_item.holds_capacity:
        return work_item
    policy = work_item.workstream.wrap_up_capacity
    if policy == Workstream.WrapUpCapacity.NEVER:
        agent = lock_row(AgentProfile.objects.all(), work_item.agent_id)
        agent_release(work_item, agent, session=False)
    elif policy == Workstream.WrapUpCapacity.TIMED:
        work_item.capacity_release_at = timezone.now() + timedelta(
            seconds=work_item.workstream.wrap_up_capacity_seconds or 0
        )
        work_item.save(update_fields=["capacity_release_at"])
    return work_item


@transaction.atomic
def work_item_release_due_capacity(*, work_item_id: int) -> WorkItem | None:
    """Timed wrap-up: release the capacity once its moment has come. Safe to call twice."""
    work_item = WorkItem.objects.select_for_update(no_key=True).filter(pk=work_item_id).first()
    if (
        work_item is None
        or not work_item.holds_capacity
        or work_item.capacity_release_at is None
        or work_item.capacity_release_at > timezone.now()
    ):
        return work_item
    agent = lock_row(AgentProfile.objects.all(), work_item.agent_id)
    agent_release(work_item, agent, session=False)
    return work_item


@transaction.atomic
def work_item_complete(*, work_item_id: int) -> WorkItem | None:
    """The work is finished and its session closed: free capacity and the session slot (ROU-6, ROU-7)."""
    work_item = WorkItem.objects.select_for_update(no_key=True).filter(pk=work_item_id).first()
    if work_item is None or work_item.status == WorkItem.Status.DONE:
        return work_item
    offer_withdraw_pending(work_item)
    # A parked item gave its capacity and session slot back when it was parked (PER-6).
    if work_item.agent_id is not None and work_item.status == WorkItem.Status.ASSIGNED:
        agent = lock_row(AgentProfile.objects.all(), work_item.agent_id)
        agent_release(work_item, agent, session=True, work_ended=True)
    work_item_transition(work_item, to=WorkItem.Status.DONE)
    return work_item


def capacity_release_overdue(*, limit: int = 500) -> int:
    """Release timed wrap-up capacity whose moment has passed (REL-2)."""
    due = list(
        WorkItem.objects.filter(holds_capacity=True, capacity_release_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )[:limit]
    )
    for work_item_id in due:
        work_item_release_due_capacity(work_item_id=work_item_id)
    return len(due)
