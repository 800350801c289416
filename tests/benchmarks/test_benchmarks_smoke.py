"""The benchmarks still run and still tell the truth: each one at a tiny size, its --json checked.

Not a measurement (the figures at these sizes mean nothing): a guard so the harness cannot rot
silently between the runs that are quoted. Each benchmark runs as its own process, as it is run by
hand, on its own PostgreSQL database (dropped and re-created) next to the test database.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="the benchmarks need PostgreSQL (DATABASE_URL)"),
]

CHAT_KEYS = {
    "stack",
    "pairs",
    "delivered",
    "lost",
    "msgs_per_s",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "server_cpu_ms_per_msg",
    "db_cpu_ms_per_msg",
    "client_cpu_ms_per_msg",
}
ROUTING_KEYS = {"agents", "items", "offers_per_s", "ms_per_offer", "queries_per_offer", "accept_queries"}


def bench_database(kind: str) -> str:
    """A database of the benchmark's own, named after the test run's and the test process's (so
    parallel runs, and the two chat tests on two pytest-xdist processes, stay apart)."""
    parts = urlsplit(DATABASE_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{parts.path.lstrip('/')}_{kind}_smoke_bench2" + (f"_{worker}" if worker else "")
    return parts._replace(path=f"/{name}").geturl()


def run_benchmark(module: str, args: list[str], env: dict[str, str], tmp_path: Path, timeout: int = 120) -> dict:
    out = tmp_path / f"{module}.json"
    completed = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args, "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    document = json.loads(out.read_text())
    assert set(document) >= {"load_average", "rows"}
    assert [len(load) for load in document["load_average"]] == [3, 3]
    return document


@pytest.mark.skipif(not REDIS_URL, reason="the chat benchmark needs Redis (REDIS_URL)")
def test_chat_latency_delivers_every_message_on_all_three_stacks(tmp_path):
    # spec: PERF-1 — the benchmark command keeps measuring what its table says
    pairs, messages = 3, 3
    document = run_benchmark(
        "chat_latency",
        ["--pairs", str(pairs), "--messages", str(messages), "--timeout", "20", "--setup-timeout", "20"],
        {"BENCH_DATABASE_URL": bench_database("chat"), "BENCH_REDIS_URL": REDIS_URL},
        tmp_path,
    )
    rows = document["rows"]
    assert [row["stack"] for row in rows] == ["product", "relay", "floor"]
    for row in rows:
        assert CHAT_KEYS <= set(row), CHAT_KEYS - set(row)
        assert row["pairs"] == pairs
        assert row["setup_failed"] == 0, row["errors"]
        assert row["sent"] == row["delivered"] == pairs * messages, row
        assert row["lost"] == 0
        assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["msgs_per_s"] > 0
        for key in ("server_cpu_ms_per_msg", "db_cpu_ms_per_msg", "client_cpu_ms_per_msg"):
            assert isinstance(row[key], float) and row[key] >= 0, (key, row[key])
    by_stack = {row["stack"]: row for row in rows}
    # Stored before delivered: the product and the floor persist every message; the relay stores nothing.
    assert by_stack["product"]["persisted"] == by_stack["floor"]["persisted"] == pairs * messages
    assert by_stack["relay"]["persisted"] is None
    assert by_stack["product"]["server_cpu_ms_per_msg"] > 0


def test_routing_throughput_offers_and_accepts_at_a_tiny_size(tmp_path):
    # spec: PERF-2 — the benchmark command keeps measuring what its table says
    document = run_benchmark(
        "routing_throughput",
        ["--agents", "20", "40", "--items", "200", "--offers", "30"],
        {"BENCH_DATABASE_URL": bench_database("routing")},
        tmp_path,
    )
    rows = document["rows"]
    assert [(row["agents"], row["items"]) for row in rows] == [(20, 200), (40, 200)]
    for row in rows:
        assert ROUTING_KEYS <= set(row), ROUTING_KEYS - set(row)
        assert row["offers"] > 0 and row["offers_per_s"] > 0
        assert row["queries_per_offer"] > 0 and row["ms_per_offer"] > 0
        assert row["accept_queries"] > 0


def test_chat_latency_counts_pairs_that_cannot_set_up_and_does_not_hang(tmp_path):
    # spec: PERF-1 — the benchmark command keeps measuring what its table says
    """With no Redis behind the relay and the floor, every pair fails to join: counted, within the timeouts."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead_redis = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    document = run_benchmark(
        "chat_latency",
        ["--pairs", "2", "--messages", "2", "--stacks", "relay", "floor", "--timeout", "5", "--setup-timeout", "5"],
        {"BENCH_DATABASE_URL": bench_database("chat"), "BENCH_REDIS_URL": dead_redis},
        tmp_path,
    )
    for row in document["rows"]:
        assert row["setup_failed"] == 2 and row["sent"] == row["delivered"] == 0, row
        assert row["msgs_per_s"] is None and row["p99_ms"] is None and row["errors"]


