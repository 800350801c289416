"""Every write of the routing app, by subdomain: work items, offers, the dispatch pass, pick mode and transfer."""

from routing.services.capacity import dispatch_on_commit
from routing.services.dispatch import offers_dispatch, work_item_closest_match_dispatch
from routing.services.offers import offer_accept, offer_reject, offer_time_out, offers_time_out_overdue
from routing.services.pick import work_item_pick
from routing.services.transitions import offer_transition, work_item_transition
from routing.services.work_items import (
    capacity_release_overdue,
    queue_position,
    work_item_assign,
    work_item_cancel,
    work_item_complete,
    work_item_enqueue,
    work_item_lock,
    work_item_release_due_capacity,
    work_item_wrap_up,
)

__all__ = [
    "capacity_release_overdue",
    "dispatch_on_commit",
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
    "work_item_lock",
    "work_item_pick",
    "work_item_release_due_capacity",
    "work_item_transition",
    "work_item_wrap_up",
]
