"""Every write of the widgets app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations.models import Conversation
from conversations.services import conversation_start
from core.errors import DomainError, NotFound
from core.realtime import publish_many_on_commit, publish_on_commit, visitor_group
from core.tasks_by_name import task_send_on_commit
from widgets import proactive
from widgets.models import (
    INVITATION_LIFETIME,
    ChatWidget,
    Invitation,
    PageVisit,
    ProactiveRule,
    SelfServiceAction,
    Visitor,
)
from widgets.selectors import visitor_unfinished_conversation, widget_agent_available
from widgets.states import INVITATION


def invitation_event(invitation: Invitation) -> dict:
    """How an open invitation is told to its visitor's pages (PRO-3): public id, never the row id."""
    return {
        "id": str(invitation.public_id),
        "message": invitation.message,
        "show_prechat": invitation.show_prechat,
        "shown_at": invitation.shown_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
    }


def invitation_transition(invitation: Invitation, *, to: str, at: datetime | None = None) -> Invitation:
    """Apply an invitation move and stamp when it closed. The caller holds the row lock."""
    INVITATION.check(invitation.status, to)
    invitation.status = to
    invitation.closed_at = at or timezone.now()
    invitation.save(update_fields=["status", "closed_at"])
    publish_on_commit(
        visitor_group(invitation.visitor_id),
        {"type": "invitation.closed", "invitation": invitation.pk, "id": str(invitation.public_id), "status": to},
    )
    return invitation


@transaction.atomic
def invitation_expire(*, invitation_id: int) -> Invitation | None:
    """Close an unanswered invitation once its one minute is up (PRO-4).

    Safe to call twice and early: an invitation already answered, or not yet due, is left as it is.
    """
    invitation = Invitation.objects.select_for_update(no_key=True).filter(pk=invitation_id).first()
    if invitation is None or invitation.status != Invitation.Status.SHOWN:
        return invitation
    if invitation.expires_at > timezone.now():
        return invitation
    return invitation_transition(invitation, to=Invitation.Status.EXPIRED, at=invitation.expires_at)


#: Invitations closed per transaction when many fall due at once.
EXPIRY_BATCH = 500


def invitations_expire_overdue(*, limit: int = 20_000, batch_size: int = EXPIRY_BATCH) -> int:
    """Close every invitation whose minute is up, in batches; returns how many it closed (PRO-4, REL-2).

    Called by the task at each invitation's deadline and by the beat sweep, so a burst of
    deadlines (10,000 due at once) costs a few batched transactions instead of one each: the
    first caller closes everything due, and the tasks after it find nothing left to do. Rows
    another transaction holds (a visitor accepting at that moment, a concurrent sweep) are
    skipped, not waited for: their holder decides them, and the next sweep sees what is left.
    """
    INVITATION.check(Invitation.Status.SHOWN, Invitation.Status.EXPIRED)  # the one move applied here
    closed = 0
    while closed < limit:
        with transaction.atomic():
            due = list(
                Invitation.objects.select_for_update(no_key=True, skip_locked=True)
                .filter(status=Invitation.Status.SHOWN, expires_at__lte=timezone.now())
                .order_by("expires_at", "pk")
                .only("pk", "public_id", "visitor_id", "expires_at")[: min(batch_size, limit - closed)]
            )
            if not due:
                break
            # Every row is locked and still shown: the same move as invitation_transition, in one statement.
            Invitation.objects.filter(pk__in=[invitation.pk for invitation in due]).update(
                status=Invitation.Status.EXPIRED, closed_at=F("expires_at")
            )
            publish_many_on_commit(
                [
                    (
                        visitor_group(invitation.visitor_id),
                        {
                            "type": "invitation.closed",
                            "invitation": invitation.pk,
                            "id": str(invitation.public_id),
                            "status": Invitation.Status.EXPIRED,
                        },
                    )
                    for invitation in due
                ]
            )
        closed += len(due)
        if len(due) < batch_size:
            break  # that was the last of them
    return closed


def invitation_schedule_expiry(invitation: Invitation) -> None:
    """Schedule the expiry task for the invitation's deadline, once the row is committed."""
    task_send_on_commit("widgets.expire_invitation", invitation.pk, eta=invitation.expires_at)


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
    more than :data:`VISIT_GAP` after the last one counts as a new visit. The returned visitor's
    ``page_visit`` is the visit recorded for this load (None when no URL was sent).
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
    # The page visit recorded for this load, for the caller to name to the page (PRO-2).
    visitor.page_visit = None
    if url:
        visitor.page_visit = PageVisit.objects.create(
            visitor=visitor, url=url, title=title[:300], started_at=now, last_seen_at=now
        )
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


def self_service_actions_attach(conversation: Conversation) -> None:
    """Attach what the visitor did before this chat to it (SUM-12, WID-12).

    Called by ``conversations.services.conversation_start`` inside its transaction (registered
    in ``WidgetsConfig.ready()``), so the summary shows the actions from the chat's first read.
    """
    if conversation.visitor_id is None:
        return
    SelfServiceAction.objects.filter(visitor_id=conversation.visitor_id, conversation__isnull=True).update(
        conversation=conversation
    )