@pytest.mark.skipif(not REDIS_URL, reason="the chat benchmark needs Redis (REDIS_URL)")
def test_chat_latency_on_two_server_processes_crosses_them_and_loses_nothing(tmp_path):
    # spec: PERF-1 — several server processes: each pair's sockets are on different ones
    document = run_benchmark(
        "chat_latency",
        ["--pairs", "3", "--messages", "2", "--server-processes", "2", "--stacks", "product", "relay"],
        {"BENCH_DATABASE_URL": bench_database("chat"), "BENCH_REDIS_URL": REDIS_URL},
        tmp_path,
    )
    for row in document["rows"]:
        assert row["server_processes"] == 2
        assert row["setup_failed"] == 0 and row["lost"] == 0 and row["delivered"] == 6, row


IDLE_KEYS = {
    "connected_widget_sockets",
    "connected_agent_sockets",
    "setup_failed",
    "kb_per_socket",
    "idle_server_cpu_pct",
    "idle_db_cpu_pct",
    "message_p50_ms",
    "message_max_ms",
    "delivered",
}


@pytest.mark.skipif(not REDIS_URL, reason="the idle-sockets benchmark needs Redis (REDIS_URL)")
def test_idle_sockets_connects_every_socket_and_measures_them(tmp_path):
    # spec: PERF-1 — idle scale: memory per socket, idle CPU, one message while all are connected
    document = run_benchmark(
        "idle_sockets",
        ["--widget-sockets", "6", "--agent-sockets", "2", "--idle-seconds", "1", "--messages", "2"],
        {"BENCH_DATABASE_URL": bench_database("idle"), "BENCH_REDIS_URL": REDIS_URL},
        tmp_path,
    )
    (row,) = document["rows"]
    assert IDLE_KEYS <= set(row), IDLE_KEYS - set(row)
    assert (row["connected_widget_sockets"], row["connected_agent_sockets"], row["setup_failed"]) == (6, 2, 0), row
    assert row["delivered"] == 2 and row["message_p50_ms"] <= row["message_max_ms"]
    assert row["idle_server_cpu_pct"] >= 0 and row["server_alive"]


SEARCH_KEYS = {"conversations", "messages", "query", "surface", "found", "p50_ms", "p95_ms", "queries"}


def test_search_measures_both_queries_on_the_page_and_the_api_at_a_tiny_size(tmp_path):
    # Issue 15 — the search benchmark keeps measuring what its table says
    document = run_benchmark(
        "search",
        ["--conversations", "200", "--messages", "2000", "--requests", "2"],
        {"BENCH_DATABASE_URL": bench_database("search")},
        tmp_path,
        timeout=600,  # migrating a fresh database takes most of it on a loaded machine
    )
    rows = document["rows"]
    assert [(row["query"], row["surface"]) for row in rows] == [
        ("one word", "API"),
        ("one word", "search page"),
        ("filtered", "API"),
        ("filtered", "search page"),
    ]
    for row in rows:
        assert SEARCH_KEYS <= set(row), SEARCH_KEYS - set(row)
        assert (row["conversations"], row["messages"]) == (200, 2000)
        assert 0 < row["p50_ms"] <= row["p95_ms"] and row["queries"] > 0
    assert rows[0]["found"] > 0 and rows[0]["found"] >= rows[2]["found"]
