"""What a queue's members and the supervisors hear when a queue's open items change (ROU-13).

Below both the work items' lifecycle (``assignment``) and pick mode (``pick``), which tell it.
"""

from core.realtime import SUPERVISORS_GROUP, agent_group, publish_on_commit
from routing.models import QueueMembership


def open_items_changed_on_commit(*, queue_id: int) -> None:
    """Tell the queue's members (their workspace pages) and the supervisors that the queue's open
    items changed: one arrived, was taken or went away (ROU-13)."""
    for agent_id in QueueMembership.objects.filter(queue_id=queue_id).values_list("agent_id", flat=True):
        publish_on_commit(agent_group(agent_id), {"type": "queue.items_changed", "queue": queue_id})
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": queue_id})