# --- proactive chat (PRO-2..7a) -------------------------------------------------------------------

#: The page reports at least this often while open; sooner when a rule is about to match.
HEARTBEAT_MAX_SECONDS = 15.0
HEARTBEAT_MIN_SECONDS = 1.0


class InvitationError(DomainError):
    code = "invitation_closed"


@dataclass(frozen=True)
class Heartbeat:
    """What a page learns from its heartbeat: the invitation it opened (if any), and when to
    report again (sooner when a rule is waiting for the visitor to have been on the page longer)."""

    invitation: Invitation | None
    next_heartbeat_seconds: float


def _lock_visitor(visitor_id: int) -> Visitor:
    # The visitor's row serialises everything that opens an invitation for them (two tabs, the
    # SDK): so the one-open-invitation rule and the daily cap hold (PRO-3).
    return (
        Visitor.objects.select_for_update(no_key=True, of=("self",))
        .select_related("widget__workstream__default_queue")
        .get(pk=visitor_id)
    )


def _invitation_open(
    *,
    visitor: Visitor,
    message: str,
    rule: ProactiveRule | None,
    page_visit: PageVisit | None,
    show_prechat: bool,
    now: datetime,
) -> Invitation:
    """Store the invitation with its one-minute deadline, schedule the close, tell the pages."""
    invitation = Invitation.objects.create(
        widget=visitor.widget,
        visitor=visitor,
        rule=rule,
        page_visit=page_visit,
        page_url=page_visit.url if page_visit else "",
        message=message[:500],
        show_prechat=show_prechat,
        shown_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    invitation_schedule_expiry(invitation)
    publish_on_commit(
        visitor_group(visitor.pk), {"type": "invitation.shown", "invitation": invitation_event(invitation)}
    )
    return invitation


def _visitor_is_busy(visitor: Visitor) -> bool:
    """Already invited (an open invitation) or already chatting: nobody invites them now."""
    if Invitation.objects.filter(visitor=visitor, status=Invitation.Status.SHOWN).exists():
        return True
    return visitor_unfinished_conversation(visitor) is not None


@transaction.atomic
def page_visit_heartbeat(*, page_visit_id: int) -> Heartbeat:
    """The page is still open: note it, and invite the visitor if a rule matches now (PRO-2, PRO-3).

    The server decides everything from what it stored — time on page from the visit's start,
    the visitor's audience, the page's URL, the clock in the rule's time zone, the cap, an
    agent's availability (PRO-7a) — so a page cannot forge a match. Proactive chat must be on
    for the widget (PRO-1); a visitor with an open invitation or an unfinished chat is not
    invited; a rule invites at most once per page visit. Locks the visitor's row.
    """
    now = timezone.now()
    visitor_id = PageVisit.objects.filter(pk=page_visit_id).values_list("visitor_id", flat=True).first()
    if visitor_id is None:
        raise NotFound("No such page visit.")
    visitor = _lock_visitor(visitor_id)
    page_visit = PageVisit.objects.get(pk=page_visit_id)
    page_visit.last_seen_at = now
    page_visit.save(update_fields=["last_seen_at"])
    idle = Heartbeat(invitation=None, next_heartbeat_seconds=HEARTBEAT_MAX_SECONDS)
    widget = visitor.widget
    if not (widget.proactive_enabled and widget.is_active) or _visitor_is_busy(visitor):
        return idle
    rules = list(widget.proactive_rules.filter(is_active=True).prefetch_related("messages").order_by("order", "pk"))
    if not rules:
        return idle
    history = [
        proactive.PastInvitation(rule_id=rule_id, page_visit_id=visit_id, shown_at=shown_at)
        for rule_id, visit_id, shown_at in Invitation.objects.filter(visitor=visitor, rule__isnull=False)
        .filter(Q(shown_at__gte=now - proactive.HISTORY_WINDOW) | Q(page_visit=page_visit))
        .values_list("rule_id", "page_visit_id", "shown_at")
    ]
    decision = proactive.first_matching_rule(
        rules,
        visitor=visitor,
        page_visit=page_visit,
        history=history,
        now=now,
        agent_available=lambda: widget_agent_available(widget, now=now),
    )
    if decision.rule is None:
        wait = decision.wait_seconds if decision.wait_seconds is not None else HEARTBEAT_MAX_SECONDS
        return Heartbeat(
            invitation=None, next_heartbeat_seconds=min(HEARTBEAT_MAX_SECONDS, max(HEARTBEAT_MIN_SECONDS, wait))
        )
    invitation = _invitation_open(
        visitor=visitor,
        message=proactive.rule_message(decision.rule, widget.language or visitor.language),
        rule=decision.rule,
        page_visit=page_visit,
        show_prechat=True,
        now=now,
    )
    return Heartbeat(invitation=invitation, next_heartbeat_seconds=HEARTBEAT_MAX_SECONDS)


@transaction.atomic
def invitation_offer(
    *, visitor: Visitor, message: str, page_visit: PageVisit | None = None, show_prechat: bool = True
) -> Invitation:
    """The host page invites the visitor itself through the SDK (PRO-7): no rule, same minute.

    Refused while proactive chat is off for the widget (PRO-1), while the visitor has an open
    invitation or an unfinished chat, and for an empty message. Locks the visitor's row.
    """
    message = (message or "").strip()
    if not message:
        raise InvitationError("An invitation needs a message.", code="invalid")
    visitor = _lock_visitor(visitor.pk)
    if not (visitor.widget.proactive_enabled and visitor.widget.is_active):
        raise InvitationError("Proactive chat is switched off for this widget.", code="proactive_disabled")
    if page_visit is not None and page_visit.visitor_id != visitor.pk:
        raise NotFound("No such page visit.")
    if _visitor_is_busy(visitor):
        raise InvitationError(
            "This visitor already has an open invitation or a chat under way.", code="invitation_not_possible"
        )
    return _invitation_open(
        visitor=visitor,
        message=message,
        rule=None,
        page_visit=page_visit,
        show_prechat=show_prechat,
        now=timezone.now(),
    )


def _locked_invitation(*, visitor: Visitor, public_id) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(no_key=True, of=("self",))
        .filter(public_id=public_id, visitor=visitor)
        .select_related("rule", "page_visit", "widget__workstream__default_queue")
        .first()
    )
    if invitation is None:  # another visitor's invitation looks the same as none (SEC-1)
        raise NotFound("No such invitation.")
    return invitation


