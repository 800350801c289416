"""Chat message latency and throughput through the full stack, against a bare Channels relay.

    python -m benchmarks.chat_latency            # 100 and 500 pairs, 20 messages each
    python -m benchmarks.chat_latency --pairs 50 --messages 10

What it does, for each number of pairs N:
1. a fresh PostgreSQL database is migrated and seeded through the services: a live-chat widget,
   N agents and N chats, each started by a customer and accepted by its agent;
2. the product runs as a real ASGI server process (uvicorn) on Redis and PostgreSQL;
3. N customer sockets (the widget's) and N agent sockets (the workspace's) connect and join their
   conversation; every customer then sends its messages one after the other, each as soon as its
   agent has received the previous one, all pairs at once. Latency is customer send → agent
   receive; throughput is messages delivered per second; "persisted" counts the rows stored;
4. the same traffic goes through a bare Channels relay (benchmarks/relay_asgi.py) on the same Redis,
   with no database and no logic.
It also prints the widget script's size, raw and gzipped (WID-5, PERF-4).

Needs PostgreSQL and Redis: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omnichannel_bench)
and REDIS_URL (default redis://127.0.0.1:6379/15). The load stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
HOST_ORIGIN = "https://shop.bench.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
    import django

    django.setup()


def seed(pairs: int) -> dict:
    """N accepted live chats, made through the services; returns what the clients need."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from conversations.services import conversation_start
    from routing.models import AgentConnection, AgentProfile, Offer, Presence, Queue, QueueMembership, Workstream
    from routing.services import offer_accept, offers_dispatch
    from widgets.models import AllowedDomain, ChatWidget, Visitor
    from widgets.tokens import conversation_token

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(name="Bench")
    workstream = Workstream.objects.create(
        name="Bench chat", default_queue=queue, capacity_units=10, queue_position_message="", average_wait_message=""
    )
    widget = ChatWidget.objects.create(name="Bench widget", workstream=workstream)
    AllowedDomain.objects.create(widget=widget, origin=HOST_ORIGIN)
    available = Presence.objects.get(base="available", is_system=True)
    User = get_user_model()
    clients = []
    for index in range(pairs):
        user = User.objects.create_user(f"bench-agent-{index}", password="unused-bench-password")
        agent = AgentProfile.objects.create(user=user, display_name=f"Agent {index}", presence=available, capacity=10)
        QueueMembership.objects.create(queue=queue, agent=agent)
        # Routing offers work only to agents with an open workspace page (ROU-8).
        AgentConnection.objects.create(agent=agent, channel_name=f"bench.{index}")
        visitor = Visitor.objects.create(widget=widget)
        conversation = conversation_start(widget=widget, visitor=visitor)
        offers_dispatch()
        offer = Offer.objects.get(work_item__conversation=conversation, status="pending")
        offer_accept(offer_id=offer.pk, agent=offer.agent)
        session = SessionStore()
        session[SESSION_KEY] = str(offer.agent.user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = offer.agent.user.get_session_auth_hash()
        session.create()
        conversation.refresh_from_db()
        clients.append(
            {
                "conversation": conversation.pk,
                "last_seq": conversation.last_message_seq,
                "customer_token": conversation_token(
                    conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id
                ),
                "agent_cookie": f"sessionid={session.session_key}",
            }
        )
    return {"widget_key": str(widget.public_key), "clients": clients}


def start_server(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--log-level",
            "warning",
            "--no-access-log",
            # The load generator shares the server's two cores: at 500 pairs its pongs can come
            # later than uvicorn's default 20 s, and a dropped socket is not what we measure.
            "--ws-ping-interval",
            "60",
            "--ws-ping-timeout",
            "300",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


async def frames_until(ws, predicate, timeout: float = 180.0) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


async def run_product(port: int, data: dict, messages: int) -> dict:
    from websockets.asyncio.client import connect

    base = f"ws://127.0.0.1:{port}"
    latencies: list[float] = []

    async def pair(client: dict, ready: asyncio.Barrier) -> int:
        async with (
            connect(
                f"{base}/ws/widget/{data['widget_key']}/", origin=HOST_ORIGIN, open_timeout=60, ping_interval=None
            ) as customer,
            connect(
                f"{base}/ws/workspace/",
                origin=f"http://127.0.0.1:{port}",
                additional_headers={"Cookie": client["agent_cookie"]},
                open_timeout=60,
                ping_interval=None,
            ) as agent,
        ):
            await customer.send(
                json.dumps({"type": "join", "token": client["customer_token"], "after": client["last_seq"]})
            )
            await frames_until(customer, lambda f: f["type"] == "joined")
            await frames_until(agent, lambda f: f["type"] == "hello")
            await agent.send(
                json.dumps(
                    {"type": "conversation.join", "conversation": client["conversation"], "after": client["last_seq"]}
                )
            )
            await agent.send(json.dumps({"type": "ping", "ref": "joined"}))
            await frames_until(agent, lambda f: f.get("ref") == "joined")
            await ready.wait()
            for index in range(messages):
                client_id = f"b{client['conversation']}-{index}"
                sent = time.perf_counter()
                await customer.send(
                    json.dumps({"type": "message.send", "text": f"Message {index}", "client_id": client_id})
                )
                try:
                    await frames_until(
                        agent,
                        lambda f, cid=client_id: f["type"] == "conversation.message" and f.get("client_id") == cid,
                    )
                except TimeoutError:  # counted as lost; this pair stops here
                    return index, time.perf_counter()
                latencies.append(time.perf_counter() - sent)
            return messages, time.perf_counter()

    ready = asyncio.Barrier(len(data["clients"]) + 1)
    tasks = [asyncio.create_task(pair(client, ready)) for client in data["clients"]]
    await ready.wait()
    started = time.perf_counter()
    return exchange_result(latencies, await asyncio.gather(*tasks), started)


async def run_relay(port: int, pairs: int, messages: int) -> dict:
    from websockets.asyncio.client import connect

    latencies: list[float] = []

    async def pair(room: int, ready: asyncio.Barrier) -> int:
        url = f"ws://127.0.0.1:{port}/relay/{room}/"
        async with (
            connect(url, open_timeout=60, ping_interval=None) as customer,
            connect(url, open_timeout=60, ping_interval=None) as agent,
        ):
            await asyncio.sleep(0.2)  # both joined the group
            await ready.wait()
            for index in range(messages):
                sent = time.perf_counter()
                await customer.send(json.dumps({"id": index, "text": f"Message {index}"}))
                try:
                    await frames_until(agent, lambda f, i=index: f["id"] == i)
                except TimeoutError:  # counted as lost; this pair stops here
                    return index, time.perf_counter()
                latencies.append(time.perf_counter() - sent)
            return messages, time.perf_counter()

    ready = asyncio.Barrier(pairs + 1)
    tasks = [asyncio.create_task(pair(room, ready)) for room in range(pairs)]
    await ready.wait()
    started = time.perf_counter()
    return exchange_result(latencies, await asyncio.gather(*tasks), started)


def exchange_result(latencies: list[float], pairs: list[tuple[int, float]], started: float) -> dict:
    """Throughput over the exchange itself: from the start signal to the last message delivered
    (closing a thousand sockets afterwards is not message traffic)."""
    return {
        "latencies": latencies,
        "delivered": sum(count for count, _ in pairs),
        "elapsed": max(finished for _, finished in pairs) - started,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def row(name: str, pairs: int, result: dict, persisted: int | str, messages: int) -> list[str]:
    latencies = result["latencies"]
    return [
        name,
        str(pairs),
        str(result["delivered"]),
        str(pairs * messages - result["delivered"]),
        f"{statistics.median(latencies) * 1000:.1f}",
        f"{percentile(latencies, 0.99) * 1000:.1f}",
        f"{result['delivered'] / result['elapsed']:.0f}",
        f"{persisted / result['elapsed']:.0f}" if isinstance(persisted, int) else persisted,
        str(persisted),
    ]


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def widget_sizes() -> list[list[str]]:
    rows = []
    for path in sorted((ROOT / "widgets" / "static" / "widgets").glob("*.js")):
        raw = path.read_bytes()
        rows.append([path.name, str(len(raw)), str(len(gzip.compress(raw, compresslevel=9)))])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CONN_MAX_AGE": "60",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "WIDGET_THROTTLE_RATE": "1000000/min",
        # The socket limits guard against abuse; the benchmark measures the path, not them.
        "SOCKET_FRAMES_PER_SECOND": "100000",
        "SOCKET_FRAME_BURST": "100000",
        "CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
    }
    setup_django(env)
    from django.db import connections

    rows = []
    for pairs in args.pairs:
        recreate_database(db_url)
        connections.close_all()
        data = seed(pairs)
        connections.close_all()
        port = free_port()
        server = start_server("omnichannel.asgi:application", port, env)
        try:
            result = asyncio.run(run_product(port, data, args.messages))
        finally:
            stop(server)
        from conversations.models import Message

        persisted = Message.objects.filter(sender="customer", client_id__startswith="b").count()
        connections.close_all()
        rows.append(row("product (full stack)", pairs, result, persisted, args.messages))
        print(f"… {pairs} pairs, product: {rows[-1]}", file=sys.stderr)
        port = free_port()
        relay = start_server("benchmarks.relay_asgi:application", port, env)
        try:
            baseline = asyncio.run(run_relay(port, pairs, args.messages))
        finally:
            stop(relay)
        rows.append(row("bare Channels relay", pairs, baseline, "—", args.messages))
        print(f"… {pairs} pairs done: {rows[-2]} {rows[-1]}", file=sys.stderr)

    print("\nCustomer → agent message latency and throughput (one ASGI process, Redis, PostgreSQL)\n")
    headers = ["stack", "pairs", "delivered", "lost", "p50 ms", "p99 ms", "delivered/s", "persisted/s", "persisted"]
    print_table(headers, rows)
    print("\nWidget script size\n")
    print_table(["file", "bytes", "gzipped bytes"], widget_sizes())


if __name__ == "__main__":
    main()
