"""The webhooks app's Celery tasks (found by Celery's autodiscovery here)."""

from webhooks.services import webhook_drain_task

__all__ = ["webhook_drain_task"]
