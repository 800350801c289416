"""Who may be offered work now (ROU-1, ROU-4, ROU-6..9): the eligibility filters and the one read
a dispatch pass makes of the agents of all the queues it serves.

A dispatch pass (``routing.services.dispatch``) reads every eligible member of its queues once,
with what decides among them (free capacity, sessions, skills, when they last got work), and then
chooses in memory. The read's cost grows with the members of the queues it serves, never with the
items of the pass: one statement for the agents, one for their reservations, one for their skills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from agents.models import MAX_SESSIONS, AgentConnection, AgentProfile, AgentSkill, Presence
from routing.models import Offer, Workstream


def reachable_filter() -> Exists:
    """Agents with at least one workspace page connected (ROU-8). Connections whose heartbeat
    stopped are removed by the sweep, so any row counts (no clock in this filter)."""
    return Exists(AgentConnection.objects.filter(agent=OuterRef("pk")))


def assignable_presence_filter(workstream: Workstream) -> Q:
    """Presences under which the workstream's work may be assigned (ROU-1); default Available."""
    allowed = [presence.pk for presence in workstream.allowed_presences.all()]
    return Q(presence_id__in=allowed) if allowed else Q(presence__base=Presence.Base.AVAILABLE)


@dataclass
class Candidate:
    """An agent as a dispatch pass sees them: what they hold, what their pending offers reserve
    (each pending offer reserves its units and a session, so every offer out can be accepted,
    ROU-7), and what the pass gives them as it goes."""

    pk: int
    presence_id: int
    presence_base: str
    capacity: int
    capacity_used: int
    session_count: int
    last_assigned_at: datetime | None
    last_work_ended_at: datetime | None
    queues: set[int] = field(default_factory=set)
    reserved_units: int = 0
    reserved_sessions: int = 0
    skills: dict[int, int] = field(default_factory=dict)  # skill id → proficiency

    @property
    def free(self) -> int:
        return self.capacity - self.capacity_used - self.reserved_units

    def fits(self, units: int) -> bool:
        """Room for one more item of ``units`` (ROU-6) and a session slot (ROU-7)."""
        return self.free >= units and self.session_count + self.reserved_sessions < MAX_SESSIONS

    def presence_allowed(self, allowed: frozenset[int]) -> bool:
        """``allowed``: the workstream's presences; empty means Available only (ROU-1)."""
        return self.presence_id in allowed if allowed else self.presence_base == Presence.Base.AVAILABLE


def eligible_candidates(
    *,
    queue_ids: list[int],
    allowed_presences: list[frozenset[int]],
    min_units: int,
    with_skills: bool,
    agent_ids: list[int] | None = None,
) -> dict[int, Candidate]:
    """Every reachable member of these queues in a presence one of the workstreams allows, with
    room for the smallest item and a session slot left (ROU-1, ROU-6..9), by primary key.

    ``allowed_presences``: each workstream's allowed presences (empty: Available only).
    ``with_skills``: read their skills too (ROU-4). ``agent_ids``: only these agents (the re-read
    of a pass under the agents' row locks). Three statements at most, whatever the queues' size.
    """
    presence_ids = sorted(set().union(*allowed_presences)) if allowed_presences else []
    presence = Q(presence_id__in=presence_ids)
    if any(not allowed for allowed in allowed_presences):
        presence |= Q(presence__base=Presence.Base.AVAILABLE)
    agents = AgentProfile.objects.filter(
        presence,
        reachable_filter(),
        memberships__queue_id__in=queue_ids,
        session_count__lt=MAX_SESSIONS,
        capacity__gte=F("capacity_used") + min_units,
    )
    if agent_ids is not None:
        agents = agents.filter(pk__in=agent_ids)
    candidates: dict[int, Candidate] = {}
    for (
        pk,
        queue_id,
        presence_id,
        base,
        capacity,
        used,
        sessions,
        assigned_at,
        ended_at,
    ) in agents.order_by().values_list(
        "pk",
        "memberships__queue_id",
        "presence_id",
        "presence__base",
        "capacity",
        "capacity_used",
        "session_count",
        "last_assigned_at",
        "last_work_ended_at",
    ):
        candidate = candidates.get(pk)
        if candidate is None:
            candidate = candidates[pk] = Candidate(
                pk, presence_id, base, capacity, used, sessions, assigned_at, ended_at
            )
        candidate.queues.add(queue_id)
    if not candidates:
        return candidates
    # Reservations of pending offers, grouped by agent: bounded by the offers out, not the members.
    pending = Offer.objects.filter(status=Offer.Status.PENDING)
    pending = pending.filter(agent_id__in=agent_ids) if agent_ids is not None else pending
    for agent_id, units, count in (
        pending.order_by()
        .values("agent_id")
        .annotate(units=Sum("work_item__capacity_units"), count=Count("pk"))
        .values_list("agent_id", "units", "count")
    ):
        if agent_id in candidates:
            candidates[agent_id].reserved_units = units or 0
            candidates[agent_id].reserved_sessions = count
    if with_skills:
        held = AgentSkill.objects.filter(agent_id__in=agents.values("pk"))
        for agent_id, skill_id, proficiency in held.order_by().values_list("agent_id", "skill_id", "proficiency"):
            if agent_id in candidates:
                candidates[agent_id].skills[skill_id] = proficiency
    return candidates
