"""Invitation expiry at scale: 10,000 proactive invitations due at once, closed by real Celery
workers on PostgreSQL and Redis — how late against their one-minute deadlines (PRO-4, REL-2).

    python -m benchmarks.invitation_expiry                       # 10,000 invitations, 2 workers
    python -m benchmarks.invitation_expiry --invitations 2000 --workers 1

What it does:
1. a fresh PostgreSQL database is migrated; a bench-only trigger notes, for every invitation the
   moment (``clock_timestamp()``) its row turns ``expired`` — the measure, exact to the row;
2. for each scenario, with the Celery queue purged: N visitors and N open invitations are
   bulk-inserted, all due at the same instant, far enough ahead for what follows; then
   - **expiry tasks + sweep**: every invitation's expiry task is sent with its deadline as ``eta``
     (what ``invitation_schedule_expiry`` does on commit), before the workers start;
   - **sweep only (tasks lost)**: no task is sent: the beat sweep alone closes them;
3. ``--workers`` real ``celery worker`` processes (``-P solo``) start on Redis, the first with the
   beat (the deadline sweep every ``DEADLINE_SWEEP_SECONDS``, 5 s), as production runs them;
4. lateness = the row's close − its ``expires_at``: p50 / p99 / max, and throughput = invitations
   closed per second from the first close to the last. Every closed invitation also publishes its
   ``invitation.closed`` event to the visitor's group on Redis after its batch commits.

Needs PostgreSQL and Redis: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/omnichannel_invitation_bench, dropped and re-created) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; its queue ``bench-invitations`` is purged).
``--json FILE`` writes ``{"load_average": [before, after], "rows": [...]}``, a row per scenario.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.chat_latency import print_table, recreate_database
from benchmarks.measure import add_json_argument, load_average, write_json

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/omnichannel_invitation_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
QUEUE = "bench-invitations"

TRIGGER = """
CREATE TABLE bench_closed (invitation_id bigint PRIMARY KEY, closed_at timestamptz NOT NULL);
CREATE FUNCTION bench_note_close() RETURNS trigger AS $$
BEGIN
  IF NEW.status = 'expired' AND OLD.status <> 'expired' THEN
    INSERT INTO bench_closed VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_note_close AFTER UPDATE ON widgets_invitation
  FOR EACH ROW EXECUTE FUNCTION bench_note_close();
