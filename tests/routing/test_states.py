"""Every work-item and offer move, allowed and refused (ROU-9, ROU-10)."""

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import IllegalTransition
from routing.models import Offer, WorkItem
from routing.services import offer_transition, work_item_transition
from routing.states import OFFER, WORK_ITEM
from tests.routing.factories import AgentProfileFactory, WorkItemFactory

pytestmark = pytest.mark.django_db

WORK_ITEM_ALLOWED = {
    ("queued", "offered"),
    ("queued", "assigned"),
    ("queued", "done"),
    ("offered", "queued"),
    ("offered", "assigned"),
    ("offered", "done"),
    ("assigned", "queued"),
    ("assigned", "parked"),
    ("assigned", "done"),
    ("parked", "queued"),
    ("parked", "offered"),
    ("parked", "assigned"),
    ("parked", "done"),
}
OFFER_ALLOWED = {("pending", "accepted"), ("pending", "rejected"), ("pending", "timed_out"), ("pending", "lost")}


def make_offer(status: str) -> Offer:
    work_item = WorkItemFactory()
    now = timezone.now()
    return Offer.objects.create(
        work_item=work_item,
        agent=AgentProfileFactory(),
        status=status,
        created_at=now,
        expires_at=now + timedelta(seconds=120),
    )


def test_tables_are_exactly_the_documented_moves():
    # spec: ROU-9
    assert WORK_ITEM.moves == WORK_ITEM_ALLOWED
    assert OFFER.moves == OFFER_ALLOWED
    assert set(WORK_ITEM.states) == set(WorkItem.Status.values)
    assert set(OFFER.states) == set(Offer.Status.values)


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(WORK_ITEM.states, repeat=2)))
def test_work_item_moves(source, target):
    # spec: ROU-9
    agent = AgentProfileFactory()
    work_item = WorkItemFactory()
    WorkItem.objects.filter(pk=work_item.pk).update(status=source, agent=agent)
    work_item.refresh_from_db()

    if (source, target) in WORK_ITEM_ALLOWED:
        with transaction.atomic():
            locked = WorkItem.objects.select_for_update().get(pk=work_item.pk)
            work_item_transition(locked, to=target)
        work_item.refresh_from_db()
        assert work_item.status == target
    else:
        with pytest.raises(IllegalTransition):
            work_item_transition(work_item, to=target)
        work_item.refresh_from_db()
        assert work_item.status == source


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(OFFER.states, repeat=2)))
def test_offer_moves(source, target):
    # spec: ROU-10
    offer = make_offer(source)
    if (source, target) in OFFER_ALLOWED:
        offer_transition(offer, to=target)
        offer.refresh_from_db()
        assert (offer.status, offer.responded_at is not None) == (target, True)
    else:
        with pytest.raises(IllegalTransition):
            offer_transition(offer, to=target)
        offer.refresh_from_db()
        assert (offer.status, offer.responded_at) == (source, None)


def test_a_work_item_never_has_two_accepted_offers():
    # spec: ROU-10 — the database refuses a second accepted offer whatever the code does
    offer = make_offer("accepted")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            work_item=offer.work_item,
            agent=AgentProfileFactory(),
            status="accepted",
            created_at=now,
            expires_at=now + timedelta(seconds=60),
        )
    assert Offer.objects.filter(work_item=offer.work_item).count() == 1


def test_a_work_item_has_at_most_one_pending_offer():
    # spec: ROU-9 — one eligible agent at a time
    offer = make_offer("pending")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            work_item=offer.work_item, agent=AgentProfileFactory(), created_at=now, expires_at=now + timedelta(1)
        )


def test_an_agent_never_holds_more_than_ten_sessions():
    # spec: ROU-7
    agent = AgentProfileFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(agent).objects.filter(pk=agent.pk).update(session_count=11)
    agent.refresh_from_db()
    assert agent.session_count == 0