def _still_open(invitation: Invitation, now: datetime) -> None:
    if invitation.status != Invitation.Status.SHOWN or invitation.expires_at <= now:
        raise InvitationError("This invitation has closed.")


@transaction.atomic
def invitation_dismiss(*, visitor: Visitor, invitation_public_id) -> Invitation:
    """The visitor closed the invitation (PRO-4). Dismissing it twice is a no-op."""
    invitation = _locked_invitation(visitor=visitor, public_id=invitation_public_id)
    if invitation.status == Invitation.Status.DISMISSED:
        return invitation
    _still_open(invitation, timezone.now())
    return invitation_transition(invitation, to=Invitation.Status.DISMISSED)


def proactive_context(invitation: Invitation, *, now: datetime) -> dict[str, dict]:
    """The context variables an accepted invitation adds to its chat (PRO-6), shown to the agent
    under Additional details. Measured by the server: time on page from the visit's start."""
    variables: dict[str, dict] = {
        "proactiveRule": {
            "value": invitation.rule.name if invitation.rule_id else "Host page (startProactiveChat)",
            "isDisplayable": True,
        },
        "pageUrl": {"value": invitation.page_url, "isDisplayable": True},
    }
    if invitation.page_visit_id:
        variables["timeOnPageSeconds"] = {
            "value": int(proactive.seconds_on_page(invitation.page_visit, now)),
            "isDisplayable": True,
        }
    return variables


@transaction.atomic
def invitation_accept(
    *,
    visitor: Visitor,
    invitation_public_id,
    chat: dict | None = None,
    language: str = "",
    user_agent: str = "",
    browser: str = "",
    operating_system: str = "",
    device: str = "",
) -> tuple[Invitation, Conversation | None]:
    """The visitor accepts the invitation within its minute (PRO-4) and, with ``chat``
    (``{"prechat": {...}, "context": {...}}``), starts the chat, routed like any (PRO-5).

    Without ``chat`` it only records the acceptance (the widget then asks the pre-chat survey);
    a later call with ``chat`` starts the chat of an accepted invitation. The chat carries the
    host page's context variables plus :func:`proactive_context` (which win on a name clash),
    and its origin says it came from a proactive invitation (the agent's notification shows it).
    A refused chat (missing pre-chat answers, WID-11) changes nothing, acceptance included.
    A visitor who already has a chat under way gets that one back.
    """
    now = timezone.now()
    invitation = _locked_invitation(visitor=visitor, public_id=invitation_public_id)
    if invitation.status == Invitation.Status.SHOWN:
        _still_open(invitation, now)
        invitation_transition(invitation, to=Invitation.Status.ACCEPTED, at=now)
    elif invitation.status != Invitation.Status.ACCEPTED or (chat is not None and invitation.conversation_id):
        raise InvitationError("This invitation has closed.")
    if chat is None:
        return invitation, None
    existing = visitor_unfinished_conversation(visitor)
    if existing is not None:
        return invitation, existing
    host_context = chat.get("context") or {}
    context = (
        {**host_context, **proactive_context(invitation, now=now)} if isinstance(host_context, dict) else host_context
    )
    conversation = conversation_start(
        widget=invitation.widget,
        visitor=visitor,
        prechat_answers=chat.get("prechat") or {},
        context_variables=context,
        page_url=invitation.page_url,
        language=language,
        user_agent=user_agent,
        browser=browser,
        operating_system=operating_system,
        device=device,
        origin=Conversation.Origin.PROACTIVE,
    )
    invitation.conversation = conversation
    invitation.save(update_fields=["conversation"])
    return invitation, conversation
