"""Push assignment: queued work items are offered to one eligible agent at a time (ROU-9..11).

Locks are always taken in the same order — offer, then work item, then agent — so concurrent
accepts, rejects, timeouts and dispatches never deadlock, and a work item never has two owners
(ROU-10: one pending and one accepted offer per work item are also database constraints).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentConnection, AgentProfile, AgentSkill, Presence, Skill
from agents.services import presence_set_by_system
from core.errors import NotFound
from core.locks import lock_row
from core.realtime import SUPERVISORS_GROUP, agent_group, publish_on_commit
from notifications.models import AgentBanner, AlertSettings
from notifications.scenarios import Scenario
from notifications.selectors import template_for
from notifications.services import (
    banner_raise,
    notification_close_for_offer,
    notification_hold_until,
    notification_raise_for_offer,
)
from routing.errors import RoutingError
from routing.models import Offer, Queue, WorkItem, Workstream
from routing.services.capacity import (
    NoLongerEligible,
    agent_capacity_event,
    agent_follow_capacity,
    agent_release,
    dispatch_on_commit,
)
from routing.states import OFFER, WORK_ITEM
from routing.subjects import work_subject

#: A notification never displayed is re-routed this long after its timeout (NOT-8).
REROUTE_AFTER = timedelta(minutes=8)


def work_item_transition(work_item: WorkItem, *, to: str) -> WorkItem:
    """Apply a work-item move. The caller holds the row lock (select_for_update) in its transaction."""
    WORK_ITEM.check(work_item.status, to)
    work_item.status = to
    work_item.save(update_fields=["status"])
    return work_item


def offer_transition(offer: Offer, *, to: str) -> Offer:
    """Apply an offer move and stamp when it was answered. The caller holds the row lock."""
    OFFER.check(offer.status, to)
    offer.status = to
    offer.responded_at = timezone.now()
    offer.save(update_fields=["status", "responded_at"])
    return offer


# --- eligibility -------------------------------------------------------------------------------


def reachable_filter() -> Exists:
    """Agents with at least one workspace page connected (ROU-8). Connections whose heartbeat
    stopped are removed by the sweep, so any row counts (no clock in this filter)."""
    return Exists(AgentConnection.objects.filter(agent=OuterRef("pk")))


def assignable_presence_filter(workstream: Workstream) -> Q:
    """Presences under which the workstream's work may be assigned (ROU-1); default Available."""
    allowed = [presence.pk for presence in workstream.allowed_presences.all()]
    return Q(presence_id__in=allowed) if allowed else Q(presence__base=Presence.Base.AVAILABLE)


