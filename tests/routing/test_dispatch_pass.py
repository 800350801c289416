"""What one dispatch pass costs and makes (issue 12): its queries do not grow with the batch, the
notification template is looked up once per pass, and each offer still gets its notification,
its durable deadline and its timeout task."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from routing.models import Offer
from routing.services import offers_dispatch
from routing.tasks import time_out_offers
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.routing.races import case_items
from tests.routing.test_races import chat_items, reachable

pytestmark = pytest.mark.django_db

UNITS = 10
#: Every statement of one pass over one queue: the batch and its lock, the workstreams, skills
#: and declines of its items, the agents with their reservations and skills, the templates, the
#: chosen agents' locks and re-read, and the bulk writes with the notifications' records.
PASS_QUERIES = 30


def setup(kind: str, *, agents: int, items: int):
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue, capacity_units=UNITS, skill_matching="none")
    if kind == "case":
        workstream.channel, workstream.chat_mode = "records", ""
        workstream.save()
    reachable(*[AgentProfileFactory(queues=[queue], capacity=10 * UNITS) for _ in range(agents)])
    return case_items(workstream, items) if kind == "case" else chat_items(workstream, items)


@pytest.mark.parametrize("kind", ["case", "chat"])
def test_a_pass_costs_the_same_queries_for_five_items_and_for_forty(
    kind, django_assert_max_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    # spec: ROU-9 — set-based: the statements of a pass are fixed, the batch is not their multiple
    sent = []
    monkeypatch.setattr(time_out_offers, "apply_async", lambda args, eta: sent.append((args[0], eta)))
    setup(kind, agents=6, items=45)
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_max_num_queries(PASS_QUERIES):
            assert offers_dispatch(limit=5) == 5
        with CaptureQueriesContext(connection) as small:
            assert offers_dispatch(limit=5) == 5
        with django_assert_max_num_queries(PASS_QUERIES), CaptureQueriesContext(connection) as large:
            assert offers_dispatch(limit=35) == 35
    assert len(large) <= len(small) + 2  # not a per-item cost (a second template read at most)
    template_reads = [q for q in large.captured_queries if '"notifications_notificationtemplate"' in q["sql"]]
    assert len(template_reads) <= 2  # once per pass (the chooser's, the default's), not per offer
    offers = list(Offer.objects.filter(status="pending"))
    assert len(offers) == 45
    assert Notification.objects.filter(offer_id__in=[o.pk for o in offers], status="sent").count() == 45
    # One timeout task per pass and deadline, naming every offer of it; the deadline is the column.
    scheduled = {offer_id: eta for offer_ids, eta in sent for offer_id in offer_ids}
    assert scheduled == {offer.pk: offer.expires_at for offer in offers}
    assert len(sent) == 3


def test_agents_of_many_queues_are_read_once_per_pass(django_assert_max_num_queries):
    # spec: ROU-9 — the agents of all the batch's queues in one read; queues served by priority
    first, second = QueueFactory(priority=1), QueueFactory(priority=2)
    agents = reachable(*[AgentProfileFactory(queues=[first, second], capacity=UNITS) for _ in range(3)])
    low = case_items(WorkstreamFactory(default_queue=second, channel="records", chat_mode=""), 3)
    high = case_items(WorkstreamFactory(default_queue=first, channel="records", chat_mode=""), 3)
    with django_assert_max_num_queries(PASS_QUERIES + 3):
        assert offers_dispatch() == 3  # three agents with room for one item each
    offered = set(Offer.objects.values_list("work_item_id", flat=True))
    assert offered == {item.pk for item in high}  # priority 1 first
    assert {item.pk for item in low}.isdisjoint(offered)
    assert sorted(Offer.objects.values_list("agent_id", flat=True)) == sorted(a.pk for a in agents)
