"""The settings the tests run with: the project's own, with each pytest-xdist worker kept apart.

``bin/test`` runs the suite on several worker processes. pytest-django gives each its own test
database (``…_gw0``, ``…_gw1``); everything else the tests share would be crossed: a Celery
worker started by one test would take another worker's tasks from the same queue, a channel
group would reach the other worker's sockets, and an upload stored under one database's ids
would meet the other's files. So each worker gets its own Redis database (the URL's number plus
the worker's), its own Celery queue and its own var directory, written into the environment so
that the servers and workers the tests start as processes inherit them. The marker variable
makes that happen once: such a process imports these settings again with the same worker name.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("OMNICHANNEL_TEST_WORKER") != _worker:
    _number = int(_worker.removeprefix("gw"))
    _redis = os.environ.get("REDIS_URL", "")
    if _redis:
        _parts = urlsplit(_redis)
        _database = int(_parts.path.strip("/") or 0) + _number
        os.environ["REDIS_URL"] = _parts._replace(path=f"/{_database}").geturl()
    os.environ["CELERY_QUEUE"] = f"{os.environ.get('CELERY_QUEUE', 'test')}-{_worker}"
    _var = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parents[1] / "var")) / f"test-{_worker}"
    os.environ["VAR_DIR"] = str(_var)
    os.environ["OMNICHANNEL_TEST_WORKER"] = _worker

from omnichannel.settings import *  # noqa: E402, F403
