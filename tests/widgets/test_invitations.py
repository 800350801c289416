"""Invitation moves and the fixed one-minute close (PRO-4, REL-2)."""

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from omnichannel.errors import IllegalTransition
from omnichannel.realtime import visitor_group
from omnichannel.tasks import sweep_overdue_deadlines
from tests.widgets.factories import InvitationFactory
from widgets.models import INVITATION_LIFETIME, Invitation
from widgets.services import invitation_expire, invitation_transition
from widgets.states import INVITATION

pytestmark = pytest.mark.django_db

ALLOWED = {("shown", "accepted"), ("shown", "dismissed"), ("shown", "expired")}


def test_table_is_exactly_the_documented_lifecycle():
    # spec: PRO-4
    assert INVITATION.moves == ALLOWED
    assert set(INVITATION.states) == set(Invitation.Status.values)


@pytest.mark.parametrize(("source", "target"), sorted(itertools.product(INVITATION.states, repeat=2)))
def test_invitation_moves(source, target):
    # spec: PRO-4, PRO-8 — every move is recorded with its time
    invitation = InvitationFactory()
    Invitation.objects.filter(pk=invitation.pk).update(status=source)
    invitation.refresh_from_db()
    if (source, target) in ALLOWED:
        invitation_transition(invitation, to=target)
        invitation.refresh_from_db()
        assert invitation.status == target and invitation.closed_at is not None
    else:
        with pytest.raises(IllegalTransition):
            invitation_transition(invitation, to=target)
        invitation.refresh_from_db()
        assert (invitation.status, invitation.closed_at) == (source, None)


def test_an_invitation_lives_exactly_one_minute_and_the_database_holds_it_to_that():
    # spec: PRO-4 — a constant; no row can carry another lifetime
    assert INVITATION_LIFETIME == timedelta(minutes=1)
    invitation = InvitationFactory()
    assert invitation.expires_at - invitation.shown_at == timedelta(minutes=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.shown_at + timedelta(minutes=5))


def test_expire_before_the_minute_changes_nothing(time_machine):
    # spec: PRO-4
    time_machine.move_to(timezone.now(), tick=False)
    invitation = InvitationFactory()
    time_machine.shift(timedelta(seconds=59))
    invitation_expire(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == "shown"


def test_expire_at_the_minute_closes_it_and_tells_the_widget(
    time_machine, published, django_capture_on_commit_callbacks
):
    # spec: PRO-4
    time_machine.move_to(timezone.now(), tick=False)
    invitation = InvitationFactory()
    time_machine.shift(timedelta(seconds=60))
    with django_capture_on_commit_callbacks(execute=True):
        invitation_expire(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.closed_at) == ("expired", invitation.expires_at)
    assert published == [
        (
            visitor_group(invitation.visitor_id),
            {"type": "invitation.closed", "invitation": invitation.pk, "status": "expired"},
        )
    ]


def test_expire_twice_or_after_an_answer_changes_nothing(time_machine, published, django_capture_on_commit_callbacks):
    # spec: REL-2 — acting twice on the same deadline changes nothing
    time_machine.move_to(timezone.now(), tick=False)
    expired, accepted = InvitationFactory(), InvitationFactory()
    invitation_transition(accepted, to="accepted")
    time_machine.shift(timedelta(minutes=2))
    invitation_expire(invitation_id=expired.pk)
    closed_at = Invitation.objects.get(pk=expired.pk).closed_at
    with django_capture_on_commit_callbacks(execute=True):
        invitation_expire(invitation_id=expired.pk)
        invitation_expire(invitation_id=accepted.pk)
        invitation_expire(invitation_id=999_999)
    assert Invitation.objects.get(pk=expired.pk).closed_at == closed_at
    assert Invitation.objects.get(pk=accepted.pk).status == "accepted"
    assert published == []


def test_the_sweep_closes_overdue_invitations_whose_task_was_lost(time_machine):
    # spec: REL-2
    time_machine.move_to(timezone.now(), tick=False)
    overdue = InvitationFactory.create_batch(3)
    time_machine.shift(timedelta(seconds=30))
    fresh = InvitationFactory()
    time_machine.shift(timedelta(seconds=31))

    assert sweep_overdue_deadlines()["invitations_expired"] == 3
    assert sweep_overdue_deadlines()["invitations_expired"] == 0
    assert {i.status for i in Invitation.objects.filter(pk__in=[i.pk for i in overdue])} == {"expired"}
    assert Invitation.objects.get(pk=fresh.pk).status == "shown"
