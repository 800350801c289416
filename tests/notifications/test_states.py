"""Every notification move, allowed and refused (NOT-4, NOT-7, NOT-8)."""

import itertools

import pytest

from core.errors import IllegalTransition
from notifications.models import Notification
from notifications.services import notification_transition
from notifications.states import NOTIFICATION
from tests.routing.factories import AgentProfileFactory

pytestmark = pytest.mark.django_db

CLOSED = ("accepted", "rejected", "timed_out", "dismissed", "withdrawn")
ALLOWED = {("sent", "displayed")} | {(s, c) for s in ("sent", "displayed") for c in CLOSED}


def test_table_is_exactly_the_documented_lifecycle():
    # spec: NOT-8 — "displayed" is its own state: a notification never displayed is told apart
    assert NOTIFICATION.moves == ALLOWED
    assert set(NOTIFICATION.states) == set(Notification.Status.values)


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(NOTIFICATION.states, repeat=2)))
def test_notification_moves(source, target):
    # spec: NOT-4, NOT-7
    notification = Notification.objects.create(
        agent=AgentProfileFactory(), scenario="incoming_chat", kind="alert", title="Incoming chat", status=source
    )
    if (source, target) in ALLOWED:
        notification_transition(notification, to=target)
        notification.refresh_from_db()
        assert notification.status == target
        stamp = notification.displayed_at if target == "displayed" else notification.closed_at
        assert stamp is not None
    else:
        with pytest.raises(IllegalTransition):
            notification_transition(notification, to=target)
        notification.refresh_from_db()
        assert (notification.status, notification.displayed_at, notification.closed_at) == (source, None, None)