def eligible_agents(work_item: WorkItem, *, skill_ids: list[int] | None = None) -> QuerySet[AgentProfile]:
    """Agents who may be offered this work item now, best first (ROU-9).

    Eligible: member of the item's queue, in an allowed presence, free capacity for the item and
    fewer than 10 sessions once their pending offers are counted as taken (each pending offer
    reserves its units and a session: several items offered to one agent at once can then all be
    accepted, ROU-7), and every skill the item needs (unless the workstream matches no skills).
    Ordered by the queue's assignment method, agents who already declined this item last.
    ``skill_ids``: the item's skills, when the caller has them already (saves a query).
    """
    workstream = work_item.workstream
    units = work_item.capacity_units
    # Reservations come from one outer join to the pending offers and "declined" from one
    # uncorrelated subquery (run once, not per agent), so the cost grows with the queue's members
    # plus the pending offers, never with members × offers (PERF-2).
    declined_by = Offer.objects.filter(
        work_item_id=work_item.pk, status__in=[Offer.Status.REJECTED, Offer.Status.TIMED_OUT]
    ).values("agent_id")
    agents = (
        AgentProfile.objects.filter(
            reachable_filter(),
            assignable_presence_filter(workstream),
            memberships__queue_id=work_item.queue_id,
            session_count__lt=MAX_SESSIONS,
            capacity__gte=F("capacity_used") + units,
        )
        .annotate(pending_offer=FilteredRelation("offers", condition=Q(offers__status=Offer.Status.PENDING)))
        .annotate(
            reserved=Coalesce(Sum("pending_offer__work_item__capacity_units"), Value(0)),
            reserved_sessions=Count("pending_offer"),
        )
        .annotate(free=F("capacity") - F("capacity_used") - F("reserved"))
        .filter(free__gte=units, session_count__lt=MAX_SESSIONS - F("reserved_sessions"))
        .annotate(declined=Case(When(pk__in=declined_by, then=Value(True)), default=Value(False)))
    )
    nearest_first = []
    if workstream.skill_matching != Workstream.SkillMatching.NONE:
        if skill_ids is None:
            skill_ids = list(work_item.skills.values_list("pk", flat=True))
        if skill_ids and closest_match_due(work_item):
            # ROU-4: the wait for an exact match is over: the nearest match first — most of the
            # needed skills, then the highest total proficiency in them (subqueries, so the
            # reservation sums above are not multiplied by a second join).
            held = AgentSkill.objects.filter(agent=OuterRef("pk"), skill_id__in=skill_ids).values("agent")
            agents = agents.annotate(
                skills_matched=Coalesce(Subquery(held.annotate(n=Count("pk")).values("n")), Value(0)),
                skills_proficiency=Coalesce(Subquery(held.annotate(p=Sum("proficiency")).values("p")), Value(0)),
            )
            nearest_first = [F("skills_matched").desc(), F("skills_proficiency").desc()]
        else:
            for skill_id in skill_ids:
                agents = agents.filter(Exists(AgentSkill.objects.filter(agent=OuterRef("pk"), skill_id=skill_id)))
    method = work_item.queue.assignment_method
    if method == Queue.AssignmentMethod.ROUND_ROBIN:
        order = [F("last_assigned_at").asc(nulls_first=True)]
    elif method == Queue.AssignmentMethod.LONGEST_IDLE:
        order = [F("last_work_ended_at").asc(nulls_first=True), F("last_assigned_at").asc(nulls_first=True)]
    else:
        order = [F("free").desc(), F("last_assigned_at").asc(nulls_first=True)]
    return agents.order_by("declined", *nearest_first, *order, "pk")


def closest_match_due(work_item: WorkItem) -> bool:
    """Whether the item's wait for an exact skill match is over (ROU-4, closest matching only)."""
    return (
        work_item.workstream.skill_matching == Workstream.SkillMatching.CLOSEST
        and work_item.closest_match_at is not None
        and work_item.closest_match_at <= timezone.now()
    )


def _schedule_closest_match(work_item: WorkItem, *, workstream: Workstream, skills: list[Skill]) -> None:
    """ROU-4: with closest matching, an item that needs skills waits ``closest_match_after_seconds``
    for an agent with all of them; then it goes to the nearest match. The moment is a deadline
    column written with the item, a task at that moment dispatches, and the sweep's dispatch
    catches a lost task (design.md, "Time")."""
    if workstream.skill_matching != Workstream.SkillMatching.CLOSEST or not skills:
        return
    from routing.tasks import closest_match_due as closest_match_task

    work_item.closest_match_at = work_item.enqueued_at + timedelta(seconds=workstream.closest_match_after_seconds)
    work_item.save(update_fields=["closest_match_at"])
    work_item_id, eta = work_item.pk, work_item.closest_match_at
    transaction.on_commit(lambda: closest_match_task.apply_async((work_item_id,), eta=eta))


def work_item_closest_match_dispatch(*, work_item_id: int) -> int:
    """The closest-match moment of a work item came (ROU-4): offer its queue's work again, now with
    the nearest match allowed. Early, repeated or late calls (the item was taken) change nothing.
    Returns how many offers were made."""
    work_item = (
        WorkItem.objects.filter(pk=work_item_id, status=WorkItem.Status.QUEUED).select_related("workstream").first()
    )
    if work_item is None or not closest_match_due(work_item):
        return 0
    return offers_dispatch(queue_ids=[work_item.queue_id])


