"""Presence-changing alerts (NOT-8, NOT-10..12): the agent's presence changes and a banner says why."""

from __future__ import annotations

from agents.models import MAX_SESSIONS, AgentProfile, Presence
from agents.services import presence_set_by_system
from notifications.models import AgentBanner, AlertSettings
from notifications.services import banner_raise
from routing.models import WorkItem
from routing.services.eligibility import assignable_presence_filter, reachable_filter


def presence_alert(agent: AgentProfile, *, kind: str, message: str | None = None) -> None:
    """A presence-changing alert for a locked agent: the kind's presence and its banner (NOT-8, NOT-10..12)."""
    base = Presence.Base.INACTIVE if kind == "missed_notification" else Presence.Base.BUSY_DND
    presence_set_by_system(agent, base=base)
    banner_raise(agent_id=agent.pk, kind=kind, message=message)


def agents_at_max_sessions_alert(work_item: WorkItem) -> None:
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
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=agent_id)
        if agent.session_count >= MAX_SESSIONS:
            presence_alert(agent, kind=AgentBanner.Kind.MAX_SESSIONS)
