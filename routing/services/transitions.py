"""The moves of routing's two state machines (``routing.states``): the one place a work item's
or an offer's ``status`` is written, and the withdrawal of a work item's pending offer that the
work items' and the offers' lifecycles both use."""

from __future__ import annotations

from django.utils import timezone

from notifications.services import notification_close_for_offer
from routing.models import Offer, WorkItem
from routing.states import OFFER, WORK_ITEM


def work_item_transition(work_item: WorkItem, *, to: str, also: list[str] = ()) -> WorkItem:
    """Apply a work-item move; ``also``: other fields the caller changed, saved in the same UPDATE.
    The caller holds the row lock (select_for_update) in its transaction."""
    WORK_ITEM.check(work_item.status, to)
    work_item.status = to
    work_item.save(update_fields=["status", *also])
    return work_item


def offer_transition(offer: Offer, *, to: str) -> Offer:
    """Apply an offer move and stamp when it was answered. The caller holds the row lock."""
    OFFER.check(offer.status, to)
    offer.status = to
    offer.responded_at = timezone.now()
    offer.save(update_fields=["status", "responded_at"])
    return offer


def offer_withdraw_pending(work_item: WorkItem) -> None:
    """The work item's pending offer, if any, is lost and its notification withdrawn. The caller
    holds the work item's lock (core.locks: work item, then offer)."""
    offer = (
        Offer.objects.select_for_update(no_key=True).filter(work_item=work_item, status=Offer.Status.PENDING).first()
    )
    if offer is not None:
        offer_transition(offer, to=Offer.Status.LOST)
        notification_close_for_offer(offer=offer, status="withdrawn")
