"""Parked work and keeping the same agent (ROU-6, ROU-12, PER-6, PER-8).

A persistent chat the agent parks (the ✖ control) keeps its work item, *parked*: it holds no
capacity and no session of the agent (ROU-6, ROU-7), but remembers the agent. When the customer
writes again the item *returns* to its queue (``keep_agent_until`` set marks it as returning)
and the dispatch hands it back under this rule:

**Keep the same agent (ROU-12).** A returning work item of a workstream with "keep the same
agent" on goes to its previous agent first: as soon as that agent can take it (reachable, in an
allowed presence, with free capacity and a session slot, still in the queue) it is assigned to
them and they get a toast that opens it — it was accepted once already, so it is not offered
for an answer again. While the previous agent cannot take it, nobody else gets it, until
``keep_agent_until``, a durable deadline :data:`KEEP_SAME_AGENT_WAIT` after the return; from
then on the best eligible agent in the queue's order gets it (the previous agent included, if
they come back first). A Celery task at the deadline dispatches the queue again, and the beat
sweep's periodic dispatch does it if that task was lost, so the fallback happens without a new
message; firing twice changes nothing. Without "keep the same agent" the item goes straight
to the best eligible agent.

Outside the queue's operating hours nothing is dispatched (PER-7): the item stays queued, and
the sweep's periodic dispatch hands it over once the queue opens.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import AgentProfile
from core.realtime import SUPERVISORS_GROUP, publish_on_commit
from core.tasks_by_name import task_send_on_commit
from notifications.scenarios import Scenario
from notifications.services import notification_raise_toast
from routing.errors import RoutingError
from routing.models import WorkItem
from routing.services.capacity import agent_release, dispatch_on_commit
from routing.services.transitions import work_item_transition
from routing.services.work_items import work_item_assign

#: How long a returning conversation waits for its previous agent before anyone may take it.
KEEP_SAME_AGENT_WAIT = timedelta(minutes=10)


@transaction.atomic
def work_item_park(*, work_item_id: int) -> WorkItem:
    """Park an assigned work item: its capacity and the agent's session slot are released (ROU-6, PER-6).

    The item keeps its agent (as previous agent too) for the return. Parking a parked item
    changes nothing. Locks the item, then its agent (the order of every routing write).
    """
    work_item = WorkItem.objects.select_for_update(no_key=True).get(pk=work_item_id)
    if work_item.status == WorkItem.Status.PARKED:
        return work_item
    if work_item.status != WorkItem.Status.ASSIGNED or work_item.agent_id is None:
        raise RoutingError("Only work an agent holds can be parked.", code="not_assigned")
    agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=work_item.agent_id)
    work_item.previous_agent_id = agent.pk
    work_item.save(update_fields=["previous_agent"])
    work_item_transition(work_item, to=WorkItem.Status.PARKED)
    agent_release(work_item, agent, session=True)  # the freed capacity may take other work now
    return work_item


@transaction.atomic
def work_item_return(*, work_item_id: int) -> WorkItem:
    """A parked item's customer is back: queue it again, for its previous agent first (ROU-12).

    Sets ``keep_agent_until`` when the workstream keeps the same agent, schedules the fallback
    at that moment and dispatches on commit. Returning an item that is not parked changes nothing.
    """
    work_item = (
        WorkItem.objects.select_for_update(no_key=True, of=("self",)).select_related("workstream").get(pk=work_item_id)
    )
    if work_item.status != WorkItem.Status.PARKED:
        return work_item
    now = timezone.now()
    work_item.previous_agent_id = work_item.previous_agent_id or work_item.agent_id
    work_item.agent = None
    work_item.enqueued_at = now
    # Set for every returning item (it marks it as one); the wait is only for keep-same-agent.
    keep = work_item.workstream.keep_same_agent and work_item.previous_agent_id is not None
    work_item.keep_agent_until = now + KEEP_SAME_AGENT_WAIT if keep else now
    work_item_transition(work_item, to=WorkItem.Status.QUEUED)
    work_item.save(update_fields=["previous_agent", "agent", "enqueued_at", "keep_agent_until"])
    if keep:
        task_send_on_commit("routing.keep_same_agent_expire", work_item.pk, eta=work_item.keep_agent_until)
    dispatch_on_commit(queue_ids=[work_item.queue_id])
    publish_on_commit(SUPERVISORS_GROUP, {"type": "queue.changed", "queue": work_item.queue_id})
    return work_item


def work_item_is_returning(work_item: WorkItem) -> bool:
    """Whether the item's last enqueue was a return of parked work (not a transfer or anything else).

    :func:`work_item_return` sets ``keep_agent_until`` from the same moment as ``enqueued_at``;
    any later enqueue (a transfer to a queue, ROU-14) moves ``enqueued_at`` and ends the match.
    """
    if work_item.keep_agent_until is None:
        return False
    return work_item.keep_agent_until - work_item.enqueued_at in (KEEP_SAME_AGENT_WAIT, timedelta(0))


def work_item_hand_back(*, work_item: WorkItem, agent: AgentProfile) -> WorkItem:
    """Give a returning work item to the agent the dispatch pass chose under this rule (ROU-12):
    assigned at once (the conversation becomes active with a new session) and a toast that
    opens it. It was accepted once already, so a second offer to answer would ask the same
    question again: a returning customer is simply handed back.

    The dispatch pass holds the item's row lock, then the agent's, and has checked the agent
    may take it: the previous agent when they can, nobody while ``keep_agent_until`` is ahead,
    after it the best eligible agent of the queue.
    """
    work_item.keep_agent_until = None
    work_item.save(update_fields=["keep_agent_until"])
    work_item_assign(work_item, agent=agent)
    notification_raise_toast(agent_id=agent.pk, work_item=work_item, scenario=Scenario.WORK_ITEM, extra={})
    return work_item


@transaction.atomic
def work_item_keep_agent_expire(*, work_item_id: int) -> WorkItem | None:
    """The wait for the previous agent is over: dispatch the item's queue again (ROU-12).

    Called by the task scheduled for ``keep_agent_until``; the periodic dispatch of the beat
    sweep does the same if the task was lost. Early or repeated calls change nothing.
    """
    work_item = WorkItem.objects.select_for_update(no_key=True).filter(pk=work_item_id).first()
    if (
        work_item is not None
        and work_item.status == WorkItem.Status.QUEUED
        and work_item_is_returning(work_item)
        and work_item.keep_agent_until <= timezone.now()
    ):
        dispatch_on_commit(queue_ids=[work_item.queue_id])
    return work_item
