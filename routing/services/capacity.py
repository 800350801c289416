"""Capacity accounting of agents (ROU-6, ROU-7, ROU-8): what a work item takes, what pending
offers reserve, and giving it back — written once for every path that releases an agent.

Every function here is called while holding the row locks of the work item and then the agent
(core.locks order), inside the caller's transaction.
"""

from __future__ import annotations

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import AgentProfile
from agents.services.presence import presence_follow_capacity
from core.realtime import SUPERVISORS_GROUP, publish_on_commit
from core.tasks_by_name import task_send_on_commit
from routing.models import Offer, WorkItem


class NoLongerEligible(Exception):
    """Rolls back the savepoint of a candidate who lost eligibility while we waited for their lock."""


def dispatch_on_commit(*, queue_ids: list[int] | None = None, agent_id: int | None = None) -> None:
    """Offer queued work once this transaction commits (ROU-11): a dispatch pass as a Celery task
    sent on commit, so the caller (a socket handler storing a customer's message, an agent's
    accept) never waits for up to 200 items to be routed. A lost task is made up for by the
    sweep's periodic dispatch (REL-2); passes may overlap, as each item is locked with SKIP LOCKED.
    """
    queue_ids = sorted(set(queue_ids)) if queue_ids is not None else None
    task_send_on_commit("routing.offers_dispatch", queue_ids, agent_id)


def agent_capacity_event(agent: AgentProfile) -> dict:
    """The supervisors' live event for an agent whose capacity or sessions changed."""
    return {
        "type": "agent.capacity",
        "agent": agent.pk,
        "capacity": agent.capacity,
        "capacity_used": agent.capacity_used,
        "session_count": agent.session_count,
    }


def agent_reserved_units(agent: AgentProfile) -> int:
    """Capacity held back for the agent's pending offers (as eligible_agents counts it)."""
    return Offer.objects.filter(agent=agent, status=Offer.Status.PENDING).aggregate(
        units=Coalesce(Sum("work_item__capacity_units"), 0)
    )["units"]


def agent_follow_capacity(agent: AgentProfile, work_item: WorkItem) -> None:
    """Automatic presence after the locked agent's capacity changed (ROU-8)."""
    presence_follow_capacity(agent, automatic=work_item.workstream.automatic_presence)


def capacity_release(work_item: WorkItem, agent: AgentProfile) -> None:
    """Give the item's units back to the locked agent (ROU-6); the caller saves the agent."""
    if work_item.holds_capacity:
        agent.capacity_used = max(agent.capacity_used - work_item.capacity_units, 0)
        work_item.holds_capacity = False
        work_item.capacity_release_at = None
        work_item.save(update_fields=["holds_capacity", "capacity_release_at"])


def agent_release(work_item: WorkItem, agent: AgentProfile, *, session: bool, work_ended: bool = False) -> None:
    """The agent no longer works on the item: its capacity back (ROU-6), with ``session`` its
    session slot too (ROU-7), with ``work_ended`` the moment counts for longest-idle routing.
    Then automatic presence follows, supervisors are told and the freed room takes queued work
    (ROU-11). The one "release the agent" of every path: complete, park, transfer, wrap-up.
    """
    capacity_release(work_item, agent)
    update = ["capacity_used"]
    if session:
        agent.session_count = max(agent.session_count - 1, 0)
        update.append("session_count")
    if work_ended:
        agent.last_work_ended_at = timezone.now()
        update.append("last_work_ended_at")
    agent.save(update_fields=update)
    agent_follow_capacity(agent, work_item)
    publish_on_commit(SUPERVISORS_GROUP, agent_capacity_event(agent))
    dispatch_on_commit(agent_id=agent.pk)
