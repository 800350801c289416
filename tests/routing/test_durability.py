"""Deadlines survive a killed worker and a restarted Redis (REL-2; design.md, "Time").

Real processes on PostgreSQL: a private redis-server on a free port (never the shared one), Celery
worker processes on it reading the test database, and a beat process for the sweep. Each deadline
is an offer about to time out (NOT-7) or an invitation about to expire (PRO-4), scheduled by the
services themselves; the test then loses the tasks that carry them and checks that every
deadline is applied exactly once: the state moved once, one notification closed, one banner, and
later calls (the task again, the sweep again) change nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import pytest
from django.utils import timezone

from tests.live import stop_process, wait_until
from tests.routing.durability import (
    DEADLINE_TASKS,
    DUE_IN,
    all_due,
    assert_applied_exactly_once,
    celery_broker,
    make_deadlines,
    nothing_applied,
    pending_deadlines,
    start_beat,
    start_worker,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_deadlines_held_by_a_killed_worker_are_applied_exactly_once_by_the_next_one(private_redis):
    # spec: REL-2 — kill -9 the worker holding the deadline tasks; a new worker and the sweep
    # apply each deadline exactly once
    with celery_broker(private_redis.url):
        worker = start_worker(private_redis)
        try:
            offers, invitations = make_deadlines()
            first_due = min(o.expires_at for o in offers + invitations)
            due_at = max(o.expires_at for o in offers + invitations)
            # The worker took every task (it holds ETA tasks in memory until they are due).
            wait_until(
                lambda: pending_deadlines(private_redis) == (0, DEADLINE_TASKS),
                timeout=DUE_IN - 2,
                what="the worker to take the deadline tasks",
            )
        finally:
            worker.kill()  # SIGKILL: no goodbye, no acknowledgement
            worker.wait(10)
        assert timezone.now() < first_due and nothing_applied(offers, invitations)
        # Past the deadlines with no worker: nothing applies them.
        time.sleep(max((due_at - timezone.now()).total_seconds(), 0) + 0.5)
        assert nothing_applied(offers, invitations)

        worker = start_worker(private_redis)
        try:
            from omnichannel.tasks import sweep_overdue_deadlines as sweep_task

            sweep_task.delay()  # what beat sends every few seconds
            wait_until(lambda: all_due(offers, invitations), timeout=20, what="the sweep")
            time.sleep(1)  # room for any duplicate to show up before we look
        finally:
            stop_process(worker)
    assert_applied_exactly_once(offers, invitations)


def test_deadlines_whose_tasks_a_redis_restart_lost_are_applied_exactly_once_by_the_sweep(private_redis):
    # spec: REL-2 — the broker restarts empty while deadlines are pending; the same worker and
    # beat's sweep apply each exactly once (the deadlines falling due during the outage itself:
    # tests/omnichannel/test_broker_restart.py)
    schedule_dir = tempfile.mkdtemp(prefix="beat-")
    worker = beat = None
    with celery_broker(private_redis.url):
        try:
            worker = start_worker(private_redis)
            offers, invitations = make_deadlines()
            wait_until(
                lambda: pending_deadlines(private_redis) == (0, DEADLINE_TASKS),
                timeout=DUE_IN - 2,
                what="the worker to take the deadline tasks",
            )
            private_redis.stop()  # every queued and unacknowledged message is gone with it
            private_redis.start()
            assert pending_deadlines(private_redis) == (0, 0)
            assert nothing_applied(offers, invitations)
            beat = start_beat(private_redis, schedule_dir)

            def applied() -> bool:
                # No supervisor: the worker that held the lost tasks reconnects by itself.
                assert worker.poll() is None, "the worker exited after the Redis restart"
                return all_due(offers, invitations)

            wait_until(applied, timeout=40, what="the sweep")
            time.sleep(1.5)  # another sweep or two run: they must change nothing
            assert worker.poll() is None, "the worker exited after the Redis restart"
        finally:
            for process in (beat, worker):
                if process is not None and process.poll() is None:
                    stop_process(process)
            shutil.rmtree(schedule_dir, ignore_errors=True)
    assert_applied_exactly_once(offers, invitations)
