"""The customer summary's cost at a long history: render time and queries of the conversation page
and its JSON and API reads, at 10 and 10,000 timeline items (SUM-17).

    python -m benchmarks.summary_page                     # 10 and 10,000 items, 200 requests each
    python -m benchmarks.summary_page --items 100000 --requests 100

What it does, for each number of items N:
1. a fresh PostgreSQL database is migrated and seeded: a queue, a workstream with a widget and a
   pre-chat question, an agent, a contact with an account, and N timeline activities of that
   contact bulk-inserted in turn (notes, cases and past conversations, one minute apart); then
   a live chat of the contact, with answers, context variables, self-service actions and skills,
   that the agent holds (an accepted offer, as routing makes it);
2. through Django's test client (the whole request: middleware, session, view, template), as the
   signed-in agent: the conversation page, the summary's JSON (what the page re-reads on
   ``summary.changed``), a timeline page of 20, and the API's summary with a token; each is
   requested ``--requests`` times after two warm-up requests; the table shows p50 and p95 of the
   wall time and the queries of one request (counted through ``connection.execute_wrapper``).
Realtime events go to the in-memory layer (no Redis), so the figures are the database's and the
Python code's.

``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}``, a row per table line.

Needs PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omnichannel_summary_bench),
dropped and re-created for each N.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta

from benchmarks.chat_latency import print_table, recreate_database
from benchmarks.measure import add_json_argument, load_average, page_timings, setup_django_embedded, write_json

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_summary_bench"


def seed(items: int) -> dict:
    """The agent, the held chat and ``items`` activities of its contact; returns ids and the token."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from agents.models import AgentProfile, Presence, Skill
    from conversations.models import Conversation
    from conversations.services import conversation_work_facts
    from customers.models import Account, Case, Contact, Note
    from notifications.services import notification_raise_for_offer
    from routing.models import Offer, Queue, QueueMembership, WorkItem, Workstream
    from routing.services import offer_accept
    from widgets.models import ChatWidget, PreChatQuestion, SelfServiceAction, Visitor

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(name="Support")
    workstream = Workstream.objects.create(name="Shop chat", channel="chat", chat_mode="live", default_queue=queue)
    widget = ChatWidget.objects.create(name="Shop", workstream=workstream)
    PreChatQuestion.objects.create(widget=widget, name="email", label="Email", order=1)
    user = get_user_model().objects.create_user("bench-agent", password="bench")
    available = Presence.objects.filter(base="available").order_by("order").first()
    agent = AgentProfile.objects.create(user=user, display_name="Bench Agent", presence=available, capacity=100)
    QueueMembership.objects.create(queue=queue, agent=agent)
    account = Account.objects.create(name="Globex")
    contact = Contact.objects.create(first_name="Marta", last_name="Nowak", email="marta@example.com", account=account)

    start = timezone.now() - timedelta(days=400)
    notes, cases, conversations = [], [], []
    for number in range(items):
        if number % 3 == 0:
            notes.append(Note(text=f"Note {number}", contact=contact))
        elif number % 3 == 1:
            cases.append(Case(title=f"Case {number}", contact=contact))
        else:
            conversations.append(
                Conversation(
                    channel="live_chat",
                    status="closed",
                    workstream=workstream,
                    queue=queue,
                    contact=contact,
                    created_at=start + timedelta(minutes=number),
                )
            )
    Note.objects.bulk_create(notes, batch_size=5000)
    Case.objects.bulk_create(cases, batch_size=5000)
    Conversation.objects.bulk_create(conversations, batch_size=5000)

    visitor = Visitor.objects.create(widget=widget, language="en")
    conversation = Conversation.objects.create(
        channel="live_chat",
        workstream=workstream,
        queue=queue,
        widget=widget,
        visitor=visitor,
        contact=contact,
        account=account,
        prechat_answers={"email": "marta@example.com"},
        context_variables={"cart_total": {"value": 129.9, "isDisplayable": True}},
        language="en",
        browser="Chrome 126.0",
        operating_system="Windows 10",
    )
    conversation.skills.set([Skill.objects.create(name="Billing"), Skill.objects.create(name="French")])
    for kind, title in (("page_visited", "Pricing"), ("phrase_searched", "refund"), ("article_viewed", "Refunds")):
        SelfServiceAction.objects.create(visitor=visitor, conversation=conversation, kind=kind, title=title)
    work_item = WorkItem.objects.create(
        workstream=workstream,
        queue=queue,
        kind=WorkItem.Kind.CONVERSATION,
        scenario="incoming_chat",
        facts=conversation_work_facts(conversation),
        status="offered",
    )
    conversation.work_item = work_item  # the conversation owns the link (issue 11)
    conversation.save(update_fields=["work_item"])
    offer = Offer.objects.create(work_item=work_item, agent=agent, expires_at=timezone.now() + timedelta(minutes=2))
    notification_raise_for_offer(offer=offer, scenario="incoming_chat")
    offer_accept(offer_id=offer.pk, agent=agent)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have done on a live database
    return {"user_id": user.pk, "conversation": conversation.pk, "token": Token.objects.create(user=user).key}


def measure(seeded: dict, requests: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=seeded["user_id"]))
    conversation = seeded["conversation"]
    token = {"HTTP_AUTHORIZATION": f"Token {seeded['token']}"}
    targets = [
        ("conversation page (HTML)", f"/workspace/conversations/{conversation}/", {}),
        ("summary JSON (workspace)", f"/workspace/conversations/{conversation}/summary/", {}),
        (
            "timeline page of 20 (workspace)",
            f"/workspace/conversations/{conversation}/summary/timeline/?record=contact",
            {},
        ),
        ("GET /api/v1/…/summary/", f"/api/v1/conversations/{conversation}/summary/", token),
    ]
    results = []
    for name, url, headers in targets:
        timed = page_timings(client, url, headers, requests=requests)
        results.append({"name": name, "p50": timed["p50"], "p95": timed["p95"], "queries": timed["queries"]})
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--requests", type=int, default=200)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    setup_django_embedded(db_url, test_client=True)
    from django.db import connection

    load_before = load_average()
    rows, json_rows = [], []
    for items in args.items:
        connection.close()
        recreate_database(db_url)
        started = time.perf_counter()
        seeded = seed(items)
        print(f"… seeded {items:,} timeline items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for result in measure(seeded, args.requests):
            json_rows.append(
                {
                    "items": items,
                    "request": result["name"],
                    "requests": args.requests,
                    "p50_ms": round(result["p50"], 2),
                    "p95_ms": round(result["p95"], 2),
                    "queries": result["queries"],
                }
            )
            rows.append(
                [
                    f"{items:,}",
                    result["name"],
                    f"{result['p50']:.1f}",
                    f"{result['p95']:.1f}",
                    str(result["queries"]),
                ]
            )
    load_after = load_average()
    print(f"\nCustomer summary: render time and queries per request on PostgreSQL, {args.requests} requests (SUM-17)")
    print(f"load average {load_before} → {load_after}\n")
    print_table(["timeline items", "request", "p50 ms", "p95 ms", "queries"], rows)
    write_json(args.json, load_before=load_before, load_after=load_after, rows=json_rows)


if __name__ == "__main__":
    main()
