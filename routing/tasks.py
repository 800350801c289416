from celery import shared_task

from routing import services
from routing.services.continuity import work_item_keep_agent_expire


@shared_task(name="routing.time_out_offer", ignore_result=True)
def time_out_offer(offer_id: int) -> None:
    """An offer's deadline: its timeout (NOT-7, NOT-8) or its eight-minute re-route (NOT-8)."""
    services.offer_time_out(offer_id=offer_id)


@shared_task(name="routing.time_out_offers", ignore_result=True)
def time_out_offers(offer_ids: list[int]) -> None:
    """The common timeout of the offers one dispatch pass made (NOT-7, NOT-8): one task per pass
    and deadline, each offer applied in its own transaction as ``time_out_offer`` does."""
    for offer_id in offer_ids:
        services.offer_time_out(offer_id=offer_id)


@shared_task(name="routing.offers_dispatch", ignore_result=True)
def offers_dispatch_task(queue_ids: list[int] | None = None, agent_id: int | None = None) -> None:
    """ROU-11: a dispatch pass after a change that may let queued work be offered (sent on commit
    by ``dispatch_on_commit``). Any number may run at once; a repeated one offers nothing new."""
    services.offers_dispatch(queue_ids=queue_ids, agent_id=agent_id)


@shared_task(name="routing.closest_match_due", ignore_result=True)
def closest_match_due(work_item_id: int) -> None:
    """ROU-4: a work item's wait for an exact skill match is over; offer it to the nearest match."""
    services.work_item_closest_match_dispatch(work_item_id=work_item_id)


@shared_task(name="routing.keep_same_agent_expire", ignore_result=True)
def keep_same_agent_expire(work_item_id: int) -> None:
    """ROU-12: a returning conversation's wait for its previous agent is over; route it normally."""
    work_item_keep_agent_expire(work_item_id=work_item_id)
