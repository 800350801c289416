"""The one-command run: ``manage.py serve`` in embedded mode, and the embedded Celery threads it starts."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from celery import Celery

from omnichannel.embedded import start_embedded_worker
from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.embedded


# --- the embedded worker and beat threads -----------------------------------------------------
def test_the_embedded_worker_runs_countdown_tasks_and_the_beat_schedule():
    # spec: REL-2 — in embedded mode timers fire in-process and the periodic sweep runs without a beat process
    queue = f"embedded-test-{os.getpid()}"
    app = Celery("embedded-test", broker="memory://localhost/", set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        broker_transport_options={"polling_interval": 0.1},
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "tick": {"task": "embedded-test.tick", "schedule": 0.3},
            "unknown": {"task": "embedded-test.not-registered", "schedule": 0.3},
        },
    )
    ticks, fired = [], []

    @app.task(name="embedded-test.tick")
    def tick():
        ticks.append(time.monotonic())

    @app.task(name="embedded-test.fire")
    def fire(value):
        fired.append((value, time.monotonic(), threading.current_thread().name))

    worker = start_embedded_worker(app)  # from this (non-main) test thread or any other
    try:
        sent = time.monotonic()
        fire.apply_async(("later",), countdown=1)
        fire.delay("now")
        deadline = time.monotonic() + 5
        while (len(fired) < 2 or len(ticks) < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [value for value, _, _ in fired] == ["now", "later"]
        later_at = fired[1][1] - sent
        assert 0.9 <= later_at < 2.5, later_at
        # Tasks run on the worker's threads (a countdown fires on its timer thread), never the caller's.
        assert threading.current_thread().name not in {thread for _, _, thread in fired}
        assert len(ticks) >= 3  # every 0.3 s; the unregistered entry is skipped, not fatal
        assert worker.is_alive() and worker.scheduler_thread.is_alive()
    finally:
        started = time.monotonic()
        worker.stop()
    assert not worker.is_alive() and not worker.scheduler_thread.is_alive()
    assert time.monotonic() - started < 5
    worker.stop()  # twice is harmless


# --- manage.py serve as a subprocess -----------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    output = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    output.close()
    deadline = time.monotonic() + 60
    while "Press Ctrl-C to stop." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"manage.py serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen, sig: int, log: Path) -> str:
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"manage.py serve did not stop on signal {sig}:\n{log.read_text()}")
    output = log.read_text()
    assert process.returncode == 0, output
    assert "Stopped." in output
    return output


def test_serve_migrates_loads_the_demo_serves_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL"}}
    env |= {
        "DJANGO_SETTINGS_MODULE": "omnichannel.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    process = start_serve(env, port, log)
    try:
        cookies = CookieJar()
        http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), NoRedirect)

        with http.open(f"{base}/health/", timeout=10) as response:
            assert response.status == 200
            assert json.load(response)["mode"] == "embedded"

        with http.open(f"{base}/admin/login/", timeout=10) as response:
            assert response.status == 200
            page = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": "admin", "password": "admin-demo", "csrfmiddlewaretoken": token, "next": "/admin/"}
        ).encode()
        with pytest.raises(urllib.error.HTTPError) as redirect:  # a 302 (not followed) means logged in
            http.open(f"{base}/admin/login/?next=/admin/", data=form, timeout=10)
        assert redirect.value.code == 302 and redirect.value.headers["Location"] == "/admin/"
        with http.open(f"{base}/admin/", timeout=10) as response:
            assert response.status == 200
            assert "Log out" in response.read().decode()
    finally:
        output = stop(process, signal.SIGINT, log)  # Ctrl-C
    assert "Embedded Celery worker and beat started" in output
    assert f"{base}/admin/" in output and f"{base}/api/v1/docs/" in output
    assert re.search(r"^admin\s+admin-demo\s+admin", output, re.MULTILINE)

    # A restart keeps the data (no second demo load) and stops on SIGTERM as cleanly.
    process = start_serve(env, port, log)
    try:
        with urllib.request.urlopen(f"{base}/health/", timeout=10) as response:
            assert response.status == 200
    finally:
        output = stop(process, signal.SIGTERM, log)
    assert "Workstreams exist already: demo data not loaded." in output
