"""Invitation moves and the fixed one-minute close (PRO-4, REL-2)."""

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import IllegalTransition
from core.realtime import visitor_group
from omnichannel.tasks import sweep_overdue_deadlines
from tests.widgets.factories import InvitationFactory, VisitorFactory
from widgets.models import INVITATION_LIFETIME, Invitation
from widgets.services import invitation_expire, invitation_transition, invitations_expire_overdue
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
            {
                "type": "invitation.closed",
                "invitation": invitation.pk,
                "id": str(invitation.public_id),
                "status": "expired",
            },
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


# --- the minute cannot be changed (PRO-4) ---------------------------------------------------------

LIFETIME_WORDS = ("lifetime", "expir", "timeout", "duration", "minute", "seconds_open", "close_after")


def test_no_model_admin_or_setting_field_can_change_the_minute():
    # spec: PRO-4 — "This one-minute timer is fixed: no setting changes it."
    from django.conf import settings
    from django.contrib import admin

    from widgets.models import ChatWidget, ProactiveRule

    def configurable(model):
        return [
            field.name
            for field in model._meta.get_fields()
            if getattr(field, "editable", False) and any(word in field.name for word in LIFETIME_WORDS)
        ]

    # Rules, widgets and invitations carry no lifetime an admin could edit; the deadline column
    # exists only as the invitation's stored deadline, not editable, and the database pins it.
    assert configurable(ChatWidget) == [] and configurable(ProactiveRule) == [] and configurable(Invitation) == []
    assert not Invitation._meta.get_field("expires_at").editable
    for model in (ChatWidget, ProactiveRule, Invitation):
        model_admin = admin.site._registry[model]
        form = model_admin.get_form(_request(), None) if model is not Invitation else None
        if form is not None:
            assert not [name for name in form.base_fields if any(word in name for word in LIFETIME_WORDS)]
    assert not admin.site._registry[Invitation].has_change_permission(_request())
    assert not [name for name in dir(settings) if "INVITATION" in name.upper() or "PROACTIVE" in name.upper()]


def _request():
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = AnonymousUser()
    request.user.is_superuser = True
    return request


def test_the_minute_holds_even_when_a_caller_asks_for_another_deadline(time_machine):
    # spec: PRO-4 — services open invitations with the constant; a row with another lifetime is refused
    from widgets.services import invitation_offer

    time_machine.move_to(timezone.now(), tick=False)
    visitor = VisitorFactory(widget__proactive_enabled=True)
    invitation = invitation_offer(visitor=visitor, message="Hello")
    assert invitation.expires_at - invitation.shown_at == INVITATION_LIFETIME
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationFactory(visitor=VisitorFactory(), expires_at=timezone.now() + timedelta(minutes=2))


# --- expiry at scale: batched, skipping locked rows (PRO-4, REL-2) --------------------------------


def test_many_due_at_once_close_in_a_few_batched_statements(
    time_machine, published, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # spec: PRO-4, REL-2
    time_machine.move_to(timezone.now(), tick=False)
    visitors = VisitorFactory.create_batch(25)
    for visitor in visitors:
        InvitationFactory(visitor=visitor)
    time_machine.shift(INVITATION_LIFETIME)
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(16):
        assert invitations_expire_overdue(batch_size=10) == 25
    assert set(Invitation.objects.values_list("status", flat=True)) == {"expired"}
    assert all(i.closed_at == i.expires_at for i in Invitation.objects.all())
    assert sorted(group for group, _event in published) == sorted(visitor_group(v.pk) for v in visitors)
    assert invitations_expire_overdue() == 0


@pytest.mark.django_db(transaction=True)
def test_a_row_held_by_another_transaction_is_skipped_not_waited_for(time_machine):
    # spec: REL-2 — the holder (a visitor accepting at that moment) decides it
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    time_machine.move_to(timezone.now(), tick=False)
    held, free = InvitationFactory(), InvitationFactory()
    time_machine.shift(INVITATION_LIFETIME)
    locked, release = threading.Event(), threading.Event()

    def hold():
        from django.db import connection as thread_connection

        with transaction.atomic():
            Invitation.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        thread_connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(5)
        assert invitations_expire_overdue() == 1
    finally:
        release.set()
        thread.join(10)
    assert Invitation.objects.get(pk=free.pk).status == "expired"
    assert Invitation.objects.get(pk=held.pk).status == "shown"
    assert invitations_expire_overdue() == 1  # the next sweep gets it


def test_the_deadline_task_closes_everything_due_and_retries_an_early_delivery(time_machine, monkeypatch):
    # spec: PRO-4 — a task arriving early (clock skew) is scheduled again for the deadline
    from widgets import tasks

    time_machine.move_to(timezone.now(), tick=False)
    first, second = InvitationFactory(), InvitationFactory()
    again = []
    monkeypatch.setattr(tasks.expire_invitation, "apply_async", lambda args, eta: again.append((args, eta)))
    tasks.expire_invitation.run(first.pk)
    assert again == [((first.pk,), first.expires_at)]
    assert Invitation.objects.filter(status="shown").count() == 2
    time_machine.shift(INVITATION_LIFETIME)
    tasks.expire_invitation.run(first.pk)
    assert set(Invitation.objects.values_list("status", flat=True)) == {"expired"}
    tasks.expire_invitation.run(second.pk)  # its invitation already closed: nothing to do
    assert len(again) == 1
