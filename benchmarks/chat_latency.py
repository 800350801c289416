"""Chat message latency, throughput and CPU per message: the product against a bare relay and a floor.

    python -m benchmarks.chat_latency            # 100 and 500 pairs, 20 messages each
    python -m benchmarks.chat_latency --pairs 50 --messages 10 --json chat.json

What it does, for each number of pairs N, with three stacks on the same PostgreSQL and Redis:
1. a fresh PostgreSQL database is migrated and seeded through the services: a live-chat widget,
   N agents and N chats, each started by a customer and accepted by its agent;
2. product: the project as a real ASGI server process (uvicorn) with its default settings
   (``--product-env NAME=VALUE`` tries another); N customer sockets (the widget's) and N agent
   sockets (the workspace's) connect and join their conversation;
3. relay: the same traffic through a bare Channels relay (benchmarks/relay_asgi.py) on the
   product's own channel layer (Redis pub/sub, which does not drop messages): no database, no
   logic (``--relay-layer`` tries channels_redis's layers on the same traffic);
4. floor: a raw ASGI app (benchmarks/floor_asgi.py: no Django, no Channels) that stores each
   message with one INSERT and sends it on with one PUBLISH;
5. in each, every customer sends its messages one after the other, each as soon as its agent has
   received the previous one, all pairs at once. Latency is customer send → agent receive;
   throughput is messages delivered per second over the exchange; "persisted" counts the rows stored.

CPU per message is read from /proc (utime + stime) over the exchange: the server process, the
PostgreSQL backends connected to the bench database (found through pg_stat_activity) and this
process (the load generator); "+ exited backends" adds the backends (of any database) that exited
meanwhile, which only an otherwise idle PostgreSQL makes exact (see benchmarks/README.md).
A pair that fails to connect within --setup-timeout is counted ("setup failed") and sits out; a
message not delivered within --timeout counts as lost (that pair stops there): nothing waits
forever. After the tables come the report's other sections (``REPORT_SECTIONS``: the widget
script's size, raw and gzipped, WID-5 and PERF-4), each also under its own key in the JSON.
``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}``, a row per table line.

Needs PostgreSQL and Redis: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/omnichannel_bench,
dropped and re-created) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/15). The load stays on 127.0.0.1.
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
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.measure import (
    DatabaseCpu,
    ProcessesCpu,
    add_json_argument,
    load_average,
    process_cpu_seconds,
    write_json,
)

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


def server_env(**extra: str) -> tuple[str, tuple[str, str], dict[str, str]]:
    """The benchmark database's URL (``BENCH_DATABASE_URL``), its (server URL, name) pair, and the
    environment of the servers under test (``BENCH_REDIS_URL``) with ``extra`` on top."""
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    parts = urlsplit(db_url)
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    return db_url, (parts._replace(path="/postgres").geturl(), parts.path.lstrip("/")), env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
    import django

    django.setup()


def seed(pairs: int) -> dict:
    """N accepted live chats, made through the services; returns what the clients need."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from agents.models import AgentConnection, AgentProfile, Presence
    from conversations.models import ChatSettings
    from conversations.services import conversation_start
    from routing.models import Offer, Queue, QueueMembership, Workstream
    from routing.services import offer_accept, offers_dispatch
    from widgets.models import AllowedDomain, ChatWidget, Visitor
    from widgets.tokens import conversation_token

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(name="Bench")
    workstream = Workstream.objects.create(name="Bench chat", default_queue=queue, capacity_units=10)
    ChatSettings.objects.create(workstream=workstream, queue_position_message="", average_wait_message="")
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
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # the sign-in backend in use
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


def start_server(
    app: str, port: int, env: dict[str, str], *, deflate: bool = False, ping: tuple[float, float] = (60, 300)
) -> subprocess.Popen:
    """A uvicorn process serving ``app`` on ``port``; ``ping`` is its (interval, timeout) in seconds."""
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
            str(ping[0]),
            "--ws-ping-timeout",
            str(ping[1]),
            # permessage-deflate costs CPU for short chat frames (README, production): off unless asked.
            "--ws-per-message-deflate",
            "true" if deflate else "false",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited with {process.returncode} before it listened")
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


