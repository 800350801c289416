"""Helpers of the routing race tests (test_races.py, test_pick_races.py, test_lock_order_races.py):
the thread count, the threads, one attempt's outcome as a code, work items to race for."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from routing.errors import RoutingError
from routing.models import WorkItem
from routing.tasks import time_out_offer, time_out_offers
from tests.conftest import restore_seed_data
from tests.customers.factories import CaseFactory
from tests.routing.factories import WorkItemFactory

THREADS = 6


def race_pool(monkeypatch, threads: int) -> ThreadPoolExecutor:
    """``threads`` threads for a race on PostgreSQL (skips elsewhere: row locks need it), each
    with its own database connection, on the seed data. Offer timeouts are minutes away and
    applied by the tests themselves: their Celery tasks are not sent (thousands would pile up
    on the broker). The caller closes each thread's connection and shuts the pool down."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    monkeypatch.setattr(time_out_offer, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(time_out_offers, "apply_async", lambda *args, **kwargs: None)
    restore_seed_data()
    return ThreadPoolExecutor(max_workers=threads)


def attempt(fn, **kwargs) -> str:
    """Call a service; "ok" or the RoutingError's code."""
    try:
        fn(**kwargs)
    except RoutingError as error:
        return error.code
    return "ok"


def case_items(workstream, count: int) -> list[WorkItem]:
    queue = workstream.default_queue
    return [WorkItemFactory(workstream=workstream, queue=queue, case=CaseFactory()) for _ in range(count)]
