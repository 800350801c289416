"""Settings for every environment, read from the environment (django-environ).

Embedded mode (the default) needs nothing installed: SQLite, the in-memory channel layer and
a Celery worker thread inside the server process. Set ``DATABASE_URL`` and ``REDIS_URL`` for
PostgreSQL and Redis. ``omnichannel.settings.production`` adds the deployment hardening.
"""

from .base import *  # noqa: F401,F403
