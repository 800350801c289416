"""Row locks that leave foreign-key checks alone (issue 11, the lock order).

PostgreSQL checks a new row's foreign key with ``SELECT … FOR KEY SHARE`` on the row it points
at. A plain ``FOR UPDATE`` blocks that check, so a transaction holding a conversation's lock
that stored a row pointing at a work item waited for whoever held the work item, who in turn
waited for the conversation: the deadlock CI met in ``tests/conversations/test_sms_live.py``
(``while locking tuple … in relation "routing_workitem"``). The product never changes a primary
key, so its row locks are ``FOR NO KEY UPDATE``: two of them still exclude each other, and a
foreign-key check passes.
"""

from __future__ import annotations

import ast
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.locks import lock_row
from routing.models import Offer, WorkItem
from routing.services.work_items import work_item_lock
from tests.project import ROOT, product_python_files
from tests.routing.factories import AgentProfileFactory, WorkItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _while_locked(lock, work_item_id: int, other) -> str:
    """Hold a work item's lock with ``lock`` on one connection and run ``other`` in a
    transaction on another that gives up waiting after 1 s: "done" or the error it raised."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    locked, finished = threading.Event(), threading.Event()
    outcome: list[str] = []

    def holder():
        try:
            with transaction.atomic():
                lock(work_item_id)
                locked.set()
                finished.wait(10)
        finally:
            connection.close()

    def contender():
        locked.wait(10)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '1s'")
                other()
            outcome.append("done")
        except Exception as error:  # the lock timeout: reported as the test's failure
            outcome.append(f"{type(error).__name__}: {error}")
        finally:
            finished.set()
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=contender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return outcome[0]


def _offer_stored(work_item: WorkItem, agent) -> callable:
    return lambda: Offer.objects.create(
        work_item_id=work_item.pk, agent=agent, expires_at=timezone.now() + timedelta(minutes=1)
    )


def _lock_in_order(pk: int) -> None:
    lock_row(WorkItem.objects.all(), pk)


def test_a_row_locked_in_the_lock_order_still_takes_rows_that_point_at_it():
    # spec: ROU-10
    work_item, agent = WorkItemFactory(), AgentProfileFactory()
    assert _while_locked(_lock_in_order, work_item.pk, _offer_stored(work_item, agent)) == "done"


def test_a_work_item_locked_by_routing_still_takes_rows_that_point_at_it():
    # spec: ROU-10
    work_item, agent = WorkItemFactory(), AgentProfileFactory()
    lock = lambda pk: work_item_lock(work_item_id=pk)  # noqa: E731
    assert _while_locked(lock, work_item.pk, _offer_stored(work_item, agent)) == "done"


def test_two_row_locks_still_exclude_each_other():
    # spec: ROU-10
    work_item = WorkItemFactory()
    outcome = _while_locked(_lock_in_order, work_item.pk, lambda: _lock_in_order(work_item.pk))
    assert outcome.startswith("OperationalError: canceling statement due to lock timeout")


def _row_locks_without_no_key() -> list[str]:
    """Every ``select_for_update(...)`` call in the product's code that does not say
    ``no_key=True``, as "path:line"."""
    found = []
    for path in product_python_files(migrations=False):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "select_for_update"
                and not any(
                    kw.arg == "no_key" and isinstance(kw.value, ast.Constant) and kw.value.value is True
                    for kw in node.keywords
                )
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_row_lock_in_the_product_leaves_foreign_key_checks_alone():
    # spec: ROU-10
    assert _row_locks_without_no_key() == []
