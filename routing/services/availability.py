"""What routing does when the agents app says an agent's availability changed (issue 11)."""

from agents.availability import Change
from routing.services.capacity import dispatch_on_commit


def agent_availability_changed(*, agent_id: int, change: Change) -> None:
    """ROU-11: an agent who chose a presence or opened a workspace page is offered queued work
    as soon as the transaction commits (registered in ``RoutingConfig.ready``)."""
    dispatch_on_commit(agent_id=agent_id)
