from celery import shared_task

from agents.services import agent_mark_unreachable


# The name predates the agents app (issue 11): tasks already queued under it at an upgrade
# still find their function.
@shared_task(name="routing.mark_agent_unreachable", ignore_result=True)
def mark_agent_unreachable(agent_id: int) -> None:
    """ROU-8: Offline once the grace after the agent's last workspace page closed has passed."""
    agent_mark_unreachable(agent_id=agent_id)