"""


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")
    import django

    django.setup()


def start_worker(env: dict[str, str], *, index: int, beat_dir: str | None) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "omnichannel", "worker", "-P", "solo", "-c", "1", "-Q", QUEUE,
        "-n", f"bench{index}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
    ]  # fmt: skip
    if beat_dir:
        command += ["-B", "-s", str(Path(beat_dir) / "beat-schedule")]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 90
    for line in process.stdout:
        if " ready." in line or time.monotonic() > deadline:
            break
    else:
        raise RuntimeError(f"worker {index} exited before it was ready")
    # Keep reading its output so a full pipe never blocks it.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def seed_base():
    from django.core.management import call_command
    from django.db import connection

    from routing.models import Queue, Workstream
    from widgets.models import ChatWidget

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(TRIGGER)
    queue = Queue.objects.create(name="Bench")
    workstream = Workstream.objects.create(name="Bench chat", channel="chat", chat_mode="live", default_queue=queue)
    return ChatWidget.objects.create(name="Bench widget", workstream=workstream, proactive_enabled=True)


def seed_invitations(widget, count: int, *, spread: float, lead: float) -> tuple[list[int], float]:
    """N visitors with one open invitation each, due from now + lead over ``spread`` seconds."""
    from django.db import connection
    from django.utils import timezone

    from widgets.models import INVITATION_LIFETIME, Invitation, Visitor

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_closed")
    Invitation.objects.all().delete()
    Visitor.objects.all().delete()
    started = time.monotonic()
    visitors = Visitor.objects.bulk_create((Visitor(widget=widget) for _ in range(count)), batch_size=2000)
    first_due = timezone.now() + timedelta(seconds=lead)
    invitations = []
    for index, visitor in enumerate(visitors):
        due = first_due + timedelta(seconds=spread * index / max(1, count - 1))
        shown = due - INVITATION_LIFETIME
        invitations.append(
            Invitation(widget=widget, visitor=visitor, message="Need a hand?", shown_at=shown, expires_at=due)
        )
    created = Invitation.objects.bulk_create(invitations, batch_size=2000)
    return [invitation.pk for invitation in created], time.monotonic() - started


def send_tasks(ids: list[int]) -> float:
    from omnichannel.celery import app
    from widgets.models import Invitation
    from widgets.tasks import expire_invitation

    started = time.monotonic()
    deadlines = dict(Invitation.objects.filter(pk__in=ids).values_list("pk", "expires_at"))
    with app.producer_or_acquire() as producer:  # one connection for all of them
        for pk in ids:
            expire_invitation.apply_async((pk,), eta=deadlines[pk], producer=producer)
    return time.monotonic() - started


def wait_closed(count: int, *, timeout: float) -> bool:
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_closed")
            if cursor.fetchone()[0] >= count:
                return True
        time.sleep(0.5)
    return False


def measure() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM c.closed_at - i.expires_at), extract(epoch FROM c.closed_at) "
            "FROM bench_closed c JOIN widgets_invitation i ON i.id = c.invitation_id"
        )
        rows = cursor.fetchall()
    lateness = sorted(float(row[0]) for row in rows)
    closes = [float(row[1]) for row in rows]
    span = max(closes) - min(closes) if closes else 0.0
    return {
        "closed": len(rows),
        "p50": statistics.median(lateness) if lateness else float("nan"),
        "p99": lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))] if lateness else float("nan"),
        "max": lateness[-1] if lateness else float("nan"),
        "min": lateness[0] if lateness else float("nan"),
        "throughput": len(rows) / span if span > 0 else float("inf"),
    }


def purge_queue() -> None:
    from omnichannel.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(QUEUE)


def calibrate_send(samples: int = 300) -> float:
    """Seconds per task sent from here now (tasks for no invitation: the workers drop them)."""
    from omnichannel.celery import app
    from widgets.tasks import expire_invitation

    started = time.monotonic()
    with app.producer_or_acquire() as producer:
        for _ in range(samples):
            expire_invitation.apply_async((0,), producer=producer)
    return (time.monotonic() - started) / samples


def run_scenario(env, widget, *, count: int, workers: int, with_tasks: bool, beat_dir: str) -> tuple[dict, bool]:
    """Queue purged, invitations inserted, their tasks sent (workers down, so the sending is not
    slowed by them), then the workers start and close them at their deadline."""
    purge_queue()
    per_send = calibrate_send() if with_tasks else 0.0
    purge_queue()
    # Insert + send + a worker start, with room to spare, before the deadline.
    lead = 30 + 1.5 * count * per_send
    ids, insert_seconds = seed_invitations(widget, count, spread=0.0, lead=lead)
    send_seconds = send_tasks(ids) if with_tasks else 0.0
    started = [start_worker(env, index=i, beat_dir=beat_dir if i == 0 else None) for i in range(workers)]
    try:
        from django.utils import timezone

        from widgets.models import Invitation

        due = Invitation.objects.order_by("expires_at").values_list("expires_at", flat=True).first()
        ahead = (due - timezone.now()).total_seconds()
        print(
            f"  inserted {len(ids):,} in {insert_seconds:.1f} s, sent their tasks in {send_seconds:.1f} s, "
            f"workers up {ahead:.1f} s before the deadline",
            flush=True,
        )
        done = wait_closed(len(ids), timeout=max(0.0, ahead) + 240)
        return measure(), done
    finally:
        for worker in started:
            stop(worker)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "CELERY_QUEUE": QUEUE, "LOG_LEVEL": "WARNING"}
    recreate_database(db_url)
    setup_django(env)
    widget = seed_base()
    load_before = load_average()
    print(f"load average before: {load_before}; {os.cpu_count()} cores", flush=True)
    scenarios = [
        ("expiry tasks + sweep", True),
        ("sweep only (tasks lost)", False),
    ]
    rows, json_rows = [], []
    with tempfile.TemporaryDirectory() as beat_dir:
        for name, with_tasks in scenarios:
            print(f"{name}:", flush=True)
            result, done = run_scenario(
                env, widget, count=args.invitations, workers=args.workers, with_tasks=with_tasks, beat_dir=beat_dir
            )
            json_rows.append(
                {
                    "scenario": name,
                    "due": args.invitations,
                    "workers": args.workers,
                    "closed": result["closed"],
                    "timed_out": not done,
                    "p50_late_ms": round(result["p50"] * 1000, 1),
                    "p99_late_ms": round(result["p99"] * 1000, 1),
                    "max_late_ms": round(result["max"] * 1000, 1),
                    "closed_per_s": round(result["throughput"], 1),
                }
            )
            rows.append(
                [
                    name,
                    f"{args.invitations:,} at once",
                    str(args.workers),
                    f"{result['closed']:,}" + ("" if done else " (timed out)"),
                    f"{result['p50'] * 1000:.0f}",
                    f"{result['p99'] * 1000:.0f}",
                    f"{result['max'] * 1000:.0f}",
                    f"{result['throughput']:,.0f}",
                ]
            )
    load_after = load_average()
    print(f"load average after: {load_after}\n")
    print_table(
        ["scenario", "due", "workers", "closed", "p50 late (ms)", "p99 late (ms)", "max late (ms)", "closed/s"],
        rows,
    )
    write_json(args.json, load_before=load_before, load_after=load_after, rows=json_rows)


if __name__ == "__main__":
    main()