async def frames_until(ws, predicate) -> dict:
    """Frames from ``ws`` until one matches; the caller bounds the wait."""
    while True:
        frame = json.loads(await ws.recv())
        if predicate(frame):
            return frame


def pair_ports(ports: list[int], index: int) -> tuple[int, int]:
    """The customer's server and the agent's: with several processes, a different one each, so every
    message crosses processes through the channel layer, as behind a load balancer."""
    return ports[index % len(ports)], ports[(index + 1) % len(ports)]


def product_stack(ports: list[int], data: dict):
    """The widget's socket and the workspace's, joined to the pair's conversation."""
    from websockets.asyncio.client import connect

    async def open_pair(stack: AsyncExitStack, index: int):
        client = data["clients"][index]
        customer_port, agent_port = pair_ports(ports, index)
        customer = await stack.enter_async_context(
            connect(
                f"ws://127.0.0.1:{customer_port}/ws/widget/{data['widget_key']}/",
                origin=HOST_ORIGIN,
                ping_interval=None,
                # The pair's setup is bounded by --setup-timeout, not by websockets' own 10 s.
                open_timeout=None,
            )
        )
        agent = await stack.enter_async_context(
            connect(
                f"ws://127.0.0.1:{agent_port}/ws/workspace/",
                origin=f"http://127.0.0.1:{agent_port}",
                additional_headers={"Cookie": client["agent_cookie"]},
                ping_interval=None,
                # The pair's setup is bounded by --setup-timeout, not by websockets' own 10 s.
                open_timeout=None,
            )
        )
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
        return customer, agent

    def message(index: int, number: int):
        client_id = f"b{data['clients'][index]['conversation']}-{number}"
        text = json.dumps({"type": "message.send", "text": f"Message {number}", "client_id": client_id})
        return text, lambda f: f["type"] == "conversation.message" and f.get("client_id") == client_id

    return open_pair, message


def relay_stack(ports: list[int], relay_layer: str = "product"):
    """Two sockets in one group of the bare relay (both receive what either sends, as in the product)."""
    from websockets.asyncio.client import connect

    async def open_pair(stack: AsyncExitStack, index: int):
        customer_port, agent_port = pair_ports(ports, index)
        customer = await stack.enter_async_context(
            connect(f"ws://127.0.0.1:{customer_port}/relay/{index}/", ping_interval=None, open_timeout=None)
        )
        agent = await stack.enter_async_context(
            connect(f"ws://127.0.0.1:{agent_port}/relay/{index}/", ping_interval=None, open_timeout=None)
        )
        if relay_layer == "channels-pubsub":
            # Its group_add returns before Redis confirmed the SUBSCRIBE: give Redis a moment.
            # The product's layer returns once confirmed, and the core layer writes a sorted set.
            await asyncio.sleep(0.2)
        return customer, agent

    return open_pair, numbered_message


def floor_stack(ports: list[int]):
    """The agent's socket subscribed (it says "ready" once Redis confirmed), the customer's sending."""
    from websockets.asyncio.client import connect

    async def open_pair(stack: AsyncExitStack, index: int):
        customer_port, agent_port = pair_ports(ports, index)
        agent = await stack.enter_async_context(
            connect(f"ws://127.0.0.1:{agent_port}/floor/{index}/agent/", ping_interval=None, open_timeout=None)
        )
        await frames_until(agent, lambda f: f.get("type") == "ready")
        customer = await stack.enter_async_context(
            connect(f"ws://127.0.0.1:{customer_port}/floor/{index}/customer/", ping_interval=None, open_timeout=None)
        )
        return customer, agent

    return open_pair, numbered_message


def numbered_message(index: int, number: int):
    return json.dumps({"id": number, "text": f"Message {number}"}), lambda f: f.get("id") == number


