"""Fixtures of the routing tests."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from routing.tasks import time_out_offer, time_out_offers
from tests.conftest import restore_seed_data
from tests.routing.races import THREADS


@pytest.fixture
def racers(published, monkeypatch):
    """Run callables on THREADS threads released at the same instant; the threads (and their
    database connections) are reused by every trial of the test. Offer timeouts are applied by
    the test itself: their Celery tasks are not sent (thousands would pile up on the broker)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    monkeypatch.setattr(time_out_offer, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(time_out_offers, "apply_async", lambda *args, **kwargs: None)
    restore_seed_data()
    pool = ThreadPoolExecutor(max_workers=THREADS)

    def run(jobs):
        barrier = threading.Barrier(len(jobs))

        def released(job):
            barrier.wait()
            return job()

        return [future.result() for future in [pool.submit(released, job) for job in jobs]]

    yield run
    run([lambda: connection.close()] * THREADS)  # one per thread: each closes its own connection
    pool.shutdown()
