"""Every write of the routing app, by subdomain: presence, assignment, pick mode and transfer."""

from routing.services.assignment import (
    capacity_release_overdue,
    dispatch_on_commit,
    eligible_agents,
    offer_accept,
    offer_reject,
    offer_time_out,
    offer_transition,
    offers_dispatch,
    offers_time_out_overdue,
    queue_position,
    work_item_assign,
    work_item_cancel,
    work_item_closest_match_dispatch,
    work_item_complete,
    work_item_enqueue,
    work_item_lock_for_conversation,
    work_item_release_due_capacity,
    work_item_transition,
    work_item_wrap_up,
)
from routing.services.pick import work_item_pick
from routing.services.preferences import agent_desktop_notifications_set
from routing.services.presence import agent_presence_set, may_manage_agents

__all__ = [
    "agent_desktop_notifications_set",
    "agent_presence_set",
    "capacity_release_overdue",
    "dispatch_on_commit",
    "eligible_agents",
    "may_manage_agents",
    "offer_accept",
    "offer_reject",
    "offer_time_out",
    "offer_transition",
    "offers_dispatch",
    "offers_time_out_overdue",
    "queue_position",
    "work_item_assign",
    "work_item_cancel",
    "work_item_closest_match_dispatch",
    "work_item_complete",
    "work_item_enqueue",
    "work_item_lock_for_conversation",
    "work_item_pick",
    "work_item_release_due_capacity",
    "work_item_transition",
    "work_item_wrap_up",
]
