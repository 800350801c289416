"""Many dispatch passes and accepts at once, on PostgreSQL (ROU-9, ROU-10, issue 12).

A dispatch pass chooses agents in memory from one read, then locks the chosen agents and checks
its choices again under those locks. These trials run several passes (each its own connection,
with its own arguments) and accepts interleaved on real threads, then check that no agent was
ever given more than their capacity and sessions allow, that no item has two owners, that the
passes' counts are exact, and that nothing an agent could take was left queued.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agents.models import MAX_SESSIONS, AgentProfile
from routing.models import Offer, WorkItem
from routing.services import offer_accept, offers_dispatch
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.routing.races import THREADS, attempt, case_items
from tests.routing.test_races import reachable

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 10


def invariants(items, agents, start) -> int:
    """Never two owners, never overbooked, capacity and sessions exact (ROU-6, ROU-7, ROU-10).
    Returns how many items are assigned."""
    offers = list(Offer.objects.filter(work_item__in=items).values_list("work_item_id", "agent_id", "status"))
    held = Counter()
    for pk, status, agent_id in WorkItem.objects.filter(pk__in=[i.pk for i in items]).values_list(
        "pk", "status", "agent_id"
    ):
        accepted = [agent for item, agent, state in offers if item == pk and state == "accepted"]
        pending = [agent for item, agent, state in offers if item == pk and state == "pending"]
        if status == "assigned":
            assert accepted == [agent_id] and not pending, (pk, accepted, pending)
            held[agent_id] += 1
        elif status == "offered":
            assert len(pending) == 1 and not accepted, (pk, pending, accepted)
        else:
            assert status == "queued" and not pending and not accepted, (pk, status, pending, accepted)
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in agents]):
        s = start[agent.pk]
        reserved = sum(1 for _, agent_id, state in offers if agent_id == agent.pk and state == "pending")
        assert agent.capacity_used == s["capacity_used"] + held[agent.pk] * UNITS
        assert agent.session_count == s["session_count"] + held[agent.pk]
        assert agent.capacity_used + reserved * UNITS <= agent.capacity, agent.pk
        assert agent.session_count + reserved <= MAX_SESSIONS, agent.pk
    return sum(held.values())


def takeable_left(items, agents) -> list[int]:
    """Queued items some member of their queue has room and a session slot for."""
    left = []
    queued = WorkItem.objects.filter(pk__in=[i.pk for i in items], status="queued")
    for item in queued:
        for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in agents], memberships__queue=item.queue_id):
            pending = Offer.objects.filter(agent=agent, status="pending").count()
            if (
                agent.capacity - agent.capacity_used - pending * UNITS >= UNITS
                and agent.session_count + pending < MAX_SESSIONS
            ):
                left.append(item.pk)
                break
    return left


def test_concurrent_dispatch_passes_and_accepts_never_overbook_an_agent_or_give_an_item_two_owners(racers, published):
    # spec: ROU-9, ROU-10 — passes racing each other and the accepts of what they offered
    rng = random.Random(12)
    trials = 20
    queues = [QueueFactory(), QueueFactory(assignment_method="round_robin")]
    workstreams = [
        WorkstreamFactory(default_queue=queue, channel="records", chat_mode="", capacity_units=UNITS)
        for queue in queues
    ]
    agents = reachable(*[AgentProfileFactory(queues=rng.sample(queues, rng.randint(1, 2))) for _ in range(8)])
    items = [item for workstream in workstreams for item in case_items(workstream, 12)]
    tally = Counter()
    for _ in range(trials):
        Offer.objects.filter(work_item__in=items).delete()
        WorkItem.objects.filter(pk__in=[item.pk for item in items]).update(
            status=WorkItem.Status.QUEUED, agent=None, previous_agent=None, assigned_at=None, holds_capacity=False
        )
        start = {}
        for agent in agents:
            used = rng.randint(0, 2) * UNITS
            state = {
                "capacity": used + rng.randint(0, 4) * UNITS + rng.randint(0, UNITS - 1),
                "capacity_used": used,
                "session_count": rng.choice([0, 1, MAX_SESSIONS - 3, MAX_SESSIONS - 1]),
            }
            AgentProfile.objects.filter(pk=agent.pk).update(**state, last_assigned_at=None)
            start[agent.pk] = state

        def work(seed):
            """A few rounds of one pass, then accepts of some of the offers out, by their agents."""
            own = random.Random(seed)
            made, outcomes = 0, []
            for _ in range(3):
                kind = own.choice(["all", "queue", "agent"])
                if kind == "queue":
                    made += offers_dispatch(queue_ids=[own.choice(queues).pk], limit=own.choice([3, 200]))
                elif kind == "agent":
                    made += offers_dispatch(agent_id=own.choice(agents).pk)
                else:
                    made += offers_dispatch(limit=own.choice([5, 200]))
                pending = list(Offer.objects.filter(work_item__in=items, status="pending").select_related("agent"))
                for offer in own.sample(pending, min(len(pending), own.randint(0, 4))):
                    outcomes.append((offer.pk, attempt(offer_accept, offer_id=offer.pk, agent=offer.agent)))
            return made, outcomes

        seeds = [rng.random() for _ in range(THREADS)]
        results = racers([lambda s=s: work(s) for s in seeds])
        made = sum(count for count, _ in results)
        wins = Counter()
        for offer_id, outcome in (o for _, outcomes in results for o in outcomes):
            assert outcome in ("ok", "offer_gone"), outcome
            wins[offer_id] += outcome == "ok"
            tally[outcome] += 1
        assert all(count <= 1 for count in wins.values())
        assert made == Offer.objects.filter(work_item__in=items).count()  # every pass counted exactly
        assigned = invariants(items, agents, start)
        assert assigned == sum(wins.values())
        assert takeable_left(items, agents) == []  # nothing left that someone could have been offered
        tally["offers"] += made
    print(f"\nConcurrent dispatch passes and accepts: {trials} trials, {dict(tally)}")
    assert tally["ok"] > 0 and tally["offers"] > tally["ok"]
