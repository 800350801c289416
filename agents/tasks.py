"""The agents app's Celery tasks (found by Celery's autodiscovery here)."""

from agents.services.presence import mark_agent_unreachable

__all__ = ["mark_agent_unreachable"]
