"""Agents' presence (ROU-5): set by people, by reachability (ROU-8), by capacity (ROU-8) and by
presence-changing alerts (NOT-8, NOT-10..12).

Reachability: each open workspace page is an ``AgentConnection`` row. When an agent's last one
goes, ``disconnected_at`` is stamped and, ``DISCONNECT_GRACE`` later (a page reload or a move
from the dashboard to a conversation page reconnects well within it), the presence becomes
Offline and the previous one is kept in ``presence_before_disconnect``. Coming back within
``RESTORE_WITHIN`` of the disconnection restores it; later the agent stays Offline. Both steps
are deadlines kept in the database, with a task on commit and the periodic sweep (REL-2).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agents.availability import Change, availability_changed, presence_held
from agents.errors import AgentError
from agents.models import AgentConnection, AgentProfile, Presence
from core.errors import NotFound
from core.realtime import SUPERVISORS_GROUP, agent_group, publish_on_commit

#: A workspace page that sent no heartbeat for this long is gone with its server process (ROU-8);
#: the pages beat every 10 s.
CONNECTION_STALE = timedelta(seconds=30)
#: How long after the last page closed the agent turns Offline (ROU-8: "within seconds").
DISCONNECT_GRACE = timedelta(seconds=5)
#: Coming back within this time of the disconnection restores the previous presence (ROU-8).
RESTORE_WITHIN = timedelta(minutes=2, seconds=30)
#: Presences that automatic presence may move between; never Away, Offline or Inactive (ROU-8).
AUTOMATIC_BASES = (Presence.Base.AVAILABLE, Presence.Base.BUSY, Presence.Base.BUSY_DND)


def _presence_event(agent: AgentProfile) -> dict:
    return {
        "type": "presence.changed",
        "agent": agent.pk,
        "presence": {"id": agent.presence_id, "name": agent.presence.name, "base": agent.presence.base},
        "changed_at": agent.presence_changed_at.isoformat(),
    }


def may_manage_agents(user: AbstractBaseUser) -> bool:
    """Supervisors and admins may reset other agents' presence (ROU-5, ADM-2)."""
    if user.is_staff or user.is_superuser:
        return True
    agent = getattr(user, "agent", None)
    return agent is not None and agent.role == AgentProfile.Role.SUPERVISOR


@transaction.atomic
def agent_presence_set(*, agent_id: int, presence: Presence, by: AbstractBaseUser) -> AgentProfile:
    """Set an agent's presence, by the agent themselves or by a supervisor/admin (ROU-5).

    An agent may choose only agent-selectable presences; the system presence Inactive is set by
    the system alone, and supervisors reset presences (NOT-10..12). Setting a presence clears the
    agent's open presence-changing banners, since the agent or a supervisor has acted on them.
    Idempotent: setting the current presence again changes nothing and publishes nothing.
    """
    try:
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=agent_id)
    except AgentProfile.DoesNotExist:
        raise NotFound("No such agent.") from None
    acting_for_self = agent.user_id == by.pk
    if not acting_for_self and not may_manage_agents(by):
        raise AgentError("Only a supervisor or an admin can change another agent's presence.", code="forbidden")
    if acting_for_self and not presence.agent_selectable and not may_manage_agents(by):
        raise AgentError(f"“{presence.name}” is set by the system; choose another presence.")
    if agent.presence_id == presence.pk:
        return agent
    agent.presence = presence
    agent.presence_changed_at = timezone.now()
    agent.presence_before_disconnect = None
    if agent.connections.exists():
        agent.disconnected_at = None
    # else (a supervisor's reset of an agent with no page open): the disconnection stands, so the
    # sweep shows them Offline again within seconds and coming back restores this choice (ROU-8).
    agent.save(update_fields=["presence", "presence_changed_at", "presence_before_disconnect", "disconnected_at"])
    event = _presence_event(agent)
    publish_on_commit(agent_group(agent.pk), event)
    publish_on_commit(SUPERVISORS_GROUP, event)
    # Routing offers queued work to a newly eligible agent at once (ROU-11); notifications
    # clears the banners a person has now acted on (NOT-10..12).
    availability_changed(agent_id=agent.pk, change=Change.PRESENCE_CHOSEN)
    return agent


