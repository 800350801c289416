"""Fixtures the routing tests share with other test modules: the PostgreSQL race runner
(test_races.py) and the workspace socket through a real server (test_workspace_consumer.py)."""

from tests.conversations.test_workspace_consumer import workspace  # noqa: F401
from tests.routing.test_races import racers  # noqa: F401
