"""Every write of the agents app: presence and reachability, and agents' own preferences."""

from agents.services.preferences import agent_desktop_notifications_set, agent_inbox_sound_set, agent_language_set
from agents.services.presence import (
    agent_connect,
    agent_disconnect,
    agent_heartbeat,
    agent_mark_unreachable,
    agent_presence_set,
    agents_mark_unreachable_overdue,
    may_manage_agents,
    presence_follow_capacity,
    presence_set_by_system,
    system_presence,
)

__all__ = [
    "agent_connect",
    "agent_desktop_notifications_set",
    "agent_inbox_sound_set",
    "agent_language_set",
    "agent_disconnect",
    "agent_heartbeat",
    "agent_mark_unreachable",
    "agent_presence_set",
    "agents_mark_unreachable_overdue",
    "may_manage_agents",
    "presence_follow_capacity",
    "presence_set_by_system",
    "system_presence",
]