def system_presence(base: str) -> Presence:
    """The shipped presence of a base (the data migration makes one per base)."""
    presence = Presence.objects.filter(base=base).order_by("-is_system", "order", "pk").first()
    if presence is None:
        raise AgentError(f"No presence of kind “{base}” exists; restore the base presences.")
    return presence


def _presence_change(agent: AgentProfile, presence: Presence) -> None:
    """Set a locked agent's presence now and tell their pages and the supervisors on commit."""
    agent.presence = presence
    agent.presence_changed_at = timezone.now()
    agent.save(update_fields=["presence", "presence_changed_at"])
    event = _presence_event(agent)
    publish_on_commit(agent_group(agent.pk), event)
    publish_on_commit(SUPERVISORS_GROUP, event)


def presence_set_by_system(agent: AgentProfile, *, base: str) -> None:
    """The system sets a locked agent's presence (NOT-8, NOT-10..12).

    An agent who is Offline because every page of theirs closed gets it when they come back:
    it replaces the presence that reconnecting would restore, so a missed alert is not undone
    by a reload.
    """
    presence = system_presence(base)
    if agent.presence_before_disconnect_id is not None:
        agent.presence_before_disconnect = presence
        agent.save(update_fields=["presence_before_disconnect"])
        return
    if agent.presence_id != presence.pk:
        _presence_change(agent, presence)


def presence_follow_capacity(agent: AgentProfile, *, automatic: bool) -> None:
    """Automatic presence for a locked agent whose capacity just changed (ROU-8).

    With ``automatic`` (the workstream's automatic presence) on: full capacity shows Busy – Do
    not disturb, partly used Busy, none used Available — only while the presence is one of those
    three, and never while a registered presence hold says no (an open presence-changing banner,
    NOT-10..12: only a person lifts those).
    """
    if not automatic or agent.presence.base not in AUTOMATIC_BASES:
        return
    if presence_held(agent_id=agent.pk):
        return
    if agent.capacity_used >= agent.capacity:
        target = Presence.Base.BUSY_DND
    elif agent.capacity_used > 0:
        target = Presence.Base.BUSY
    else:
        target = Presence.Base.AVAILABLE
    if agent.presence.base != target:
        _presence_change(agent, system_presence(target))


# --- reachability (ROU-8) -----------------------------------------------------------------------


def _locked_agent(agent_id: int) -> AgentProfile | None:
    return AgentProfile.objects.select_for_update(no_key=True).filter(pk=agent_id).first()


@transaction.atomic
def agent_connect(*, agent_id: int, channel_name: str) -> AgentProfile | None:
    """A workspace page of the agent connected: they are reachable (ROU-8).

    Back within 2.5 minutes of losing every page, the presence they had is restored; later
    they stay Offline and choose again. Queued work is offered at once (ROU-11). Safe to call
    again for the same page (a heartbeat after the sweep dropped its row comes here).
    """
    agent = _locked_agent(agent_id)
    if agent is None:
        return None
    now = timezone.now()
    AgentConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"agent": agent, "connected_at": now, "last_seen_at": now}
    )
    if agent.disconnected_at is not None:
        restore = agent.presence_before_disconnect if now - agent.disconnected_at <= RESTORE_WITHIN else None
        agent.presence_before_disconnect = None
        agent.disconnected_at = None
        agent.save(update_fields=["presence_before_disconnect", "disconnected_at"])
        if restore is not None and restore.pk != agent.presence_id:
            _presence_change(agent, restore)
    availability_changed(agent_id=agent.pk, change=Change.CONNECTED)
    return agent


@transaction.atomic
def agent_heartbeat(*, agent_id: int, channel_name: str) -> None:
    """The page is still there: keep its connection live (ROU-8)."""
    seen = AgentConnection.objects.filter(channel_name=channel_name, agent_id=agent_id).update(
        last_seen_at=timezone.now()
    )
    if not seen:  # the sweep took this page for dead (a long pause); it is back
        agent_connect(agent_id=agent_id, channel_name=channel_name)


