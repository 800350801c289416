"""Reads of the routing app that pages, consumers and the API share.

Who sees what (SEC-1): admins (staff) and supervisors see every queue, workstream and agent;
an agent sees their own queues, the workstreams that route into them, and the agents who
share a queue with them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentProfile
from agents.selectors import agent_for_user, oversees_all
from notifications.models import AgentBanner, NotificationTemplate
from routing.models import Queue, QueueMembership, RoutingRule, WorkItem, Workstream, WorkstreamTemplate
from routing.rules import queue_is_open
from routing.services.eligibility import assignable_presence_filter, reachable_filter


def queue_ids_of(agent: AgentProfile) -> QuerySet:
    """The ids of the agent's queues, as a subquery (no query of its own)."""
    return QueueMembership.objects.filter(agent=agent).values("queue_id")


def queue_member_ids(queue_id: int) -> list[int]:
    """The agents of a queue, by id (whom a change of its waiting work concerns). One query."""
    return list(QueueMembership.objects.filter(queue_id=queue_id).values_list("agent_id", flat=True))


def queues_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Queue]:
    """Queues with their operating hours (windows and holidays prefetched)."""
    queues = Queue.objects.select_related("operating_hours").prefetch_related(
        "operating_hours__windows", "operating_hours__holidays"
    )
    if oversees_all(user):
        return queues.all()
    agent = agent_for_user(user)
    if agent is None:
        return queues.none()
    return queues.filter(pk__in=queue_ids_of(agent))


def workstreams_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Workstream]:
    """Workstreams with their allowed presences and ordered routing rules.

    An agent sees a workstream that can send work to one of their queues: its default or
    fallback queue, or the queue of one of its routing rules.
    """
    workstreams = Workstream.objects.prefetch_related(
        "allowed_presences",
        Prefetch("routing_rules", queryset=RoutingRule.objects.order_by("order", "pk").prefetch_related("skills")),
    )
    if oversees_all(user):
        return workstreams.all()
    agent = agent_for_user(user)
    if agent is None:
        return workstreams.none()
    mine = queue_ids_of(agent)
    reachable = Q(default_queue__in=mine) | Q(fallback_queue__in=mine)
    routed = RoutingRule.objects.filter(queue__in=mine).values("workstream_id")
    return workstreams.filter(reachable | Q(pk__in=routed))


def agents_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AgentProfile]:
    """Agents with their presence. An agent sees themselves and those sharing one of their queues."""
    agents = AgentProfile.objects.select_related("presence")
    if oversees_all(user):
        return agents.all()
    agent = agent_for_user(user)
    if agent is None:
        return agents.none()
    colleagues = QueueMembership.objects.filter(queue__in=queue_ids_of(agent)).values("agent_id")
    return agents.filter(Q(pk=agent.pk) | Q(pk__in=colleagues))


# --- The supervisor's live view (ADM-2) ------------------------------------------------------------
#: Work items still waiting for an agent: in the queue, or offered and not yet taken.
WAITING_STATUSES = ("queued", "offered")


def supervisor_agents() -> list[AgentProfile]:
    """Every agent with their presence, capacity, open sessions and their latest open banner (ADM-2).

    One query whatever the number of agents: the banner comes as an annotation
    (``open_banner``: its message, or None), so a supervisor sees who waits for a presence reset
    (NOT-10..12).
    """
    open_banner = (
        AgentBanner.objects.filter(agent=OuterRef("pk"), cleared_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values("message")[:1]
    )
    return list(
        AgentProfile.objects.select_related("presence")
        .annotate(open_banner=Subquery(open_banner))
        .order_by("display_name", "pk")
    )


def supervisor_queues() -> list[Queue]:
    """Every active queue with ``waiting`` (work items queued or offered) and ``oldest_waiting_since``
    (when the longest-waiting one was queued, or None), in one query (ADM-2)."""
    waiting = Q(work_items__status__in=WAITING_STATUSES)
    return list(
        Queue.objects.filter(is_active=True)
        .annotate(
            waiting=Count("work_items", filter=waiting),
            oldest_waiting_since=Min("work_items__enqueued_at", filter=waiting),
        )
        .order_by("priority", "name", "pk")
    )


# --- Pick mode (ROU-13) ----------------------------------------------------------------------------
#: The open-items list shows at most this many, the next to serve first.
OPEN_ITEMS_LIMIT = 200


def open_items_for(agent: AgentProfile, *, limit: int = OPEN_ITEMS_LIMIT) -> list:
    """The queued work of pick-mode workstreams in the agent's active queues, queues by priority
    and oldest first (ROU-9, ROU-13), with what a list shows about each. One query.

    Only the agent's own queues (SEC-1): a supervisor picks from the queues they are a member of.
    """
    return list(
        open_work_items(agent)
        .select_related("queue", "workstream")
        .order_by("queue__priority", "enqueued_at", "pk")[:limit]
    )


def open_work_items(agent: AgentProfile) -> QuerySet:
    """What the agent may pick (ROU-13), unordered and unsliced, for counts and subqueries."""
    return WorkItem.objects.filter(
        status=WorkItem.Status.QUEUED,
        workstream__distribution=Workstream.Distribution.PICK,
        queue__in=queue_ids_of(agent),
        queue__is_active=True,
    )


def workstream_template_chosen(workstream: Workstream, scenario: str) -> NotificationTemplate | None:
    """The notification template the workstream's admin chose for the scenario, with its fields (NOT-2).

    None when the admin chose none (the scenario's default applies). Registered with the
    notifications app in ``RoutingConfig.ready()`` as its template chooser.
    """
    chosen = (
        WorkstreamTemplate.objects.filter(workstream=workstream, scenario=scenario)
        .select_related("template")
        .prefetch_related("template__fields")
        .first()
    )
    return chosen.template if chosen is not None else None


def work_items_with_workstream(work_item_ids: Collection[int]) -> dict[int, WorkItem]:
    """The work items of these ids with their workstreams, by id, in one query. Registered with
    the notifications app in ``RoutingConfig.ready()``: a notification keeps only the id."""
    return WorkItem.objects.select_related("workstream").in_bulk(work_item_ids)


def queue_can_serve_now(queue: Queue | None, workstream: Workstream, *, now: datetime | None = None) -> bool:
    """Somebody could pick a chat of ``workstream`` up in ``queue`` right now (LIVE-4, WID-8).

    The queue is active and open by its operating hours, and one of its members is reachable (a
    workspace page open), in a presence the workstream allows, with a session slot and free
    capacity for it: routing's own eligibility filters (ROU-8, ROU-9). One query for the agents,
    after the queue's hours (prefetch ``operating_hours__windows`` and ``__holidays`` to save two).
    """
    if queue is None or not queue.is_active or not queue_is_open(queue, now or timezone.now()):
        return False
    return (
        AgentProfile.objects.filter(
            reachable_filter(),
            assignable_presence_filter(workstream),
            memberships__queue=queue,
            session_count__lt=MAX_SESSIONS,
            capacity__gte=F("capacity_used") + workstream.capacity_units,
        )
        .order_by()
        .exists()
    )
