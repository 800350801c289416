"""Push assignment's names where the dispatch pass (``dispatch.py``) imports them.

The code lives by concern: ``transitions`` (the two state machines' moves), ``work_items`` (a
work item's lifecycle and capacity), ``offers`` (an offer's lifecycle), ``alerts`` (presence-
changing alerts) and ``eligibility`` (who may be offered work).
"""

from routing.services.offers import offer_accepted_publish, offer_scenario, offers_timeout_schedule
from routing.services.transitions import offer_transition
from routing.services.work_items import work_item_assign

__all__ = [
    "offer_accepted_publish",
    "offer_scenario",
    "offer_transition",
    "offers_timeout_schedule",
    "work_item_assign",
]