async def exchange(
    *, pairs: int, messages: int, open_pair, message, meters: list, setup_timeout: float, message_timeout: float
) -> dict:
    """Every pair connects (bounded by ``setup_timeout``; a failure is counted and the pair sits
    out), then all start at once; each customer sends its messages one after the other, the next
    as soon as its agent has the previous one. A message not at the agent within
    ``message_timeout`` (or a socket that closes) counts as lost and that pair stops there.
    ``meters`` (CPU counters) run from the start signal to the last pair's end."""
    latencies: list[float] = []
    arrived = 0
    all_arrived, go = asyncio.Event(), asyncio.Event()

    def arrive() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == pairs:
            all_arrived.set()

    async def pair(index: int) -> dict:
        outcome = {"setup_failed": 0, "sent": 0, "delivered": 0, "finished": None}
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(setup_timeout):
                    customer, agent = await open_pair(stack, index)
            except Exception as exc:  # refused, closed, timed out: counted, never a hang
                outcome["setup_failed"] = 1
                outcome["error"] = f"{type(exc).__name__}: {exc}"[:200]
                arrive()
                return outcome
            arrive()
            await go.wait()
            for number in range(messages):
                text, delivered = message(index, number)
                sent = time.perf_counter()
                outcome["sent"] += 1
                try:
                    async with asyncio.timeout(message_timeout):
                        await customer.send(text)
                        await frames_until(agent, delivered)
                except Exception:  # TimeoutError or a closed socket: lost, and this pair stops here
                    break
                latencies.append(time.perf_counter() - sent)
                outcome["delivered"] += 1
            outcome["finished"] = time.perf_counter()
        return outcome

    tasks = [asyncio.create_task(pair(index)) for index in range(pairs)]
    try:
        async with asyncio.timeout(setup_timeout + 30):
            await all_arrived.wait()
    except TimeoutError:  # cannot happen while each setup is bounded; start anyway rather than hang
        pass
    for meter in meters:
        meter.start()
    started = time.perf_counter()
    go.set()
    outcomes = await asyncio.gather(*tasks)
    ended = max((o["finished"] for o in outcomes if o["finished"]), default=started)
    for meter in meters:
        meter.stop()
    errors = sorted({o["error"] for o in outcomes if "error" in o})
    return {
        "latencies": latencies,
        "setup_failed": sum(o["setup_failed"] for o in outcomes),
        "sent": sum(o["sent"] for o in outcomes),
        "delivered": sum(o["delivered"] for o in outcomes),
        # Throughput over the exchange itself: from the start signal to the last message delivered
        # (closing a thousand sockets afterwards is not message traffic).
        "elapsed": ended - started,
        "errors": errors[:5],
    }


class ClientCpu:
    """The load generator's own CPU (this process: its event loop and the CPU sampler)."""

    def start(self) -> None:
        self.before = process_cpu_seconds("self", children=False)

    def stop(self) -> None:
        self.seconds = process_cpu_seconds("self", children=False) - self.before


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def result_row(stack: str, pairs: int, messages: int, result: dict, cpu: dict, persisted: int | None) -> dict:
    """One table line, as the JSON carries it (times in ms, None where nothing was delivered)."""
    latencies, delivered, elapsed = result["latencies"], result["delivered"], result["elapsed"]

    def ms(value: float | None, digits: int = 1) -> float | None:
        return None if value is None else round(value * 1000, digits)

    def per_message(seconds: float | None) -> float | None:
        return None if seconds is None or not delivered else round(seconds * 1000 / delivered, 3)

    return {
        "stack": stack,
        "pairs": pairs,
        "messages_per_pair": messages,
        "setup_failed": result["setup_failed"],
        "sent": result["sent"],
        "delivered": delivered,
        "lost": result["sent"] - delivered,
        "persisted": persisted,
        "msgs_per_s": round(delivered / elapsed, 1) if delivered and elapsed > 0 else None,
        "p50_ms": ms(statistics.median(latencies)) if latencies else None,
        "p99_ms": ms(percentile(latencies, 0.99)) if latencies else None,
        "max_ms": ms(max(latencies)) if latencies else None,
        "server_cpu_ms_per_msg": per_message(cpu.get("server")),
        "db_cpu_ms_per_msg": per_message(cpu.get("db")),
        "db_exited_cpu_ms_per_msg": per_message(cpu.get("db_exited")),
        "client_cpu_ms_per_msg": per_message(cpu.get("client")),
        "db_backends": cpu.get("db_backends"),
        "elapsed_s": round(elapsed, 3),
        "errors": result.get("errors", []),
    }


def failed_row(stack: str, pairs: int, messages: int, error: str) -> dict:
    """A stack whose server did not start: every pair failed to set up."""
    result = {"latencies": [], "setup_failed": pairs, "sent": 0, "delivered": 0, "elapsed": 0.0, "errors": [error]}
    return result_row(stack, pairs, messages, result, {}, None)