# --- work items --------------------------------------------------------------------------------


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
        from routing.services.pick import open_items_changed_on_commit

        open_items_changed_on_commit(queue_id=queue.pk)
        return work_item
    _schedule_closest_match(work_item, workstream=workstream, skills=skills)
    _alert_agents_at_max_sessions(work_item)
    dispatch_on_commit(queue_ids=[queue.pk])
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": queue.pk})
    return work_item


def _alert_agents_at_max_sessions(work_item: WorkItem) -> None:
    """NOT-12: reachable queue members in an assignable presence who already hold 10 sessions
    when this work item arrives turn Do not disturb, with a banner (when the switch is on)."""
    if not AlertSettings.load().max_sessions_enabled:
        return
    full = (
        AgentProfile.objects.filter(
            reachable_filter(),
            assignable_presence_filter(work_item.workstream),
            memberships__queue_id=work_item.queue_id,
            session_count__gte=MAX_SESSIONS,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for agent_id in list(full):
        agent = AgentProfile.objects.select_for_update().get(pk=agent_id)
        if agent.session_count >= MAX_SESSIONS:
            _presence_alert(agent, kind=AgentBanner.Kind.MAX_SESSIONS)


def _presence_alert(agent: AgentProfile, *, kind: str, message: str | None = None) -> None:
    """A presence-changing alert for a locked agent: the kind's presence and its banner (NOT-8, NOT-10..12)."""
    base = Presence.Base.INACTIVE if kind == "missed_notification" else Presence.Base.BUSY_DND
    presence_set_by_system(agent, base=base)
    banner_raise(agent_id=agent.pk, kind=kind, message=message)


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


def _withdraw_pending_offer(work_item: WorkItem) -> None:
    offer = Offer.objects.select_for_update().filter(work_item=work_item, status=Offer.Status.PENDING).first()
    if offer is not None:
        offer_transition(offer, to=Offer.Status.LOST)
        notification_close_for_offer(offer=offer, status="withdrawn")


def work_item_lock(*, work_item_id: int | None) -> WorkItem | None:
    """Lock a work item, first of all locks (core.locks), for the owner's workflows that lock
    their own rows next (the customer ends the chat, a transfer). None: no such item (or no id:
    the work was not routed yet)."""
    return lock_row(WorkItem.objects.all(), work_item_id)


@transaction.atomic
def work_item_cancel(*, work_item_id: int) -> WorkItem | None:
    """The work went away before anyone took it (a live-chat customer left): withdraw its offer."""
    work_item = WorkItem.objects.select_for_update().filter(pk=work_item_id).first()
    if work_item is None or work_item.status not in (WorkItem.Status.QUEUED, WorkItem.Status.OFFERED):
        return work_item
    _withdraw_pending_offer(work_item)
    work_item_transition(work_item, to=WorkItem.Status.DONE)
    if Workstream.objects.filter(pk=work_item.workstream_id, distribution=Workstream.Distribution.PICK).exists():
        from routing.services.pick import open_items_changed_on_commit

        open_items_changed_on_commit(queue_id=work_item.queue_id)  # ROU-13: it left the open items
        return work_item
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": work_item.queue_id})
    return work_item


@transaction.atomic
def work_item_wrap_up(*, work_item_id: int) -> WorkItem:
    """Wrap-up started: capacity follows the workstream's wrap-up setting (ROU-1, ROU-6)."""
    work_item = WorkItem.objects.select_for_update(of=("self",)).select_related("workstream").get(pk=work_item_id)
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
    work_item = WorkItem.objects.select_for_update().filter(pk=work_item_id).first()
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
    work_item = WorkItem.objects.select_for_update().filter(pk=work_item_id).first()
    if work_item is None or work_item.status == WorkItem.Status.DONE:
        return work_item
    _withdraw_pending_offer(work_item)
    # A parked item gave its capacity and session slot back when it was parked (PER-6).
    if work_item.agent_id is not None and work_item.status == WorkItem.Status.ASSIGNED:
        agent = lock_row(AgentProfile.objects.all(), work_item.agent_id)
        agent_release(work_item, agent, session=True, work_ended=True)
    work_item_transition(work_item, to=WorkItem.Status.DONE)
    return work_item


# --- offers --------------------------------------------------------------------------------------


def _offer_template(work_item: WorkItem, scenario: str) -> tuple[int, bool]:
    """The scenario template's timeout (NOT-6) and whether it accepts automatically (NOT-5)."""
    template = template_for(workstream=work_item.workstream, scenario=scenario)
    return template.timeout_seconds, template.auto_accept


def _scenario_for(work_item: WorkItem) -> str:
    """How the item's offer is announced: the owner said so when it enqueued (NOT-1, ROU-15)."""
    return work_item.scenario


@dataclass
class _DispatchPass:
    """What one dispatch pass learns once and reuses for every work item it handles."""

    workstreams: dict[int, Workstream] = field(default_factory=dict)
    templates: dict[tuple[int, str], tuple[int, bool]] = field(default_factory=dict)
    # Item kinds (queue, workstream, units, skills) that found no eligible agent: the same kind
    # finds none either until something changes, and every such change dispatches again (ROU-11).
    no_room: set[tuple] = field(default_factory=set)


def _offer_to_best_agent(
    work_item: WorkItem, *, skill_ids: list[int] | None = None, dispatch_pass: _DispatchPass | None = None
) -> Offer | None:
    """Offer a locked, queued work item to the best eligible agent, re-checked under the agent's lock."""
    from routing.services.continuity import work_item_give_back

    dispatch_pass = dispatch_pass or _DispatchPass()
    eligible = eligible_agents(work_item, skill_ids=skill_ids)
    if work_item.keep_agent_until is not None and work_item_give_back(work_item, eligible):
        return None  # ROU-12, PER-6: a returning persistent chat is handed back to its agent, not offered
    candidates = list(eligible.values_list("pk", flat=True)[:5])
    if not candidates:
        dispatch_pass.no_room.add(_item_kind(work_item, skill_ids))
    for agent_id in candidates:
        try:
            # A savepoint per candidate: rolling it back releases the agent's row lock, so a
            # dispatcher never holds one agent while it waits for the next (two dispatchers
            # walking candidates in different orders would deadlock).
            with transaction.atomic():
                agent = AgentProfile.objects.select_for_update().get(pk=agent_id)
                # Another dispatcher may have offered this agent other work while we waited for the lock.
                if not eligible.filter(pk=agent_id).exists():
                    raise NoLongerEligible
                scenario = _scenario_for(work_item)
                template_key = (work_item.workstream_id, scenario)
                if template_key not in dispatch_pass.templates:
                    dispatch_pass.templates[template_key] = _offer_template(work_item, scenario)
                timeout_seconds, template_auto_accept = dispatch_pass.templates[template_key]
                now = timezone.now()
                offer = Offer.objects.create(
                    work_item=work_item,
                    agent=agent,
                    created_at=now,
                    expires_at=now + timedelta(seconds=timeout_seconds),
                )
                work_item_transition(work_item, to=WorkItem.Status.OFFERED)
                if work_item.workstream.auto_accept or template_auto_accept:
                    # NOT-5: accepted on creation; the agent gets a toast that opens the session.
                    offer_transition(offer, to=Offer.Status.ACCEPTED)
                    notification_raise_for_offer(offer=offer, scenario=scenario, automatic=True)
                    work_item_assign(work_item, agent=agent)
                    _publish_accepted(offer, work_item, agent, automatic=True)
                    return offer
                notification_raise_for_offer(offer=offer, scenario=scenario)
                _schedule_offer_timeout(offer)
                return offer
        except NoLongerEligible:
            continue
    return None


def _item_kind(work_item: WorkItem, skill_ids: list[int] | None) -> tuple:
    """What eligibility depends on besides the agents (see eligible_agents)."""
    skills = frozenset(skill_ids if skill_ids is not None else work_item.skills.values_list("pk", flat=True))
    closest = work_item.closest_match_at is not None and work_item.closest_match_at <= timezone.now()
    return (work_item.queue_id, work_item.workstream_id, work_item.capacity_units, skills, closest)


def _schedule_offer_timeout(offer: Offer) -> None:
    from routing.tasks import time_out_offer

    eta = offer.expires_at
    transaction.on_commit(lambda: time_out_offer.apply_async((offer.pk,), eta=eta))


def offers_dispatch(*, queue_ids: list[int] | None = None, agent_id: int | None = None, limit: int = 200) -> int:
    """Offer queued push work to eligible agents, queues by priority, oldest first (ROU-9, ROU-11).

    Each work item is handled in its own transaction under its row lock (skipping items another
    dispatcher holds), so any number of dispatchers may run at once. Returns how many offers it made.
    Once an item finds no eligible agent, items of the same kind later in the pass are not looked
    at again (the next change that frees an agent dispatches anew).
    """
    items = WorkItem.objects.filter(
        status=WorkItem.Status.QUEUED,
        workstream__distribution=Workstream.Distribution.PUSH,
        queue__is_active=True,
    )
    if agent_id is not None:
        items = items.filter(queue__memberships__agent_id=agent_id)
    if queue_ids is not None:
        items = items.filter(queue_id__in=queue_ids)
    now = timezone.now()
    candidates = [
        (pk, queue_id, workstream_id, units, closest_at is not None and closest_at <= now)
        for pk, queue_id, workstream_id, units, closest_at in items.order_by(
            "queue__priority", "enqueued_at", "pk"
        ).values_list("pk", "queue_id", "workstream_id", "capacity_units", "closest_match_at")[:limit]
    ]
    skills_of: dict[int, list[int]] = {pk: [] for pk, *_ in candidates}
    for work_item_id, skill_id in WorkItem.skills.through.objects.filter(workitem_id__in=list(skills_of)).values_list(
        "workitem_id", "skill_id"
    ):
        skills_of[work_item_id].append(skill_id)
    dispatch_pass = _DispatchPass()
    open_now: dict[int, bool] = {}
    offered = 0
    for work_item_id, queue_id, workstream_id, units, closest in candidates:
        if (queue_id, workstream_id, units, frozenset(skills_of[work_item_id]), closest) in dispatch_pass.no_room:
            continue
        with transaction.atomic():
            work_item = (
                WorkItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("queue__operating_hours")
                .filter(pk=work_item_id, status=WorkItem.Status.QUEUED)
                .first()
            )
            if work_item is None:
                continue
            if workstream_id not in dispatch_pass.workstreams:
                dispatch_pass.workstreams[workstream_id] = Workstream.objects.prefetch_related("allowed_presences").get(
                    pk=workstream_id
                )
            work_item.workstream = dispatch_pass.workstreams[workstream_id]
            if work_item.queue_id not in open_now:
                schedule = work_item.queue.operating_hours
                open_now[work_item.queue_id] = schedule is None or schedule.is_open_at(timezone.now())
            if (
                open_now[work_item.queue_id]
                and _offer_to_best_agent(work_item, skill_ids=skills_of[work_item_id], dispatch_pass=dispatch_pass)
                is not None
            ):
                offered += 1
    return offered


def offer_lock_with_work_item(offer_id: int) -> tuple[Offer | None, WorkItem | None]:
    """Lock an offer's work item, then the offer (core.locks order); ``(None, None)`` for no offer.

    Called inside the caller's transaction before it locks any agent or conversation.
    """
    work_item_id = Offer.objects.filter(pk=offer_id).values_list("work_item_id", flat=True).first()
    work_item = lock_row(WorkItem.objects.all(), work_item_id)
    offer = lock_row(Offer.objects.all(), offer_id) if work_item is not None else None
    return offer, work_item


def _locked_offer(offer_id: int) -> tuple[Offer, WorkItem]:
    offer, work_item = offer_lock_with_work_item(offer_id)
    if offer is None:
        raise NotFound("No such offer.")
    return offer, work_item


@transaction.atomic
def offer_accept(*, offer_id: int, agent: AgentProfile) -> Offer:
    """The agent takes the work item. Exactly one caller can win it (ROU-10)."""
    offer, work_item = _locked_offer(offer_id)
    if offer.agent_id != agent.pk:
        raise RoutingError("This offer was made to another agent.", code="not_yours")
    if offer.status != Offer.Status.PENDING:
        raise RoutingError("This work item is no longer available.", code="offer_gone")
    # NOT-8: a notification never displayed stays the agent's until its re-route moment.
    if (offer.reroute_at or offer.expires_at) <= timezone.now():
        raise RoutingError("The time to accept this work item has passed.", code="offer_expired")
    agent = lock_row(AgentProfile.objects.all(), agent.pk)
    if agent.session_count >= MAX_SESSIONS:
        raise RoutingError(f"You already have {MAX_SESSIONS} open sessions.", code="max_sessions")
    offer_transition(offer, to=Offer.Status.ACCEPTED)
    notification_close_for_offer(offer=offer, status="accepted")
    work_item_assign(work_item, agent=agent)
    _publish_accepted(offer, work_item, agent)
    return offer


def _publish_accepted(offer: Offer, work_item: WorkItem, agent: AgentProfile, *, automatic: bool = False) -> None:
    publish_on_commit(
        agent_group(agent.pk),
        {
            "type": "offer.accepted",
            "offer": offer.pk,
            "conversation": work_item.references.get("conversation"),
            "url": work_item.fact("url") or None,
            "automatic": automatic,
        },
    )


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
    work_item.save(update_fields=["agent", "previous_agent", "assigned_at", "holds_capacity", "closest_match_at"])
    work_item_transition(work_item, to=WorkItem.Status.ASSIGNED)
    agent.capacity_used += work_item.capacity_units
    agent.session_count += 1
    agent.last_assigned_at = now
    agent.save(update_fields=["capacity_used", "session_count", "last_assigned_at"])
    agent_follow_capacity(agent, work_item)
    work_subject(work_item.kind).assigned(work_item=work_item, agent=agent)  # e.g. the chat becomes active
    publish_on_commit(SUPERVISORS_GROUP, agent_capacity_event(agent))
    return work_item


def _decline(offer: Offer, work_item: WorkItem, *, to: str) -> None:
    """Called while holding the locks of the work item and then the offer."""
    offer_transition(offer, to=to)
    notification_close_for_offer(offer=offer, status=to)
    if to == Offer.Status.TIMED_OUT:
        # The agent missed it: the workspace drops its alert; outbound webhooks say so (API-2).
        publish_on_commit(
            agent_group(offer.agent_id),
            {
                "type": "offer.timed_out",
                "offer": offer.pk,
                "agent": offer.agent_id,
                "work_item": work_item.pk,
                **work_item.references,
                "queue": work_item.queue_id,
            },
        )
    if work_item.status == WorkItem.Status.OFFERED:
        work_item_transition(work_item, to=WorkItem.Status.QUEUED)
        dispatch_on_commit(queue_ids=[work_item.queue_id])


@transaction.atomic
def offer_reject(*, offer_id: int, agent: AgentProfile) -> Offer:
    """The agent declines; the work item goes to the next eligible agent (NOT-4)."""
    offer, work_item = _locked_offer(offer_id)
    if offer.agent_id != agent.pk:
        raise RoutingError("This offer was made to another agent.", code="not_yours")
    if offer.status != Offer.Status.PENDING:
        raise RoutingError("This work item is no longer available.", code="offer_gone")
    workstream = Workstream.objects.get(work_items__pk=offer.work_item_id)
    if not workstream.agents_may_reject or _scenario_for(offer.work_item) == Scenario.CASE_ASSIGNMENT:
        raise RoutingError("This work item cannot be rejected.", code="reject_not_allowed")
    _decline(offer, work_item, to=Offer.Status.REJECTED)

    if AlertSettings.load().agent_reject_enabled:  # NOT-11
        agent = AgentProfile.objects.select_for_update().get(pk=agent.pk)
        _presence_alert(agent, kind=AgentBanner.Kind.REJECTED)
    return offer


MISSED_UNSEEN_MESSAGE = (
    "A conversation was sent to you while your workspace could not show it, so your presence is now Inactive. "
    "Set your presence to get new work."
)


@transaction.atomic
def offer_time_out(*, offer_id: int) -> Offer | None:
    """The agent did not answer in time (NOT-7, NOT-8, NOT-10).

    - Displayed (a workspace page acknowledged it): the work goes to the next eligible agent at
      once, and with the missed-notification alert on the agent turns Inactive with a banner.
    - Never displayed (the page was closed, gone or offline): the work stays with this agent,
      who turns Inactive at once — Inactive rather than Offline because Offline means "no page
      connected" and is restored by reconnecting (ROU-8), whereas a missed conversation must be
      acknowledged by setting a presence; the deadline moves to ``reroute_at``, eight minutes
      after the timeout, until which the agent may still accept it.
    - At ``reroute_at`` the work goes to the next eligible agent.

    Called by the tasks scheduled for ``expires_at`` and ``reroute_at`` and by the sweep; early
    or repeated calls change nothing.
    """
    offer, work_item = offer_lock_with_work_item(offer_id)
    now = timezone.now()
    if offer is None or offer.status != Offer.Status.PENDING or offer.expires_at > now:
        return offer
    if work_item.kind == WorkItem.Kind.CASE:  # NOT-14: a case assignment holds whatever the timeout
        return _case_assignment_hold(offer, work_item)
    if offer.reroute_at is None and offer.displayed_at is None:  # NOT-8
        offer.reroute_at = offer.expires_at + REROUTE_AFTER
        offer.save(update_fields=["reroute_at"])
        notification_hold_until(offer=offer, until=offer.reroute_at)
        agent = AgentProfile.objects.select_for_update().get(pk=offer.agent_id)
        _presence_alert(agent, kind=AgentBanner.Kind.MISSED_NOTIFICATION, message=MISSED_UNSEEN_MESSAGE)
        _schedule_offer_deadline(offer, eta=offer.reroute_at)
        return offer
    if offer.reroute_at is not None:
        if offer.reroute_at > now:
            return offer
        _decline(offer, work_item, to=Offer.Status.TIMED_OUT)
        return offer
    _decline(offer, work_item, to=Offer.Status.TIMED_OUT)
    if AlertSettings.load().missed_notification_enabled:  # NOT-10
        agent = AgentProfile.objects.select_for_update().get(pk=offer.agent_id)
        _presence_alert(agent, kind=AgentBanner.Kind.MISSED_NOTIFICATION)
    return offer


def _case_assignment_hold(offer: Offer, work_item: WorkItem) -> Offer:
    """NOT-14: a case assignment cannot be rejected and is not re-routed: at its timeout the case
    is the agent's (assigned to them, as if they had opened it), with no presence change.

    The pending offer reserved a session slot for the agent (eligible_agents), so the slot is
    there; should it not be (the agent was given sessions another way), the offer stays pending
    and the sweep holds it once a slot is free.
    """
    agent = lock_row(AgentProfile.objects.all(), offer.agent_id)
    if agent.session_count >= MAX_SESSIONS:
        return offer
    offer_transition(offer, to=Offer.Status.ACCEPTED)
    notification_close_for_offer(offer=offer, status="accepted")
    work_item_assign(work_item, agent=agent)
    _publish_accepted(offer, work_item, agent, automatic=True)
    return offer


def _schedule_offer_deadline(offer: Offer, *, eta) -> None:
    from routing.tasks import time_out_offer

    offer_id = offer.pk
    transaction.on_commit(lambda: time_out_offer.apply_async((offer_id,), eta=eta))


def offers_time_out_overdue(*, limit: int = 500) -> int:
    """Apply the timeouts and eight-minute re-routes whose task was lost (REL-2). Returns how many
    offers it timed out (a never-displayed one counts when it is re-routed)."""
    now = timezone.now()
    overdue = list(
        Offer.objects.filter(status=Offer.Status.PENDING, expires_at__lte=now)
        .filter(Q(reroute_at__isnull=True) | Q(reroute_at__lte=now))
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for offer_id in overdue:
        offer = offer_time_out(offer_id=offer_id)
        done += offer is not None and offer.status == Offer.Status.TIMED_OUT
    return done


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
