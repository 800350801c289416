"""Routing under concurrency on PostgreSQL: real threads, real row locks, thousands of randomised
trials (ROU-9, ROU-10).

Trials are batched to stay fast: the agents, work items and worker threads (each with its own
database connection) live for the whole test, and each trial puts them back in a known state with
bulk updates. The work items are cases, so a trial's reset does not have to undo a conversation;
the conversation side of an accept is proven in tests/routing/test_assignment.py.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentConnection, AgentProfile
from notifications.models import AlertSettings, Notification
from routing.models import Offer, WorkItem
from routing.services import offer_accept, offer_time_out, offers_dispatch, offers_time_out_overdue
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkItemFactory, WorkstreamFactory, presence
from tests.routing.races import THREADS, attempt, case_items

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 10  # capacity units one work item takes


def reachable(*agents) -> list[AgentProfile]:
    """Give each agent an open workspace page: only reachable agents are offered work (ROU-8)."""
    AgentConnection.objects.bulk_create(AgentConnection(agent=a, channel_name=f"race.{a.pk}") for a in agents)
    return list(agents)


def chat_items(workstream, count: int) -> list[WorkItem]:
    """Chat work items: unlike a case assignment (which holds at its timeout, NOT-14), their
    offers time out and the work moves on (NOT-7)."""
    from tests.conversations.factories import ConversationFactory

    queue = workstream.default_queue
    return [WorkItemFactory(conversation=ConversationFactory(workstream=workstream), queue=queue) for _ in range(count)]


def reset_chats(items) -> None:
    """Put the items' conversations back as new, as a trial's reset of the work items does."""
    from conversations.models import Conversation, Session

    Session.objects.filter(work_item__in=items).delete()
    Conversation.objects.filter(work_item__in=items).update(status="open", agent=None)


def test_many_threads_accepting_the_same_offers_end_with_exactly_one_owner_each(racers, published):
    # spec: ROU-10 — the offered agent (several times at once) and other agents accept the same
    # offer at the same instant: exactly one owner, everyone else refused, counts exact
    rng = random.Random(10)
    rounds, per_round = 150, 8
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, channel="records", chat_mode="", capacity_units=UNITS)
    owners = reachable(*[AgentProfileFactory(queues=[queue], capacity=UNITS) for _ in range(per_round)])
    strangers = reachable(*[AgentProfileFactory(queues=[queue], capacity=UNITS) for _ in range(3)])
    everyone = owners + strangers
    items = case_items(workstream, per_round)
    outcomes = Counter()
    for _ in range(rounds):
        # Reset: every item offered afresh, each to a different owner, with its alert raised.
        now = timezone.now()
        Offer.objects.filter(work_item__in=items).delete()
        WorkItem.objects.filter(pk__in=[item.pk for item in items]).update(
            status=WorkItem.Status.OFFERED, agent=None, previous_agent=None, assigned_at=None, holds_capacity=False
        )
        AgentProfile.objects.filter(pk__in=[agent.pk for agent in everyone]).update(
            capacity_used=0, session_count=0, last_assigned_at=None
        )
        offered_to = rng.sample(owners, per_round)
        offers = Offer.objects.bulk_create(
            Offer(work_item=item, agent=agent, created_at=now, expires_at=now + timedelta(minutes=2))
            for item, agent in zip(items, offered_to, strict=True)
        )
        Notification.objects.bulk_create(
            Notification(
                agent=offer.agent,
                scenario="case_assignment",
                kind="alert",
                offer_id=offer.pk,
                work_item_id=offer.work_item_id,
            )
            for offer in offers
        )
        # Every offer gets 2..THREADS accepts by its agent, the other threads try it as a stranger;
        # each thread walks the offers in its own random order.
        plans = [[] for _ in range(THREADS)]
        for offer in offers:
            by_owner = set(rng.sample(range(THREADS), rng.randint(2, THREADS)))
            for thread in range(THREADS):
                agent = offer.agent if thread in by_owner else rng.choice([a for a in everyone if a != offer.agent])
                plans[thread].append((offer.pk, agent))
        for plan in plans:
            rng.shuffle(plan)
        del published[:]

        def accept_all(plan):
            return [
                (offer_id, agent.pk, attempt(offer_accept, offer_id=offer_id, agent=agent)) for offer_id, agent in plan
            ]

        results = [
            result for thread_results in racers([lambda p=p: accept_all(p) for p in plans]) for result in thread_results
        ]

        owner_of = {offer.pk: offer.agent_id for offer in offers}
        for offer_id, agent_id, outcome in results:
            expected = ("ok", "offer_gone") if agent_id == owner_of[offer_id] else ("not_yours",)
            assert outcome in expected, (offer_id, agent_id, outcome)
            outcomes[outcome] += 1
        winners = Counter(offer_id for offer_id, _, outcome in results if outcome == "ok")
        assert winners == {offer.pk: 1 for offer in offers}
        assert set(Offer.objects.filter(pk__in=owner_of).values_list("status", flat=True)) == {"accepted"}
        assigned = dict(
            WorkItem.objects.filter(pk__in=[item.pk for item in items], status="assigned").values_list("pk", "agent_id")
        )
        assert assigned == {offer.work_item_id: offer.agent_id for offer in offers}
        counts = {
            a.pk: (a.capacity_used, a.session_count)
            for a in AgentProfile.objects.filter(pk__in=[a.pk for a in everyone])
        }
        assert counts == {a.pk: (UNITS, 1) if a in owners else (0, 0) for a in everyone}
        assert set(
            Notification.objects.filter(offer_id__in=[o.pk for o in offers]).values_list("status", flat=True)
        ) == {"accepted"}
        assert sum(event["type"] == "offer.accepted" for _, event in published) == per_round
    trials = rounds * per_round
    print(f"\nROU-10 accept races: {trials} offers, {sum(outcomes.values())} concurrent accepts: {dict(outcomes)}")
    assert outcomes["ok"] == trials


def test_work_items_racing_for_the_last_capacity_of_an_agent_never_overfill_it(racers, published):
    # spec: ROU-9, ROU-10 — concurrent dispatches, then concurrent accepts (and timeouts) of the
    # items one agent was offered: capacity and the ten-session limit never exceeded, never two
    # owners, and nothing stuck: each item ends assigned, queued, or offered with one pending offer
    rng = random.Random(9)
    trials = 80
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, capacity_units=UNITS)
    agents = reachable(*[AgentProfileFactory(queues=[queue]) for _ in range(3)])
    star = agents[0]
    items = chat_items(workstream, 8)
    available, away = presence("available"), presence("away")
    # Keep the agent's presence out of it: a missed notification turning them Inactive (NOT-10)
    # is not what this test is about, and each trial sets presences itself.
    AlertSettings.objects.update_or_create(pk=1, defaults={"missed_notification_enabled": False})
    tally = Counter()
    for _ in range(trials):
        # Reset: n queued items; the star has room for 1–3 more (capacity not a multiple of the
        # units, sessions sometimes the binding limit), the others a little room or none.
        n = rng.randint(1, len(items))
        Offer.objects.filter(work_item__in=items).delete()
        reset_chats(items)
        WorkItem.objects.filter(pk__in=[item.pk for item in items]).update(
            status=WorkItem.Status.DONE, agent=None, previous_agent=None, assigned_at=None, holds_capacity=False
        )
        WorkItem.objects.filter(pk__in=[item.pk for item in items[:n]]).update(status=WorkItem.Status.QUEUED)
        start = {}
        for agent in agents:
            used = rng.randint(0, 3) * UNITS
            room = rng.randint(1, 3) if agent == star else rng.randint(0, 1)
            sessions = rng.choice([0, 2, MAX_SESSIONS - 2, MAX_SESSIONS - 1])
            state = {
                "capacity": used + room * UNITS + rng.randint(0, UNITS - 1),
                "capacity_used": used,
                "session_count": sessions,
                "presence": available if agent == star or rng.random() < 0.8 else away,
            }
            AgentProfile.objects.filter(pk=agent.pk).update(**state, last_assigned_at=None)
            start[agent.pk] = state
        slots = {
            pk: min((s["capacity"] - s["capacity_used"]) // UNITS, MAX_SESSIONS - s["session_count"])
            if s["presence"] == available
            else 0
            for pk, s in start.items()
        }

        # Phase 1: concurrent dispatchers, each started with its own arguments.
        def dispatch():
            kind = rng.choice(["all", "queue", "agent"])
            if kind == "queue":
                return offers_dispatch(queue_ids=[queue.pk])
            if kind == "agent":
                return offers_dispatch(agent_id=rng.choice(agents).pk)
            return offers_dispatch()

        made = sum(racers([dispatch] * THREADS))
        pending = list(Offer.objects.filter(work_item__in=items, status="pending"))
        assert made == len(pending) == min(n, sum(slots.values())), (made, len(pending), n, slots)
        check_invariants(items, agents, start)

        # Phase 2: each pending offer is accepted by its agent from 2+ threads at once; some are
        # displayed and due right now, so their timeout races the accepts (NOT-7); one thread keeps
        # dispatching.
        now = timezone.now()
        racing_timeout = [offer for offer in pending if rng.random() < 0.3]
        for offer in racing_timeout:
            Offer.objects.filter(pk=offer.pk).update(
                created_at=now - timedelta(minutes=2),
                displayed_at=now,
                expires_at=now + timedelta(milliseconds=rng.randint(-20, 60)),
            )
        plans = [[] for _ in range(THREADS - 1)]
        for offer in pending:
            for thread in rng.sample(range(THREADS - 1), rng.randint(2, THREADS - 1)):
                plans[thread].append(("accept", offer))
            if offer in racing_timeout:
                plans[rng.randrange(THREADS - 1)].append(("time_out", offer))
        for plan in plans:
            rng.shuffle(plan)

        def run_plan(plan):
            done = []
            for action, offer in plan:
                if action == "accept":
                    done.append((offer.pk, attempt(offer_accept, offer_id=offer.pk, agent=offer.agent)))
                else:
                    offer_time_out(offer_id=offer.pk)
            return done

        results = racers([lambda p=p: run_plan(p) for p in plans] + [lambda: [("dispatch", offers_dispatch())]])
        offers_time_out_overdue()  # an offer every accept found expired, before its timeout was due
        accepts = Counter()
        for offer_id, outcome in (result for thread in results for result in thread):
            assert outcome in ("ok", "offer_gone", "offer_expired") or offer_id == "dispatch", outcome
            if offer_id != "dispatch":
                accepts[offer_id] += outcome == "ok"
                tally[f"accept {outcome}"] += 1
        final = dict(Offer.objects.filter(pk__in=[offer.pk for offer in pending]).values_list("pk", "status"))
        for offer in pending:
            assert final[offer.pk] in ("accepted", "timed_out")
            assert accepts[offer.pk] == (final[offer.pk] == "accepted")
            tally[final[offer.pk]] += 1
        check_invariants(items, agents, start)

        # Nothing stuck: a further dispatch fills exactly the room that is left.
        room = free_slots(agents)
        waiting = WorkItem.objects.filter(pk__in=[item.pk for item in items], status="queued").count()
        assert offers_dispatch() == min(waiting, room)
        check_invariants(items, agents, start)
    print(f"\nROU-9/10 last-capacity races: {trials} trials, {sum(tally.values())} outcomes: {dict(tally)}")


def free_slots(agents) -> int:
    total = 0
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in agents]).select_related("presence"):
        if agent.presence.base != "available":
            continue
        pending = Offer.objects.filter(agent=agent, status="pending").count()
        room = (agent.capacity - agent.capacity_used) // UNITS - pending
        total += max(min(room, MAX_SESSIONS - agent.session_count - pending), 0)
    return total


def check_invariants(items, agents, start) -> None:
    """Never two owners, capacity and sessions exact and within limits, nothing stuck (ROU-9, ROU-10)."""
    offers = list(Offer.objects.filter(work_item__in=items).values_list("work_item_id", "agent_id", "status"))
    work_items = list(
        WorkItem.objects.filter(pk__in=[item.pk for item in items]).values_list(
            "pk", "status", "agent_id", "holds_capacity"
        )
    )
    held = Counter()
    for pk, status, agent_id, holds_capacity in work_items:
        accepted = [agent for item, agent, state in offers if item == pk and state == "accepted"]
        pending = [agent for item, agent, state in offers if item == pk and state == "pending"]
        if status == "assigned":
            assert accepted == [agent_id] and not pending and holds_capacity, (pk, accepted, pending)
            held[agent_id] += 1
        elif status == "offered":
            assert len(pending) == 1 and not accepted, (pk, pending, accepted)
        else:
            assert status in ("queued", "done") and not pending and not accepted, (pk, status, pending, accepted)
    for agent in AgentProfile.objects.filter(pk__in=[a.pk for a in agents]):
        s = start[agent.pk]
        reserved = sum(1 for _, agent_id, state in offers if agent_id == agent.pk and state == "pending")
        assert agent.capacity_used == s["capacity_used"] + held[agent.pk] * UNITS
        assert agent.session_count == s["session_count"] + held[agent.pk]
        assert agent.capacity_used + reserved * UNITS <= agent.capacity
        assert agent.session_count + reserved <= MAX_SESSIONS