def run_stack(stack: str, pairs: int, args, env: dict[str, str], db: tuple[str, str], make_stack, count) -> dict:
    """Start the stack's server processes, run the exchange with CPU meters, count what was stored."""
    servers: list[subprocess.Popen] = []
    ports = [free_port() for _ in range(args.server_processes)]
    try:
        for port in ports:
            servers.append(start_server(STACK_APPS[stack], port, env, deflate=args.ws_deflate == "on"))
    except RuntimeError as exc:
        for server in servers:
            stop(server)
        return {**failed_row(stack, pairs, args.messages, str(exc)), "server_processes": len(ports)}
    server_cpu = ProcessesCpu([server.pid for server in servers])
    db_cpu, client_cpu = DatabaseCpu(*db), ClientCpu()
    open_pair, message = make_stack(ports)
    try:
        result = asyncio.run(
            exchange(
                pairs=pairs,
                messages=args.messages,
                open_pair=open_pair,
                message=message,
                meters=[server_cpu, db_cpu, client_cpu],
                setup_timeout=args.setup_timeout,
                message_timeout=args.timeout,
            )
        )
    finally:
        for server in servers:
            stop(server)
    cpu = {
        "server": server_cpu.seconds,
        "db": db_cpu.seconds,
        "db_backends": db_cpu.backends,
        "db_exited": db_cpu.exited_seconds,
        "client": client_cpu.seconds,
    }
    row = {**result_row(stack, pairs, args.messages, result, cpu, count()), "server_processes": len(ports)}
    if stack == "relay":
        row["relay_layer"] = args.relay_layer
    return row


