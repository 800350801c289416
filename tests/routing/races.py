"""Helpers of the routing race tests (test_races.py, test_pick_races.py): the thread count,
one attempt's outcome as a code, work items to race for."""

from routing.errors import RoutingError
from routing.models import WorkItem
from tests.customers.factories import CaseFactory
from tests.routing.factories import WorkItemFactory

THREADS = 6


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
