"""A countdown task fires at its deadline on a real worker: the embedded thread on the memory
broker, or a worker process on Redis (design.md, "Time" and "Two ways to run")."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.widgets.factories import InvitationFactory
from widgets.models import Invitation
from widgets.services import invitation_schedule_expiry

pytestmark = pytest.mark.embedded


def test_a_countdown_task_fires_at_its_deadline_and_not_before(celery_worker):
    # spec: PRO-4, REL-2 — the invitation's one-minute deadline is acted on by a Celery task
    invitation = InvitationFactory(shown_at=timezone.now() - timedelta(seconds=57))  # due in 3 s
    invitation_schedule_expiry(invitation)  # no transaction here: scheduled at once

    time.sleep(1.5)
    assert Invitation.objects.get(pk=invitation.pk).status == "shown"

    deadline = time.monotonic() + 10
    while Invitation.objects.get(pk=invitation.pk).status == "shown" and time.monotonic() < deadline:
        time.sleep(0.1)
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    assert invitation.closed_at == invitation.expires_at
    lateness = timezone.now() - invitation.expires_at
    assert lateness < timedelta(seconds=3), f"fired {lateness} late ({celery_worker})"
