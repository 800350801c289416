"""Push-routing throughput and the database cost of one assignment, at thousands of agents (PERF-2).

    python -m benchmarks.routing_throughput                  # 1,000 and 10,000 agents, 50,000 queued items
    python -m benchmarks.routing_throughput --agents 2000 --items 20000 --offers 1000

What it does, for each number of agents N:
1. a fresh PostgreSQL database is migrated and seeded with bulk inserts: 5 queues, 6 skills, N agents,
   each a member of 2 of the queues, holding 2 of the skills (proficiency 1–10), with capacity for 3
   work items; 70% Available, 10% each Busy, Away and Offline; all but the Offline ones reachable
   (a workspace page open); and 50,000 queued work items (cases) spread over the queues, oldest
   first, those of 2 of the queues each needing one skill (exact matching);
2. ``offers_dispatch`` — the set-based pass every trigger and the periodic sweep call — runs in
   passes of 200 items (its default) until it has made the number of offers asked for (or a pass
   makes none); offers per second, wall and CPU (this process's) ms and database queries per
   offer are measured (every query counted through ``connection.execute_wrapper``);
3. 200 of those offers are accepted with ``offer_accept``: queries and time per accept;
4. one dispatch pass runs over 200 items when no agent has room left in their queue (all 200 are
   looked at and none can be offered): the cost the sweep pays every few seconds while a queue waits.
Realtime events and deadline tasks go to the embedded in-memory layer and broker (no Redis), so the
figures are the database's and the Python code's.

``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}``, a row per number of agents.

Needs PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omnichannel_routing_bench),
dropped and re-created for each N.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta

from benchmarks.chat_latency import print_table, recreate_database
from benchmarks.measure import QueryCounter, add_json_argument, load_average, setup_django_embedded, write_json

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_routing_bench"
QUEUES = 5
QUEUES_PER_AGENT = 2
ITEMS_PER_AGENT = 3
UNITS = 10
SKILLS = 6
SKILLS_PER_AGENT = 2
SKILLED_QUEUES = 2  # the items of queues 0 and 1 each need one skill
# Presence by agent index % 10: 7 in 10 Available, then one each Busy, Away and Offline.
PRESENCE_MIX = ["available"] * 7 + ["busy", "away", "offline"]


def presence_base(index: int) -> str:
    return PRESENCE_MIX[index % len(PRESENCE_MIX)]


def seed(agents: int, items: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from agents.models import AgentConnection, AgentProfile, AgentSkill, Presence, Skill
    from customers.models import Account, Case
    from routing.models import Queue, QueueMembership, WorkItem, Workstream

    call_command("migrate", verbosity=0)
    User = get_user_model()
    queues = [Queue.objects.create(name=f"Queue {index}", priority=5) for index in range(QUEUES)]
    workstream = Workstream.objects.create(
        name="Bench cases", channel="records", chat_mode="", default_queue=queues[0], capacity_units=UNITS
    )
    presences = {base: Presence.objects.get(base=base, is_system=True) for base in set(PRESENCE_MIX)}
    skills = Skill.objects.bulk_create(Skill(name=f"Skill {index}") for index in range(SKILLS))
    batch = 5000
    users = User.objects.bulk_create(
        (User(username=f"bench-agent-{index}", password="!") for index in range(agents)), batch_size=batch
    )
    profiles = AgentProfile.objects.bulk_create(
        (
            AgentProfile(
                user=user,
                display_name=f"Agent {index}",
                presence=presences[presence_base(index)],
                capacity=ITEMS_PER_AGENT * UNITS,
            )
            for index, user in enumerate(users)
        ),
        batch_size=batch,
    )
    QueueMembership.objects.bulk_create(
        (
            QueueMembership(queue=queues[(index + offset) % QUEUES], agent=agent)
            for index, agent in enumerate(profiles)
            for offset in range(QUEUES_PER_AGENT)
        ),
        batch_size=batch,
    )
    AgentSkill.objects.bulk_create(
        (
            AgentSkill(agent=agent, skill=skills[(index + offset) % SKILLS], proficiency=1 + (index + offset) % 10)
            for index, agent in enumerate(profiles)
            for offset in range(SKILLS_PER_AGENT)
        ),
        batch_size=batch,
    )
    AgentConnection.objects.bulk_create(
        (
            AgentConnection(agent=agent, channel_name=f"bench.{agent.pk}")
            for index, agent in enumerate(profiles)
            if presence_base(index) != "offline"
        ),
        batch_size=batch,
    )
    account = Account.objects.create(name="Bench account")
    cases = Case.objects.bulk_create(
        (Case(title=f"Case {index}", account=account) for index in range(items)), batch_size=batch
    )
    start = timezone.now() - timedelta(hours=1)
    work_items = WorkItem.objects.bulk_create(
        (
            WorkItem(
                workstream=workstream,
                queue=queues[index % QUEUES],
                kind=WorkItem.Kind.CASE,
                scenario="case_assignment",
                facts={"refs": {"case": case.pk}, "case_title": case.title},
                capacity_units=UNITS,
                enqueued_at=start + timedelta(milliseconds=index),
            )
            for index, case in enumerate(cases)
        ),
        batch_size=batch,
    )
    for case, work_item in zip(cases, work_items, strict=True):  # the case owns the link (issue 11)
        case.work_item = work_item
    Case.objects.bulk_update(cases, ["work_item"], batch_size=batch)
    WorkItem.skills.through.objects.bulk_create(
        (
            WorkItem.skills.through(workitem_id=item.pk, skill_id=skills[(index // QUEUES) % SKILLS].pk)
            for index, item in enumerate(work_items)
            if index % QUEUES < SKILLED_QUEUES
        ),
        batch_size=batch,
    )
    from django.db import connection

    with connection.cursor() as cursor:  # settle the fresh tables as autovacuum would, before timing
        cursor.execute("VACUUM ANALYZE")


def measure(offers_wanted: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from agents.models import AgentProfile
    from routing.models import Offer, WorkItem
    from routing.services import offer_accept, offers_dispatch

    counter = QueryCounter()
    made, passes = 0, 0
    with connection.execute_wrapper(counter):
        started, cpu_started = time.perf_counter(), time.process_time()
        while made < offers_wanted:
            offered = offers_dispatch(limit=min(200, offers_wanted - made))
            passes += 1
            if not offered:  # nobody left who can take what is queued: stop rather than spin
                break
            made += offered
        dispatch_seconds = time.perf_counter() - started
        dispatch_cpu_seconds = time.process_time() - cpu_started
    dispatch_queries = counter.count

    accept_counter = QueryCounter()
    to_accept = list(Offer.objects.filter(status="pending").select_related("agent").order_by("pk")[:200])
    # A slow run must not let the offers time out before they are accepted.
    Offer.objects.filter(pk__in=[offer.pk for offer in to_accept]).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    with connection.execute_wrapper(accept_counter):
        started = time.perf_counter()
        for offer in to_accept:
            offer_accept(offer_id=offer.pk, agent=offer.agent)
        accept_seconds = time.perf_counter() - started

    # Fill every agent, then time one sweep-sized pass over items nobody can take.
    AgentProfile.objects.update(capacity_used=ITEMS_PER_AGENT * UNITS)
    idle_counter = QueryCounter()
    with connection.execute_wrapper(idle_counter):
        started = time.perf_counter()
        idle_made = offers_dispatch()
        idle_seconds = time.perf_counter() - started
    assert idle_made == 0
    accepts = max(len(to_accept), 1)
    return {
        "offers": made,
        "passes": passes,
        "offers_per_second": made / dispatch_seconds if dispatch_seconds else 0.0,
        "ms_per_offer": 1000 * dispatch_seconds / max(made, 1),
        # This process's CPU only (PostgreSQL's is not in it): steadier than wall time on a loaded machine.
        "cpu_ms_per_offer": 1000 * dispatch_cpu_seconds / max(made, 1),
        "queries_per_offer": dispatch_queries / max(made, 1),
        "accepts": len(to_accept),
        "ms_per_accept": 1000 * accept_seconds / accepts,
        "queries_per_accept": accept_counter.count / accepts,
        "idle_pass_ms": 1000 * idle_seconds,
        "idle_pass_queries": idle_counter.count,
        "queued_left": WorkItem.objects.filter(status="queued").count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--offers", type=int, default=2000, help="offers to make per run (within the agents' room)")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    setup_django_embedded(db_url)
    from django.db import connection

    load_before = load_average()
    print(f"load average before: {load_before}; {os.cpu_count()} cores", file=sys.stderr, flush=True)
    results = {}
    for agents in args.agents:
        connection.close()
        recreate_database(db_url)
        started = time.perf_counter()
        seed(agents, args.items)
        print(f"… seeded {agents} agents, {args.items} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        available = sum(presence_base(index) == "available" for index in range(agents))
        results[agents] = measure(min(args.offers, available * ITEMS_PER_AGENT))
        print(f"… {agents} agents: {results[agents]}", file=sys.stderr)
    rows = [
        [
            f"{agents:,}",
            f"{args.items:,}",
            f"{r['offers']:,}",
            f"{r['offers_per_second']:.0f}",
            f"{r['ms_per_offer']:.2f}",
            f"{r['cpu_ms_per_offer']:.2f}",
            f"{r['queries_per_offer']:.2f}",
            f"{r['ms_per_accept']:.2f}",
            f"{r['queries_per_accept']:.1f}",
            f"{r['idle_pass_ms']:.0f} ms / {r['idle_pass_queries']} q",
        ]
        for agents, r in results.items()
    ]
    load_after = load_average()
    print(f"\nPush routing: offers_dispatch and offer_accept (PERF-2); load average {load_before} → {load_after}\n")
    print_table(
        [
            "agents",
            "queued items",
            "offers made",
            "offers/s",
            "ms/offer",
            "CPU ms/offer",
            "queries/offer",
            "ms/accept",
            "queries/accept",
            "200-item pass, no room",
        ],
        rows,
    )
    if len(results) > 1:
        low, high = min(results), max(results)
        print(
            f"\nFrom {low:,} to {high:,} agents: offers/s × "
            f"{results[high]['offers_per_second'] / results[low]['offers_per_second']:.2f}, queries/offer × "
            f"{results[high]['queries_per_offer'] / results[low]['queries_per_offer']:.2f}, "
            f"no-room pass × {results[high]['idle_pass_ms'] / results[low]['idle_pass_ms']:.2f}"
        )
    write_json(
        args.json,
        load_before=load_before,
        load_after=load_after,
        rows=[
            {
                "agents": agents,
                "items": args.items,
                "offers": r["offers"],
                "passes": r["passes"],
                "offers_per_s": round(r["offers_per_second"], 1),
                "ms_per_offer": round(r["ms_per_offer"], 3),
                "cpu_ms_per_offer": round(r["cpu_ms_per_offer"], 3),
                "queries_per_offer": round(r["queries_per_offer"], 3),
                "accepts": r["accepts"],
                "accept_ms": round(r["ms_per_accept"], 3),
                "accept_queries": round(r["queries_per_accept"], 2),
                "no_room_pass_ms": round(r["idle_pass_ms"], 1),
                "no_room_pass_queries": r["idle_pass_queries"],
                "queued_left": r["queued_left"],
            }
            for agents, r in results.items()
        ],
    )


if __name__ == "__main__":
    main()
