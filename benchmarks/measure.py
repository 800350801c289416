"""What every benchmark measures the same way: CPU from /proc, the load average, and ``--json``.

CPU time is read as ``utime + stime`` from ``/proc/<pid>/stat`` (plus the reaped children's
``cutime + cstime``) before and after a run: on a machine shared with other work it is far
steadier than wall time. PostgreSQL's share is the CPU of the backends serving the benchmark's
database, found through ``pg_stat_activity``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import threading
import time
from pathlib import Path

from django.db import connection  # a lazy proxy: importing it needs no settings yet

TICK_SECONDS = 1 / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int | str = "self", *, children: bool = True) -> float | None:
    """CPU seconds used so far by a process (all its threads, and its reaped children);
    None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: fields start after the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks * TICK_SECONDS


class ProcessesCpu:
    """CPU seconds a fixed set of processes (the servers under test) use between start() and stop()."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before: dict[int, float] = {}
        self.seconds = 0.0

    def start(self) -> None:
        self.before = {pid: process_cpu_seconds(pid) or 0.0 for pid in self.pids}

    def stop(self) -> float:
        self.seconds = sum((process_cpu_seconds(pid) or self.before[pid]) - self.before[pid] for pid in self.pids)
        return self.seconds


class DatabaseCpu:
    """CPU seconds of the PostgreSQL backends connected to one database between start() and stop().

    A thread samples ``pg_stat_activity`` for the database's backends every ``interval`` seconds and
    reads each one's ``/proc/<pid>/stat``. A backend already open at start() counts from its value
    then; one that opens later counts from zero (its start-up is part of the cost). A backend that
    exits between two samples loses what it used since the last one: with persistent connections
    (``CONN_MAX_AGE`` > 0) that is nothing; with a connection per request it is an undercount, which
    ``backends`` (how many were seen) makes visible. ``exited_seconds`` is the other side: the CPU
    of every backend (of any database: exact only when nothing else uses the server) that exited
    meanwhile, which the postmaster collects as its children's time.
    """

    def __init__(self, admin_url: str, database: str, *, interval: float = 0.2) -> None:
        self.admin_url = admin_url
        self.database = database
        self.interval = interval
        self.baseline: dict[int, float] = {}
        self.latest: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn = None
        self._postmaster: int | None = None
        self._postmaster_before = 0.0
        self.exited_seconds = 0.0

    def _postmaster_children_seconds(self) -> float:
        stat = Path(f"/proc/{self._postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[13]) + int(stat[14])) * TICK_SECONDS  # cutime, cstime: reaped backends

    def _backend_pids(self) -> list[int]:
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
        ).fetchall()
        return [pid for (pid,) in rows]

    def _sample(self) -> None:
        for pid in self._backend_pids():
            seconds = process_cpu_seconds(pid, children=False)
            if seconds is not None:
                self.latest[pid] = seconds
                self.baseline.setdefault(pid, 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        import psycopg

        self._conn = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)
        (own_pid,) = self._conn.execute("SELECT pg_backend_pid()").fetchone()
        try:  # the postmaster is every backend's parent (field 4 of /proc/<pid>/stat)
            self._postmaster = int(Path(f"/proc/{own_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            self._postmaster_before = self._postmaster_children_seconds()
        except (FileNotFoundError, PermissionError):  # PostgreSQL on another machine or in a container
            self._postmaster = None
        for pid in self._backend_pids():
            seconds = process_cpu_seconds(pid, children=False)
            if seconds is not None:
                self.baseline[pid] = self.latest[pid] = seconds
        self._thread = threading.Thread(target=self._run, name="db-cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._sample()
        self._conn.close()
        if self._postmaster is not None:
            self.exited_seconds = self._postmaster_children_seconds() - self._postmaster_before
        return self.seconds

    @property
    def seconds(self) -> float:
        return sum(self.latest[pid] - self.baseline[pid] for pid in self.latest)

    @property
    def backends(self) -> int:
        return len(self.latest)


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def write_json(
    path: str | None, *, load_before: list[float], load_after: list[float], rows: list[dict], **extra
) -> None:
    """``{"load_average": [[1, 5, 15 min before], [1, 5, 15 min after]], "rows": [...]}``, a row per
    table line (``extra`` adds other top-level keys, such as a second table)."""
    if not path:
        return
    document = {"load_average": [load_before, load_after], "cores": os.cpu_count(), "rows": rows, **extra}
    Path(path).write_text(json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")


def _finite(value):
    """NaN and infinity (nothing measured) become null: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def add_json_argument(parser) -> None:
    parser.add_argument(
        "--json", metavar="FILE", help='also write the table as JSON: {"load_average": [...], "rows": [...]}'
    )


def setup_django_embedded(db_url: str, *, test_client: bool = False) -> None:
    """Start Django on ``db_url`` with the embedded layer and broker: measure the database and
    the code, not Redis. ``test_client``: pages are requested through Django's test client."""
    os.environ["DATABASE_URL"] = db_url
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
    import django  # only once the environment above says which database

    django.setup()
    if test_client:
        from django.conf import settings  # read once the setup above configured it

        settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]


class QueryCounter:
    """Counts the queries run on a connection (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def page_timings(client, url: str, headers: dict, *, requests: int) -> dict:
    """GET ``url`` twice to warm up (templates, the connection, the pages in memory), once counting
    its queries, then ``requests`` times timed: ``{"p50", "p95"}`` in ms, ``"queries"`` and the
    counted ``"response"``."""
    for _ in range(2):
        assert client.get(url, **headers).status_code == 200, url
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        counted = client.get(url, **headers)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)],
        "queries": counter.count,
        "response": counted,
    }
