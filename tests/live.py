"""Real servers for tests: the project's ASGI app under uvicorn in a thread, and Celery workers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    url: str
    ws_url: str
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own, without persistence: a restart loses every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:  # not listening yet
                time.sleep(0.05)
        raise RuntimeError("The private redis-server did not start.")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)


def start_asgi_server(app=None) -> LiveServer:
    """Serve the ASGI application (HTTP and WebSocket) on a free 127.0.0.1 port."""
    if app is None:
        from omnichannel.asgi import application as app
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # As deployed (README): the product, not the ASGI server, decides which proxies' headers count.
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="asgi-server")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("The ASGI server did not start.")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", "127.0.0.1", port, server, thread)


def start_celery_worker_process(*, env: dict[str, str], queue: str, log_path: str | None = None) -> subprocess.Popen:
    """A real ``celery worker`` process on its own queue, ready when this returns. Its output
    goes to ``log_path`` when given (a fault test reads it), else nowhere."""
    log = open(log_path or os.devnull, "w", buffering=1)  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omnichannel",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "CELERY_QUEUE": queue},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    for line in process.stdout:  # wait for the worker to say it is ready
        log.write(line)
        if " ready." in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise RuntimeError("The Celery worker exited before it was ready.")
    # Keep draining its output so a full pipe never blocks it.
    threading.Thread(target=lambda: [log.write(line) for line in process.stdout], daemon=True).start()
    return process


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def celery_worker_running(settings, overrides: dict[str, str] | None = None):
    """A real Celery worker as the mode runs it, for as long as the ``with`` block lasts.

    Embedded mode (no REDIS_URL): the worker thread inside this process on the memory broker,
    with ``overrides`` applied to ``settings`` as numbers. With REDIS_URL: a ``celery worker``
    process on Redis reading this test database, with ``overrides`` in its environment.
    Yields "embedded" or "process".
    """
    import pytest
    from django.db import connection

    overrides = overrides or {}
    if settings.EMBEDDED:
        from omnichannel.embedded import start_embedded_worker

        for name, value in overrides.items():
            setattr(settings, name, float(value))
        worker = start_embedded_worker(beat=False)
        try:
            yield "embedded"
        finally:
            worker.stop()
        return
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a worker process needs the test database on PostgreSQL")
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    process = start_celery_worker_process(
        env={"DATABASE_URL": url, "REDIS_URL": os.environ.get("REDIS_URL", ""), **overrides},
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
    )
    try:
        yield "process"
    finally:
        stop_process(process)


def wait_until(condition, timeout: float = 20.0, *, what: str = "the condition"):
    """Poll ``condition`` until it returns something truthy, and return that (fails after
    ``timeout`` s, naming ``what`` it waited for)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
