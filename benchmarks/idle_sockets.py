"""Idle sockets on one server process: memory per socket, CPU at idle, one message's latency.

    python -m benchmarks.idle_sockets                       # 5,000 widget + 1,000 agent sockets
    python -m benchmarks.idle_sockets --widget-sockets 500 --agent-sockets 100 --idle-seconds 20

What it does, on PostgreSQL and Redis (the product's production mode):
1. a fresh PostgreSQL database is migrated and seeded: a live-chat widget with N open chats (one
   visitor each, bulk-inserted: starting chats is not what this measures) and M agents, Away so
   that routing leaves them be, each with a signed-in session;
2. one uvicorn process serves the product with its default settings and uvicorn's own ping
   (every 20 s, 20 s timeout): an idle socket here costs what it costs in production, pings,
   the keepalive that refreshes its group memberships and its liveness row
   (``SOCKET_KEEPALIVE_SECONDS``) and all;
3. the agent sockets (the workspace's: ``hello``) and the widget sockets (each joined to its
   chat: ``joined``) connect, ``--connect-concurrency`` at a time, each bounded by
   ``--setup-timeout``: a socket that fails is counted, never waited for;
4. memory per socket is the server's RSS after all connected, less its RSS before (after one
   warm-up socket came and went), divided by the sockets connected;
5. idle CPU is the server's ``utime + stime`` from /proc over ``--idle-seconds`` with nothing
   sent, as % of one core, and the same for the PostgreSQL backends of the bench database;
6. while all are connected, one customer sends ``--messages`` messages one after the other:
   the latency from its send to the message coming back on its socket (stored, published, fanned
   out), p50 and max.
``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}`` (one row).

Needs PostgreSQL and Redis: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/omnichannel_idle_bench, dropped and re-created) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/15). The load stays on 127.0.0.1. Each socket is a
file descriptor on both sides: the soft ``ulimit -n`` is raised to the hard one, and the run
refuses to start when that is too low.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path

from benchmarks.chat_latency import (
    HOST_ORIGIN,
    frames_until,
    free_port,
    recreate_database,
    server_env,
    setup_django,
    start_server,
    stop,
)
from benchmarks.measure import DatabaseCpu, ProcessesCpu, add_json_argument, load_average, write_json

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_idle_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (``VmRSS`` of /proc/<pid>/status); None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return None
    return None


def raise_file_limit(needed: int) -> int:
    """Raise this process's soft limit of open files to the hard one (the server inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"ulimit -n is {soft}; {needed} sockets need more (raise the hard limit)")
    return soft


