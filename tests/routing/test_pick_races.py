"""Pick mode under concurrency on PostgreSQL: real threads, real row locks (ROU-13, ROU-10).

Many agents pick the same open item at the same instant, and one agent picks many items at
once against their last capacity: never two owners, never over capacity or the ten sessions.
The pattern (batched trials, reused threads) is tests/routing/test_races.py's.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agents.models import MAX_SESSIONS, AgentProfile
from routing.models import WorkItem
from routing.services import work_item_pick
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.routing.races import THREADS, attempt, case_items

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 10


def reset(items, agents, *, capacity: int, sessions: int = 0) -> None:
    WorkItem.objects.filter(pk__in=[item.pk for item in items]).update(
        status=WorkItem.Status.QUEUED, agent=None, previous_agent=None, assigned_at=None, holds_capacity=False
    )
    AgentProfile.objects.filter(pk__in=[agent.pk for agent in agents]).update(
        capacity=capacity, capacity_used=0, session_count=sessions, last_assigned_at=None
    )


def test_many_agents_picking_the_same_item_at_once_end_with_exactly_one_owner(racers, published):
    # spec: ROU-13, ROU-10 — every trial: THREADS agents pick the same item at the same instant
    rounds = 40
    queue = QueueFactory()
    workstream = WorkstreamFactory(
        default_queue=queue, channel="records", chat_mode="", capacity_units=UNITS, distribution="pick"
    )
    agents = [AgentProfileFactory(queues=[queue]) for _ in range(THREADS)]
    items = case_items(workstream, 1)
    outcomes = Counter()
    for _ in range(rounds):
        reset(items, agents, capacity=100)
        results = racers(
            [lambda a=agent: (a.pk, attempt(work_item_pick, work_item_id=items[0].pk, agent=a)) for agent in agents]
        )
        outcomes.update(outcome for _, outcome in results)
        winners = [agent_id for agent_id, outcome in results if outcome == "ok"]
        assert len(winners) == 1, results
        assert all(outcome == "already_taken" for _, outcome in results if outcome != "ok")
        item = WorkItem.objects.get(pk=items[0].pk)
        assert (item.status, item.agent_id) == ("assigned", winners[0])
        loads = dict(AgentProfile.objects.filter(pk__in=[a.pk for a in agents]).values_list("pk", "session_count"))
        assert loads == {a.pk: 1 if a.pk == winners[0] else 0 for a in agents}
    print(f"\nROU-13 pick races: {rounds} items, {sum(outcomes.values())} concurrent picks: {dict(outcomes)}")
    assert outcomes == {"ok": rounds, "already_taken": rounds * (THREADS - 1)}


def test_one_agent_picking_many_items_at_once_never_exceeds_capacity_or_sessions(racers, published):
    # spec: ROU-13, ROU-6, ROU-7 — the agent's row lock serialises their picks: room for k items
    # (capacity or sessions binding) means exactly k picks win
    rng = random.Random(13)
    queue = QueueFactory()
    workstream = WorkstreamFactory(
        default_queue=queue, channel="records", chat_mode="", capacity_units=UNITS, distribution="pick"
    )
    agent = AgentProfileFactory(queues=[queue])
    items = case_items(workstream, THREADS)
    for _ in range(25):
        room = rng.randint(1, THREADS - 1)
        by_sessions = rng.random() < 0.5
        if by_sessions:
            reset(items, [agent], capacity=1000, sessions=MAX_SESSIONS - room)
        else:
            reset(items, [agent], capacity=room * UNITS + rng.randint(0, UNITS - 1))
        results = racers([lambda i=item: attempt(work_item_pick, work_item_id=i.pk, agent=agent) for item in items])
        assert Counter(results) == {"ok": room, "max_sessions" if by_sessions else "no_capacity": THREADS - room}
        agent.refresh_from_db()
        assert agent.capacity_used == room * UNITS
        assert agent.session_count == (MAX_SESSIONS if by_sessions else room)
        assert WorkItem.objects.filter(pk__in=[i.pk for i in items], status="assigned").count() == room
