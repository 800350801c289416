"""``manage.py serve``: the one command that runs the whole product on one machine.

It migrates the database, loads the demo contact center into an empty database, starts the
embedded Celery worker and beat threads when there is no Redis (``settings.EMBEDDED``), and
serves the ASGI application (HTTP and WebSockets) with uvicorn in this process. Ctrl-C (or
SIGTERM) stops the server gracefully, then the worker.

With ``REDIS_URL`` set it only serves: run ``celery -A omnichannel worker`` and one
``celery -A omnichannel beat`` beside it (README, "Production").
"""

from __future__ import annotations

import logging
import signal

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from omnichannel.management.commands.demo_data import ADMIN_PATH, demo_logins_exist, logins_table, workspace_path

API_DOCS_PATH = "/api/v1/docs/"


class _Server(uvicorn.Server):
    """uvicorn's server, which says where to go once it listens."""

    def __init__(self, config: uvicorn.Config, *, on_started):
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and getattr(self, "servers", None):
            port = self.servers[0].sockets[0].getsockname()[1]  # the real one, also for --port 0
            self.on_started(port)


def _stop_on_sigterm(signum, frame) -> None:
    # uvicorn handles SIGTERM while it serves and re-raises it after a graceful shutdown;
    # this handler turns that into a normal exit so the embedded worker is stopped too.
    raise SystemExit(0)


class Command(BaseCommand):
    help = (
        "Migrate, load demo data into an empty database, start the embedded Celery worker (without "
        "REDIS_URL) and serve HTTP and WebSockets with uvicorn."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000; 0 picks one).")
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data into an empty database.")
        parser.add_argument(
            "--log-level",
            default="info",
            choices=["critical", "error", "warning", "info", "debug"],
            help="uvicorn's log level (default info).",
        )

    def handle(self, *args, host: str, port: int, no_demo: bool, log_level: str, **options):
        mode = "embedded" if settings.EMBEDDED else "production"
        self.stdout.write(f"Mode: {mode}. Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}.")
        self.stdout.write("Applying database migrations…")
        call_command("migrate", interactive=False, verbosity=0)

        if not no_demo:
            if settings.EMBEDDED or settings.DEBUG:
                call_command("demo_data", if_empty=True, verbosity=0, stdout=self.stdout)
            else:
                # Known demo passwords never land in a production database by accident.
                self.stdout.write("Production mode: demo data is not loaded automatically (manage.py demo_data does).")

        worker = None
        if settings.EMBEDDED:
            from omnichannel.embedded import start_embedded_worker  # only the embedded mode runs one

            # One line per task every few seconds (the deadline sweep) would drown the server's log.
            if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
                for name in ("celery.app.trace", "celery.worker.strategy"):
                    logging.getLogger(name).setLevel(logging.WARNING)
            worker = start_embedded_worker()
            self.stdout.write(
                f"Embedded Celery worker and beat started (queue {settings.CELERY_TASK_DEFAULT_QUEUE!r})."
            )
        else:
            self.stdout.write(
                "REDIS_URL is set: run `celery -A omnichannel worker` and one `celery -A omnichannel beat` beside this."
            )

        from omnichannel.asgi import application  # after the checks above: it loads the whole project

        config = uvicorn.Config(
            application,
            host=host,
            port=port,
            ws="auto",
            lifespan="off",  # Django and Channels have no lifespan handlers
            log_level=log_level,
        )
        show_logins = demo_logins_exist()  # asked now: the banner is printed from the event loop
        server = _Server(config, on_started=lambda real_port: self.banner(host, real_port, show_logins=show_logins))
        previous_sigterm = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
            if worker is not None:
                worker.stop()
            self.stdout.write("Stopped.")

    def banner(self, host: str, port: int, *, show_logins: bool) -> None:
        shown_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
        if ":" in shown_host and not shown_host.startswith("["):
            shown_host = f"[{shown_host}]"
        base = f"http://{shown_host}:{port}"
        lines = [
            "",
            "The omnichannel platform is running"
            + (" in embedded mode (no services needed)." if settings.EMBEDDED else "."),
            f"  Agent workspace  {base}{workspace_path()}",
            f"  Admin center     {base}{ADMIN_PATH}",
            f"  API docs         {base}{API_DOCS_PATH}",
            f"  Health           {base}/health/",
        ]
        if show_logins:
            lines += ["", "Demo logins (unless changed since):", logins_table(base)]
        lines += ["", "Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
