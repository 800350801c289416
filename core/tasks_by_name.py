"""Sending a Celery task by its stable name (style.md: tasks have explicit, stable names).

A service schedules the task of its own deadline or follow-up, and that task calls the service
back: importing the task module from the service would close a circle of imports. So a service
sends the task by name, and the task module imports the service. Every app imports its task
modules in ``AppConfig.ready()``, so each name is registered in every process that sends it.
"""

from __future__ import annotations

from datetime import datetime

from celery import current_app
from django.db import transaction


def task_send(name: str, *args, eta: datetime | None = None, countdown: float | None = None) -> None:
    """Send the registered task ``name`` with ``args`` (ids: JSON) now, at ``eta`` or after ``countdown``."""
    task = current_app.tasks[name]  # a KeyError names a task no app registered: a bug, not bad input
    options = {key: value for key, value in (("eta", eta), ("countdown", countdown)) if value is not None}
    if options:
        task.apply_async(args, **options)
    else:
        task.delay(*args)


def task_send_on_commit(name: str, *args, eta: datetime | None = None, countdown: float | None = None) -> None:
    """:func:`task_send` once the current transaction commits (never for a rolled-back change)."""
    transaction.on_commit(lambda: task_send(name, *args, eta=eta, countdown=countdown))
