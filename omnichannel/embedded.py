"""Celery inside the server process, for embedded mode (design.md, "Two ways to run").

Embedded mode has no Redis: the broker is kombu's ``memory://`` transport, whose queues live in
this process. So the worker must live here too — as a *thread*, because ``app.Worker`` installs
signal handlers, which only the main thread may do (the main thread serves HTTP). No separate
beat process exists either, so a small scheduler thread sends the app's ``beat_schedule``
entries (the deadline sweep, REL-2) on their interval.

Limits, by design of the memory transport: a task sent from another process never runs here,
and tasks still waiting for their countdown are lost when the process stops. Both are why every
deadline also lives in the database and the sweep catches it after a restart (design.md, "Time").

Production (``REDIS_URL`` set) runs ``celery -A omnichannel worker`` and one
``celery -A omnichannel beat`` instead; nothing here is used.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from celery import Celery, _state
from celery.schedules import maybe_schedule
from celery.worker import WorkController

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 30.0


class _EmbeddedWorkController(WorkController):
    """A WorkController that says when its consumer is ready to take tasks."""

    def __init__(self, *args, **kwargs):
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer) -> None:
        super().on_consumer_ready(consumer)
        self.ready.set()


class _Scheduler:
    """Beat for one process: sends each ``beat_schedule`` entry when it is due.

    Like ``celery beat`` without a schedule file, an entry first runs one interval after the
    start. A task the app does not know is skipped with one warning (the worker in this
    process would only reject it on every tick).
    """

    def __init__(self, app: Celery, *, stopping: threading.Event):
        self.app = app
        self.stopping = stopping
        self.warned: set[str] = set()
        now = app.now()
        self.entries: dict[str, dict] = {}
        for name, entry in (app.conf.beat_schedule or {}).items():
            self.entries[name] = {
                "task": entry["task"],
                "schedule": maybe_schedule(entry["schedule"], app=app),
                "args": tuple(entry.get("args", ())),
                "kwargs": dict(entry.get("kwargs", {})),
                "options": dict(entry.get("options", {})),
                "last_run_at": now,
            }

    def tick(self) -> float:
        """Send every due entry; return the seconds until the next one may be due."""
        next_check = 5.0
        for name, entry in self.entries.items():
            due, next_in = entry["schedule"].is_due(entry["last_run_at"])
            if due:
                entry["last_run_at"] = self.app.now()
                self._send(name, entry)
            next_check = min(next_check, next_in)
        return max(next_check, 0.05)

    def _send(self, name: str, entry: dict) -> None:
        task = entry["task"]
        if task not in self.app.tasks:
            if task not in self.warned:
                self.warned.add(task)
                logger.warning("Periodic entry %r names task %r, which is not registered: skipped.", name, task)
            return
        try:
            self.app.send_task(task, args=entry["args"], kwargs=entry["kwargs"], **entry["options"])
        except Exception:  # a failed tick must not kill the scheduler; the next one retries
            logger.exception("Could not send periodic task %r.", name)

    def run(self) -> None:
        while not self.stopping.is_set():
            wait = self.tick()
            self.stopping.wait(wait)


class EmbeddedWorker:
    """The handle :func:`start_embedded_worker` returns: the worker, its threads and ``stop()``."""

    def __init__(
        self,
        *,
        app: Celery,
        worker: _EmbeddedWorkController,
        worker_thread: threading.Thread,
        previous_default: Celery | None = None,
    ):
        self.app = app
        self.previous_default = previous_default
        self.worker = worker
        self.worker_thread = worker_thread
        self.stopping = threading.Event()
        self.scheduler = _Scheduler(app, stopping=self.stopping)
        self.scheduler_thread = threading.Thread(target=self.scheduler.run, name="embedded-celery-beat", daemon=True)
        self.started_at = datetime.now()

    @property
    def hostname(self) -> str:
        return self.worker.hostname

    def is_alive(self) -> bool:
        return self.worker_thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the scheduler, then the worker (after the task it is running). Safe to call twice."""
        self.stopping.set()
        if self.scheduler_thread.is_alive():
            self.scheduler_thread.join(timeout)
        if self.worker_thread.is_alive():
            self.worker.stop(in_sighandler=False)
            self.worker_thread.join(timeout)
        if self.worker_thread.is_alive():
            logger.warning("The embedded Celery worker did not stop within %.0f s.", timeout)
        elif self.previous_default is not None and _state.default_app is self.app:
            _state.set_default_app(self.previous_default)


def start_embedded_worker(app: Celery | None = None, *, beat: bool = True) -> EmbeddedWorker:
    """Start a Celery worker thread (solo pool, one task at a time) and a beat thread; return the handle.

    Callable from any thread. It consumes the app's default queue
    (``settings.CELERY_TASK_DEFAULT_QUEUE`` for the project's app) and returns once the worker
    takes tasks. With ``beat=False`` no periodic tasks are sent.
    """
    if app is None:
        from omnichannel.celery import app as project_app  # the default; tests pass an app of their own

        app = project_app
    app.finalize()
    queue = app.conf.task_default_queue
    worker = _EmbeddedWorkController(
        app=app,
        hostname=f"embedded-{os.getpid()}-{threading.get_ident()}@{socket.gethostname()}",
        pool="solo",
        concurrency=1,
        queues=[queue],
        loglevel=logging.getLevelName(logging.getLogger("celery").getEffectiveLevel()),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        # Not app.Worker: no signal handlers, no takeover of the process's logging.
        ready_callback=None,
    )

    # The worker's timer thread runs countdown tasks with Celery's *default* app, so this app
    # must be it while the worker runs (with Django it already is: the fixup makes the project's
    # app the default). stop() gives a previous default back.
    previous_default = _state.default_app
    app.set_default()

    def run() -> None:
        app.set_current()
        worker.start()

    worker_thread = threading.Thread(target=run, name="embedded-celery-worker", daemon=True)
    handle = EmbeddedWorker(app=app, worker=worker, worker_thread=worker_thread, previous_default=previous_default)
    worker_thread.start()
    if not worker.ready.wait(READY_TIMEOUT_SECONDS):
        handle.stop()
        raise RuntimeError(f"The embedded Celery worker was not ready within {READY_TIMEOUT_SECONDS:.0f} s.")
    if beat:
        handle.scheduler_thread.start()
    logger.info("Embedded Celery worker %s consumes queue %r.", handle.hostname, queue)
    return handle
