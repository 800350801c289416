"""Every write of the widgets app."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from omnichannel.realtime import publish_on_commit, visitor_group
from widgets.models import ChatWidget, Invitation, PageVisit, SelfServiceAction, Visitor
from widgets.states import INVITATION


def invitation_transition(invitation: Invitation, *, to: str, at: datetime | None = None) -> Invitation:
    """Apply an invitation move and stamp when it closed. The caller holds the row lock."""
    INVITATION.check(invitation.status, to)
    invitation.status = to
    invitation.closed_at = at or timezone.now()
    invitation.save(update_fields=["status", "closed_at"])
    publish_on_commit(
        visitor_group(invitation.visitor_id),
        {"type": "invitation.closed", "invitation": invitation.pk, "status": to},
    )
    return invitation


@transaction.atomic
def invitation_expire(*, invitation_id: int) -> Invitation | None:
    """Close an unanswered invitation once its one minute is up (PRO-4).

    Called by the task scheduled for ``expires_at`` and by the sweep. Safe to call twice and
    early: an invitation already answered, or not yet due, is left as it is.
    """
    invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None or invitation.status != Invitation.Status.SHOWN:
        return invitation
    if invitation.expires_at > timezone.now():
        return invitation
    return invitation_transition(invitation, to=Invitation.Status.EXPIRED, at=invitation.expires_at)


def invitations_expire_overdue(*, limit: int = 500) -> int:
    """Expire overdue invitations whose task was lost (REL-2). Returns how many it closed."""
    overdue = list(
        Invitation.objects.filter(status=Invitation.Status.SHOWN, expires_at__lte=timezone.now())
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    closed = 0
    for invitation_id in overdue:
        invitation = invitation_expire(invitation_id=invitation_id)
        closed += invitation is not None and invitation.status == Invitation.Status.EXPIRED
    return closed


def invitation_schedule_expiry(invitation: Invitation) -> None:
    """Schedule the expiry task for the invitation's deadline, once the row is committed."""
    from widgets.tasks import expire_invitation

    transaction.on_commit(lambda: expire_invitation.apply_async((invitation.pk,), eta=invitation.expires_at))


# --- visitor tracking (WID-12, SUM-12) -----------------------------------------------------------

#: Page loads closer together than this are one visit; a visitor who comes back later is
#: "returning" (PRO-2's audience), as web analytics count sessions.
VISIT_GAP = timedelta(minutes=30)


@transaction.atomic
def visitor_session_open(
    *,
    widget: ChatWidget,
    visitor: Visitor | None,
    language: str,
    user_agent: str,
    url: str = "",
    title: str = "",
) -> Visitor:
    """A page with the widget loaded: remember the browser and record the page visit (WID-12).

    ``visitor`` is the one the browser's token named (None for a new browser). A page load
    more than :data:`VISIT_GAP` after the last one counts as a new visit.
    """
    now = timezone.now()
    if visitor is None:
        visitor = Visitor.objects.create(
            widget=widget, language=language[:16], user_agent=user_agent[:500], created_at=now, last_seen_at=now
        )
    else:
        new_visit = now - visitor.last_seen_at >= VISIT_GAP
        Visitor.objects.filter(pk=visitor.pk).update(
            last_seen_at=now,
            visit_count=F("visit_count") + int(new_visit),
            language=language[:16] or visitor.language,
            user_agent=user_agent[:500] or visitor.user_agent,
        )
        visitor.refresh_from_db(fields=["last_seen_at", "visit_count", "language", "user_agent"])
    if url:
        PageVisit.objects.create(visitor=visitor, url=url, title=title[:300], started_at=now, last_seen_at=now)
    return visitor


@transaction.atomic
def self_service_action_log(
    *, visitor: Visitor, kind: str, title: str, url: str = "", conversation_id: int | None = None
) -> SelfServiceAction:
    """Record what the customer did on the host page (SUM-12).

    It attaches to the visitor, and to ``conversation_id`` — the visitor's unfinished
    conversation — when one has started (WID-12).
    """
    return SelfServiceAction.objects.create(
        visitor=visitor, conversation_id=conversation_id, kind=kind, title=title[:300], url=url
    )