STACK_APPS = {
    "product": "omnichannel.asgi:application",
    "relay": "benchmarks.relay_asgi:application",
    "floor": "benchmarks.floor_asgi:application",
}
COLUMNS = [
    ("stack", "stack"),
    ("pairs", "pairs"),
    ("setup failed", "setup_failed"),
    ("sent", "sent"),
    ("delivered", "delivered"),
    ("lost", "lost"),
    ("persisted", "persisted"),
    ("msgs/s", "msgs_per_s"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
    ("max ms", "max_ms"),
    ("server CPU ms/msg", "server_cpu_ms_per_msg"),
    ("PostgreSQL CPU ms/msg", "db_cpu_ms_per_msg"),
    ("+ exited backends", "db_exited_cpu_ms_per_msg"),
    ("client CPU ms/msg", "client_cpu_ms_per_msg"),
]
RATIOS = [("msgs/s", "msgs_per_s"), ("p99 ms", "p99_ms"), ("server CPU ms/msg", "server_cpu_ms_per_msg")]


def cell(value) -> str:
    return "—" if value is None else str(value)


def ratio_rows(rows: list[dict]) -> list[list[str]]:
    """product : relay : floor, each as a multiple of the floor, per number of pairs."""
    table = []
    for pairs in sorted({r["pairs"] for r in rows}):
        by_stack = {r["stack"]: r for r in rows if r["pairs"] == pairs}
        floor = by_stack.get("floor", {})
        line = [str(pairs)]
        for _, key in RATIOS:
            base = floor.get(key)
            parts = []
            for stack in ("product", "relay", "floor"):
                value = by_stack.get(stack, {}).get(key)
                parts.append("—" if value is None or not base else f"{value / base:.2f}")
            line.append(" : ".join(parts))
        table.append(line)
    return table


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def widget_script_sizes() -> tuple[str, list[str], list[list[str]], str, list[dict]]:
    """The widget scripts' sizes, raw and gzipped (WID-5, PERF-4)."""
    sizes = []
    for path in sorted((ROOT / "widgets" / "static" / "widgets").glob("*.js")):
        raw = path.read_bytes()
        sizes.append({"file": path.name, "bytes": len(raw), "gzipped_bytes": len(gzip.compress(raw, compresslevel=9))})
    lines = [[s["file"], str(s["bytes"]), str(s["gzipped_bytes"])] for s in sizes]
    return "Widget script size", ["file", "bytes", "gzipped bytes"], lines, "widget_scripts", sizes


# The report's sections after the chat tables, in order. Each is a function of no arguments that
# returns (title, column headers, table lines as strings, its key in the --json document, the
# value under that key). A measurement of its own (the loader's size, say) lives in its own module
# and is appended here.
REPORT_SECTIONS = [widget_script_sizes]


def count_product_messages() -> int:
    from django.db import connections

    from conversations.models import Message

    try:
        return Message.objects.filter(sender="customer", client_id__startswith="b").count()
    finally:
        connections.close_all()


def floor_table(db_url: str) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_message (id bigserial PRIMARY KEY, room integer NOT NULL,"
            " body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )


def count_floor_messages(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM bench_floor_message").fetchone()[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--stacks", nargs="+", choices=list(STACK_APPS), default=list(STACK_APPS))
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds before a message counts as lost")
    parser.add_argument("--setup-timeout", type=float, default=60.0, help="seconds a pair may take to connect")
    parser.add_argument(
        "--product-env",
        metavar="NAME=VALUE",
        nargs="*",
        default=[],
        help="a setting for the product's server only, e.g. CONN_MAX_AGE=60 (the default runs its defaults)",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        metavar="N",
        help="ASGI server processes per stack; each pair's two sockets are on different ones (N > 1)",
    )
    parser.add_argument(
        "--ws-deflate",
        choices=["on", "off"],
        default="off",
        help="the servers' permessage-deflate (the client always offers it); off is the production advice",
    )
    parser.add_argument(
        "--relay-layer",
        choices=["product", "channels-pubsub", "core"],
        default="product",
        help="the relay's channel layer: the product's pub/sub one (the baseline), or channels_redis's"
        " pub/sub or core layer as they ship, to compare them",
    )
    add_json_argument(parser)
    args = parser.parse_args(argv)
    if args.server_processes < 1:
        parser.error("--server-processes is at least 1")
    db_url, db, env = server_env(
        # Redis pub/sub ignores the database number: a prefix of this run's own.
        CHANNEL_PREFIX=f"bench-{os.getpid()}",
        WIDGET_THROTTLE_RATE="1000000/min",
        # The socket limits guard against abuse; the benchmark measures the path, not them.
        SOCKET_FRAMES_PER_SECOND="100000",
        SOCKET_FRAME_BURST="100000",
        CUSTOMER_MESSAGES_PER_MINUTE="1000000",
    )
    product_env = {**env, **dict(item.split("=", 1) for item in args.product_env)}
    setup_django(env)
    from django.db import connections

    load_before = load_average()
    print(f"load average before: {load_before}; {os.cpu_count()} cores", file=sys.stderr, flush=True)
    rows: list[dict] = []
    for pairs in args.pairs:
        recreate_database(db_url)
        connections.close_all()
        floor_table(db_url)
        stacks = {
            "relay": (
                {**env, "RELAY_LAYER": args.relay_layer},
                lambda ports: relay_stack(ports, args.relay_layer),
                lambda: None,
            ),
            "floor": (env, floor_stack, lambda: count_floor_messages(db_url)),
        }
        if "product" in args.stacks:
            data = seed(pairs)
            connections.close_all()
            stacks["product"] = (product_env, lambda ports, d=data: product_stack(ports, d), count_product_messages)
        for stack in args.stacks:
            stack_env, make_stack, count = stacks[stack]
            rows.append(run_stack(stack, pairs, args, stack_env, db, make_stack, count))
            print(f"… {pairs} pairs, {stack}: {rows[-1]}", file=sys.stderr, flush=True)
    load_after = load_average()
    print(
        f"\nCustomer → agent messages: {args.server_processes} ASGI process(es) per stack, permessage-deflate "
        f"{args.ws_deflate}; load average {load_before} → {load_after}\n"
    )
    print_table([header for header, _ in COLUMNS], [[cell(r[key]) for _, key in COLUMNS] for r in rows])
    print("\nproduct : relay : floor, as multiples of the floor\n")
    print_table(["pairs", *(header for header, _ in RATIOS)], ratio_rows(rows))
    sections = {}
    for section in REPORT_SECTIONS:
        title, headers, lines, key, value = section()
        print(f"\n{title}\n")
        print_table(headers, lines)
        sections[key] = value
    write_json(args.json, load_before=load_before, load_after=load_after, rows=rows, **sections)


if __name__ == "__main__":
    main()