def seed(*, widget_sockets: int, agent_sockets: int) -> dict:
    """Open chats and Away agents with sessions, bulk-inserted; returns what the clients need."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from agents.models import AgentProfile, Presence
    from conversations.models import ChatSettings, Conversation
    from routing.models import Queue, Workstream
    from widgets.models import AllowedDomain, ChatWidget, Visitor
    from widgets.tokens import conversation_token

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(name="Idle bench")
    workstream = Workstream.objects.create(name="Idle bench chat", default_queue=queue)
    ChatSettings.objects.create(workstream=workstream, queue_position_message="", average_wait_message="")
    widget = ChatWidget.objects.create(name="Idle bench widget", workstream=workstream)
    AllowedDomain.objects.create(widget=widget, origin=HOST_ORIGIN)
    visitors = Visitor.objects.bulk_create([Visitor(widget=widget) for _ in range(widget_sockets)])
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                channel=Conversation.Channel.LIVE_CHAT,
                workstream=workstream,
                queue=queue,
                widget=widget,
                visitor=visitor,
                public_id=uuid.uuid4(),
            )
            for visitor in visitors
        ]
    )
    customers = [
        conversation_token(conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id)
        for conversation, visitor in zip(conversations, visitors, strict=True)
    ]
    away = Presence.objects.get(base=Presence.Base.AWAY, is_system=True)
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"idle-agent-{index}", password="!unusable") for index in range(agent_sockets)]
    )
    AgentProfile.objects.bulk_create(
        [AgentProfile(user=user, display_name=f"Agent {index}", presence=away) for index, user in enumerate(users)]
    )
    agents = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # the sign-in backend in use
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        agents.append(f"sessionid={session.session_key}")
    return {"widget_key": str(widget.public_key), "customers": customers, "agents": agents}


async def connect_all(*, port: int, data: dict, concurrency: int, setup_timeout: float, stack) -> dict:
    """Open every agent socket, then every widget socket (each joined), ``concurrency`` at a time."""
    from websockets.asyncio.client import connect

    base = f"ws://127.0.0.1:{port}"
    limit = asyncio.Semaphore(concurrency)
    outcome = {"agents": 0, "widgets": 0, "failed": 0, "errors": set()}

    async def open_agent(cookie: str) -> None:
        ws = await stack.enter_async_context(
            connect(
                f"{base}/ws/workspace/",
                origin=base.replace("ws://", "http://"),
                additional_headers={"Cookie": cookie},
                ping_interval=None,
            )
        )
        await frames_until(ws, lambda f: f["type"] == "hello")
        outcome["agents"] += 1

    async def open_widget(token: str):
        ws = await stack.enter_async_context(
            connect(f"{base}/ws/widget/{data['widget_key']}/", origin=HOST_ORIGIN, ping_interval=None)
        )
        await ws.send(json.dumps({"type": "join", "token": token, "after": 0}))
        await frames_until(ws, lambda f: f["type"] in ("joined", "error"))
        outcome["widgets"] += 1
        return ws

    async def bounded(opener, argument):
        async with limit:
            try:
                async with asyncio.timeout(setup_timeout):
                    return await opener(argument)
            except Exception as exc:  # refused, closed, timed out: counted, never a hang
                outcome["failed"] += 1
                outcome["errors"].add(f"{type(exc).__name__}: {exc}"[:200])
                return None

    await asyncio.gather(*(bounded(open_agent, cookie) for cookie in data["agents"]))
    widgets = await asyncio.gather(*(bounded(open_widget, token) for token in data["customers"]))
    outcome["first_widget"] = next((ws for ws in widgets if ws is not None), None)
    return outcome


def came_back(frame: dict, client_id: str) -> bool:
    return frame["type"] == "conversation.message" and frame.get("client_id") == client_id


async def message_latencies(ws, *, messages: int, timeout: float) -> list[float]:
    """Send → the message back on the same socket (stored, published, fanned out), one at a time."""
    latencies = []
    for number in range(messages):
        client_id = f"idle-{number}"
        sent = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                await ws.send(json.dumps({"type": "message.send", "text": f"Hello {number}", "client_id": client_id}))
                await frames_until(ws, lambda f, sent_id=client_id: came_back(f, sent_id))
        except Exception:  # lost: the row says how many came back
            break
        latencies.append(time.perf_counter() - sent)
    return latencies


async def run(args, port: int, server_pid: int, data: dict, db: tuple[str, str]) -> dict:
    from contextlib import AsyncExitStack

    from websockets.asyncio.client import connect

    # Warm up: the first socket imports and caches what every later one shares.
    async with connect(f"ws://127.0.0.1:{port}/ws/widget/{data['widget_key']}/", origin=HOST_ORIGIN) as ws:
        await ws.send(json.dumps({"type": "join", "token": data["customers"][0], "after": 0}))
        await asyncio.wait_for(frames_until(ws, lambda f: f["type"] == "joined"), args.setup_timeout)
    await asyncio.sleep(1)
    rss_before = rss_bytes(server_pid)
    async with AsyncExitStack() as stack:
        started = time.perf_counter()
        outcome = await connect_all(
            port=port, data=data, concurrency=args.connect_concurrency, setup_timeout=args.setup_timeout, stack=stack
        )
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(2)  # the joins' own work (keepalive tasks started, rows written) settles
        rss_after = rss_bytes(server_pid)
        server_cpu, db_cpu = ProcessesCpu([server_pid]), DatabaseCpu(*db)
        server_cpu.start()
        db_cpu.start()
        idle_started = time.perf_counter()
        await asyncio.sleep(args.idle_seconds)
        idle_elapsed = time.perf_counter() - idle_started
        server_cpu.stop()
        db_cpu.stop()
        first = outcome["first_widget"]
        latencies = await message_latencies(first, messages=args.messages, timeout=args.timeout) if first else []
        still_open = rss_bytes(server_pid) is not None
    sockets = outcome["agents"] + outcome["widgets"]
    delta = (rss_after - rss_before) if rss_before and rss_after else None
    return {
        "widget_sockets": args.widget_sockets,
        "agent_sockets": args.agent_sockets,
        "connected_widget_sockets": outcome["widgets"],
        "connected_agent_sockets": outcome["agents"],
        "setup_failed": outcome["failed"],
        "connect_s": round(connect_seconds, 1),
        "rss_before_mb": round(rss_before / 2**20, 1) if rss_before else None,
        "rss_after_mb": round(rss_after / 2**20, 1) if rss_after else None,
        "kb_per_socket": round(delta / sockets / 1024, 1) if delta is not None and sockets else None,
        "idle_seconds": round(idle_elapsed, 1),
        "idle_server_cpu_pct": round(100 * server_cpu.seconds / idle_elapsed, 2),
        "idle_db_cpu_pct": round(100 * db_cpu.seconds / idle_elapsed, 2),
        "messages": args.messages,
        "delivered": len(latencies),
        "message_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "message_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "server_alive": still_open,
        "errors": sorted(outcome["errors"])[:5],
    }


COLUMNS = [
    ("widget sockets", "connected_widget_sockets"),
    ("agent sockets", "connected_agent_sockets"),
    ("setup failed", "setup_failed"),
    ("connect s", "connect_s"),
    ("RSS before MB", "rss_before_mb"),
    ("RSS after MB", "rss_after_mb"),
    ("KB per socket", "kb_per_socket"),
    ("idle server CPU % of a core", "idle_server_cpu_pct"),
    ("idle PostgreSQL CPU %", "idle_db_cpu_pct"),
    ("message p50 ms", "message_p50_ms"),
    ("message max ms", "message_max_ms"),
    ("delivered", "delivered"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widget-sockets", type=int, default=5000)
    parser.add_argument("--agent-sockets", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="the window idle CPU is measured over")
    parser.add_argument("--messages", type=int, default=20, help="messages sent while all are connected")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="sockets opening at once")
    parser.add_argument("--setup-timeout", type=float, default=60.0, help="seconds a socket may take to connect")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a message counts as lost")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    if min(args.widget_sockets, args.agent_sockets) < 1:
        parser.error("at least one widget and one agent socket")
    raise_file_limit(args.widget_sockets + args.agent_sockets + 200)
    # The socket limits guard against abuse; every visitor here holds one socket anyway.
    db_url, db, env = server_env(CUSTOMER_MESSAGES_PER_MINUTE="1000000")
    load_before = load_average()
    print(f"load average before: {load_before}; {os.cpu_count()} cores", file=sys.stderr, flush=True)
    recreate_database(db_url)
    setup_django(env)
    data = seed(widget_sockets=args.widget_sockets, agent_sockets=args.agent_sockets)
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_server("omnichannel.asgi:application", port, env, ping=(20, 20))
    try:
        row = asyncio.run(run(args, port, server.pid, data, db))
    finally:
        stop(server)
    load_after = load_average()
    print(f"\nIdle sockets on one ASGI process; load average {load_before} → {load_after}\n")
    headers = [header for header, _ in COLUMNS]
    cells = ["—" if row[key] is None else str(row[key]) for _, key in COLUMNS]
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("-" * (len(header) + 2) for header in headers) + "|")
    print("| " + " | ".join(cells) + " |")
    if row["errors"]:
        print("\nfirst setup errors:", *row["errors"], sep="\n  ")
    write_json(args.json, load_before=load_before, load_after=load_after, rows=[row])


if __name__ == "__main__":
    main()
