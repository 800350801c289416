"""Fixtures of the routing tests."""

import threading

import pytest
from django.db import connection

from tests.routing.races import THREADS, race_pool


@pytest.fixture
def racers(published, monkeypatch):
    """Run callables on THREADS threads released at the same instant; the threads (and their
    database connections) are reused by every trial of the test (``races.race_pool``)."""
    pool = race_pool(monkeypatch, THREADS)

    def run(jobs):
        barrier = threading.Barrier(len(jobs))

        def released(job):
            barrier.wait()
            return job()

        return [future.result() for future in [pool.submit(released, job) for job in jobs]]

    yield run
    run([lambda: connection.close()] * THREADS)  # one per thread: each closes its own connection
    pool.shutdown()
