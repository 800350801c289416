"""The conversation search at a large history (issue 15): p50/p95 and queries per request of a
one-word query and of a filtered query, on the workspace search page and in the API.

    python -m benchmarks.search                                   # 1,000,000 messages, 100,000 conversations
    python -m benchmarks.search --conversations 1000 --messages 10000 --requests 20

What it does:
1. a fresh PostgreSQL database is migrated; two queues, a workstream, a tag and an agent who is a
   member of one queue only (so SEC-1 narrows every search to half the conversations);
2. the conversations and messages are seeded in SQL with ``generate_series`` (not the ORM): the
   conversations spread over a year, over both queues, in English, French and no language; the
   messages (``--messages`` of them, round robin over the conversations) are a dozen words each
   drawn from a fixed vocabulary, and the query word "refund" ends one message in 100; their
   search vectors are computed in the same INSERT, as the trigger of migration
   ``message_search_vector`` computes them (switched off for the seeding, on again after); a tenth
   of the conversations carry the tag; then ``ANALYZE``;
3. through Django's test client (the whole request), as the signed-in agent: the search page and
   the API search, each with the one word, and with the word plus status, queue, tag and a
   three-month date range; each requested ``--requests`` times after two warm-up requests; p50 and
   p95 of the wall time and the queries of one request (``connection.execute_wrapper``).

``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}``, a row per table line.

Needs PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omnichannel_search_bench),
dropped and re-created.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks.chat_latency import print_table, recreate_database
from benchmarks.measure import add_json_argument, load_average, page_timings, setup_django_embedded, write_json

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_search_bench"
VOCABULARY = [
    "hello",
    "order",
    "parcel",
    "delivery",
    "invoice",
    "payment",
    "card",
    "account",
    "password",
    "login",
    "address",
    "shipping",
    "return",
    "broken",
    "missing",
    "late",
    "tracking",
    "number",
    "thanks",
    "please",
    "help",
    "question",
    "price",
    "discount",
    "coupon",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "support",
    "agent",
    "waiting",
    "today",
    "tomorrow",
    "week",
    "bonjour",
    "commande",
    "colis",
    "livraison",
    "remboursement",
    "facture",
    "paiement",
    "merci",
    "aide",
    "problème",
    "compte",
    "adresse",
    "retour",
    "cassé",
    "retard",
    "size",
    "colour",
    "stock",
    "available",
    "warranty",
    "repair",
    "replace",
    "email",
    "phone",
    "update",
    "change",
]


def seed(conversations: int, messages: int) -> dict:
    """The agent, the queues, a tag, and the seeded conversations and messages; returns ids."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from agents.models import AgentProfile, Presence
    from conversations.models import Tag
    from routing.models import Queue, QueueMembership, Workstream

    call_command("migrate", verbosity=0)
    ours, theirs = Queue.objects.create(name="Support"), Queue.objects.create(name="Sales")
    workstream = Workstream.objects.create(name="Shop chat", channel="chat", chat_mode="live", default_queue=ours)
    user = get_user_model().objects.create_user("bench-agent", password="bench")
    away = Presence.objects.filter(base="away").order_by("order").first()
    agent = AgentProfile.objects.create(user=user, display_name="Bench Agent", presence=away, capacity=100)
    QueueMembership.objects.create(queue=ours, agent=agent)
    tag = Tag.objects.create(name="VIP", colour="#fde68a")
    words = "ARRAY[" + ",".join(f"'{word}'" for word in VOCABULARY) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO conversations_conversation (
                public_id, channel, origin, status, workstream_id, queue_id, prechat_answers,
                context_variables, language, authenticated, auth_subject, browser, operating_system,
                device, location, page_url, customer_phone, suggested_by, created_at, last_message_seq
            )
            SELECT gen_random_uuid(), 'live_chat', 'widget',
                   CASE WHEN n %% 5 = 0 THEN 'active' ELSE 'closed' END,
                   %s, CASE WHEN n %% 2 = 0 THEN %s ELSE %s END, '{}', '{}',
                   (ARRAY['en', 'fr', ''])[1 + n %% 3], false, '', '', '', '', '', '', '', '',
                   now() - make_interval(mins => (n::bigint * 525600 / %s)::int), 0
            FROM generate_series(1, %s) AS n
            """,
            [workstream.pk, ours.pk, theirs.pk, conversations, conversations],
        )
        cursor.execute("SELECT min(id) FROM conversations_conversation")
        first = cursor.fetchone()[0]
        started = time.perf_counter()
        # The trigger would fill each vector row by row; seeding fills them in the same statement,
        # with the same function of the conversation's language, then switches the trigger back on.
        cursor.execute("ALTER TABLE conversations_message DISABLE TRIGGER message_search_vector_fill")
        cursor.execute(
            f"""
            INSERT INTO conversations_message (conversation_id, seq, sender, text, created_at, search_vector)
            SELECT m.conversation_id, m.seq, m.sender, m.text, now(),
                   to_tsvector(conversation_search_config(c.language), m.text)
            FROM (
                SELECT %s + (n %% %s) AS conversation_id, 1 + n / %s AS seq,
                       CASE WHEN n %% 2 = 0 THEN 'customer' ELSE 'agent' END AS sender,
                       (SELECT string_agg(({words})[1 + floor(random() * {len(VOCABULARY)})::int], ' ')
                        FROM generate_series(1, 12) AS w WHERE n >= 0)
                       || CASE WHEN random() < 0.01 THEN ' refund' ELSE '' END AS text
                FROM generate_series(0, %s - 1) AS n
            ) AS m
            JOIN conversations_conversation AS c ON c.id = m.conversation_id
            """,
            [first, conversations, conversations, messages],
        )
        cursor.execute("ALTER TABLE conversations_message ENABLE TRIGGER message_search_vector_fill")
        print(f"… {messages:,} messages inserted in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cursor.execute(
            """
            UPDATE conversations_conversation AS c SET last_message_seq = m.last
            FROM (SELECT conversation_id, max(seq) AS last FROM conversations_message GROUP BY 1) AS m
            WHERE m.conversation_id = c.id
            """
        )
        cursor.execute(
            "INSERT INTO conversations_conversation_tags (conversation_id, tag_id) "
            "SELECT id, %s FROM conversations_conversation WHERE id %% 10 = 2",
            [tag.pk],
        )
        cursor.execute("ANALYZE")  # as autovacuum would have done on a live database
    return {"user_id": user.pk, "queue": ours.pk, "tag": tag.pk, "token": Token.objects.create(user=user).key}


def measure(seeded: dict, requests: int) -> list[dict]:
    from datetime import date, timedelta
    from urllib.parse import urlencode

    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=seeded["user_id"]))
    token = {"HTTP_AUTHORIZATION": f"Token {seeded['token']}"}
    one_word = {"q": "refund"}
    today = date.today()
    filtered = {
        "q": "refund",
        "status": "closed",
        "queue": seeded["queue"],
        "tag": seeded["tag"],
        "since": (today - timedelta(days=90)).isoformat(),
        "until": today.isoformat(),
    }
    targets = [
        ("one word", "API", f"/api/v1/conversations/search/?{urlencode(one_word)}", token),
        ("one word", "search page", f"/workspace/search/?{urlencode(one_word)}", {}),
        ("filtered", "API", f"/api/v1/conversations/search/?{urlencode(filtered)}", token),
        ("filtered", "search page", f"/workspace/search/?{urlencode(filtered)}", {}),
    ]
    results, found = [], {}
    for query, surface, url, headers in targets:
        timed = page_timings(client, url, headers, requests=requests)
        if surface == "API":  # the page shows the same count; the API says it in JSON
            found[query] = timed["response"].json()["count"]
        results.append(
            {
                "query": query,
                "surface": surface,
                "found": None,
                "p50": timed["p50"],
                "p95": timed["p95"],
                "queries": timed["queries"],
            }
        )
    for result in results:
        result["found"] = found[result["query"]]
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    setup_django_embedded(db_url, test_client=True)
    from django.db import connection

    load_before = load_average()
    connection.close()
    recreate_database(db_url)
    started = time.perf_counter()
    seeded = seed(args.conversations, args.messages)
    seed_seconds = time.perf_counter() - started
    print(f"… seeded in {seed_seconds:.1f} s", file=sys.stderr)
    rows, json_rows = [], []
    for result in measure(seeded, args.requests):
        json_rows.append(
            {
                "conversations": args.conversations,
                "messages": args.messages,
                "query": result["query"],
                "surface": result["surface"],
                "found": result["found"],
                "requests": args.requests,
                "p50_ms": round(result["p50"], 2),
                "p95_ms": round(result["p95"], 2),
                "queries": result["queries"],
                "seed_s": round(seed_seconds, 1),
            }
        )
        rows.append(
            [
                result["query"],
                result["surface"],
                f"{result['found']:,}",
                f"{result['p50']:.1f}",
                f"{result['p95']:.1f}",
                str(result["queries"]),
            ]
        )
    load_after = load_average()
    print(
        f"\nConversation search on PostgreSQL: {args.messages:,} messages over {args.conversations:,} "
        f"conversations, {args.requests} requests each (issue 15)"
    )
    print(f"load average {load_before} → {load_after}\n")
    print_table(["query", "surface", "found (SEC-1)", "p50 ms", "p95 ms", "queries"], rows)
    write_json(args.json, load_before=load_before, load_after=load_after, rows=json_rows)


if __name__ == "__main__":
    main()