def _schedule_unreachable_check(agent: AgentProfile) -> None:
    eta = agent.disconnected_at + DISCONNECT_GRACE
    agent_id = agent.pk
    transaction.on_commit(lambda: mark_agent_unreachable.apply_async((agent_id,), eta=eta))


@transaction.atomic
def agent_disconnect(*, channel_name: str) -> AgentProfile | None:
    """A workspace page closed. The last one going starts the Offline deadline (ROU-8)."""
    agent_id = AgentConnection.objects.filter(channel_name=channel_name).values_list("agent_id", flat=True).first()
    if agent_id is None:
        return None
    agent = _locked_agent(agent_id)
    AgentConnection.objects.filter(channel_name=channel_name).delete()
    if agent is None or agent.connections.exists() or agent.disconnected_at is not None:
        return agent
    agent.disconnected_at = timezone.now()
    agent.save(update_fields=["disconnected_at"])
    _schedule_unreachable_check(agent)
    return agent


@transaction.atomic
def agent_mark_unreachable(*, agent_id: int) -> AgentProfile | None:
    """Offline once the grace after the last page closed has passed, remembering the presence
    to restore (ROU-8). Early, repeated or overtaken (the agent came back) calls change nothing."""
    agent = _locked_agent(agent_id)
    if (
        agent is None
        or agent.disconnected_at is None
        or agent.presence_before_disconnect_id is not None
        or agent.disconnected_at + DISCONNECT_GRACE > timezone.now()
        or agent.connections.exists()
    ):
        return agent
    agent.presence_before_disconnect = agent.presence
    agent.save(update_fields=["presence_before_disconnect"])
    offline = system_presence(Presence.Base.OFFLINE)
    if agent.presence_id != offline.pk:
        _presence_change(agent, offline)
    return agent


# The task that applies the deadline stands beside the code that sets and applies it, so this
# module and the task module do not import each other; agents.tasks lists it. The name predates
# the agents app (issue 11): tasks already queued under it at an upgrade still find their function.
@shared_task(name="routing.mark_agent_unreachable", ignore_result=True)
def mark_agent_unreachable(agent_id: int) -> None:
    """ROU-8: Offline once the grace after the agent's last workspace page closed has passed."""
    agent_mark_unreachable(agent_id=agent_id)


@transaction.atomic
def _drop_stale_connections(*, agent_id: int, stale_before) -> None:
    agent = _locked_agent(agent_id)
    stale = AgentConnection.objects.filter(agent_id=agent_id, last_seen_at__lt=stale_before)
    last_seen = stale.aggregate(last=Max("last_seen_at"))["last"]
    stale.delete()
    if agent is None or last_seen is None or agent.connections.exists() or agent.disconnected_at is not None:
        return
    # Reachable until the last sign of life: the grace and the restore window count from it.
    agent.disconnected_at = last_seen
    agent.save(update_fields=["disconnected_at"])


def agents_mark_unreachable_overdue(*, limit: int = 500) -> int:
    """The sweep's part of ROU-8 (REL-2): drop connections whose server process stopped sending
    heartbeats, then turn Offline every agent whose grace has passed. Returns how many went Offline."""
    now = timezone.now()
    stale_before = now - CONNECTION_STALE
    stale_agents = list(
        AgentConnection.objects.filter(last_seen_at__lt=stale_before)
        .order_by("agent_id")
        .values_list("agent_id", flat=True)
        .distinct()[:limit]
    )
    for agent_id in stale_agents:
        _drop_stale_connections(agent_id=agent_id, stale_before=stale_before)
    due = list(
        AgentProfile.objects.filter(
            disconnected_at__lte=now - DISCONNECT_GRACE, presence_before_disconnect__isnull=True
        )
        .exclude(connections__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for agent_id in due:
        agent = agent_mark_unreachable(agent_id=agent_id)
        done += agent is not None and agent.presence_before_disconnect_id is not None
    return done
