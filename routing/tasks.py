from celery import shared_task

from routing import services


@shared_task(name="routing.time_out_offer", ignore_result=True)
def time_out_offer(offer_id: int) -> None:
    """An offer's deadline: its timeout (NOT-7, NOT-8) or its eight-minute re-route (NOT-8)."""
    services.offer_time_out(offer_id=offer_id)


@shared_task(name="routing.mark_agent_unreachable", ignore_result=True)
def mark_agent_unreachable(agent_id: int) -> None:
    """ROU-8: Offline once the grace after the agent's last workspace page closed has passed."""
    from routing.services.presence import agent_mark_unreachable

    agent_mark_unreachable(agent_id=agent_id)
