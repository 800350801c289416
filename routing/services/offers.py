"""An offer's lifecycle: accepted, rejected or timed out (ROU-9, ROU-10, NOT-4..8, NOT-14).

Locks follow ``core.locks``: the offer's work item first, then the offer, then the agent, so
concurrent accepts, rejects, timeouts and dispatches never deadlock, and a work item never has
two owners (ROU-10: one pending and one accepted offer per work item are also constraints).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from agents.models import MAX_SESSIONS, AgentProfile
from core.errors import NotFound
from core.locks import lock_row
from core.realtime import agent_group, publish_on_commit
from core.tasks_by_name import task_send_on_commit
from notifications.models import AgentBanner, AlertSettings, Notification
from notifications.scenarios import Scenario
from notifications.services import notification_close, notification_close_for_offer, notification_hold_until
from routing.errors import RoutingError
from routing.models import Offer, WorkItem, Workstream
from routing.services.alerts import presence_alert
from routing.services.capacity import dispatch_on_commit
from routing.services.transitions import offer_transition, work_item_transition
from routing.services.work_items import work_item_assign
from routing.states import OFFER

#: A notification never displayed is re-routed this long after its timeout (NOT-8).
REROUTE_AFTER = timedelta(minutes=8)


def offer_scenario(work_item: WorkItem) -> str:
    """How the item's offer is announced: the owner said so when it enqueued (NOT-1, ROU-15)."""
    return work_item.scenario


def offers_timeout_schedule(offers: list[Offer]) -> None:
    """Send the timeout tasks of new offers on commit, one per deadline (NOT-7). The deadline is
    the offers' ``expires_at`` column; the sweep applies any whose task was lost (REL-2)."""
    by_deadline: dict = {}
    for offer in offers:
        by_deadline.setdefault(offer.expires_at, []).append(offer.pk)
    for eta, offer_ids in by_deadline.items():
        task_send_on_commit("routing.time_out_offers", offer_ids, eta=eta)


def offer_lock_with_work_item(offer_id: int) -> tuple[Offer | None, WorkItem | None]:
    """Lock an offer's work item, then the offer (core.locks order); ``(None, None)`` for no offer.

    Called inside the caller's transaction before it locks any agent or conversation.
    """
    work_item_id = Offer.objects.filter(pk=offer_id).values_list("work_item_id", flat=True).first()
    work_item = lock_row(WorkItem.objects.select_related("workstream"), work_item_id)
    offer = lock_row(Offer.objects.all(), offer_id) if work_item is not None else None
    return offer, work_item


def _locked_offer(offer_id: int) -> tuple[Offer, WorkItem]:
    offer, work_item = offer_lock_with_work_item(offer_id)
    if offer is None:
        raise NotFound("No such offer.")
    return offer, work_item


@transaction.atomic
def offer_accept(*, offer_id: int, agent: AgentProfile) -> Offer:
    """The agent takes the work item. Exactly one caller can win it (ROU-10).

    Six statements: the work item is locked with the offer read alongside (core.locks order:
    work item first); the offer's move is one conditional UPDATE, so of concurrent accepts
    exactly one finds it pending (the others are told why by a read on the refusal path only);
    then the agent's lock, the notification's close, the item and the agent.
    """
    offer = (
        Offer.objects.select_for_update(no_key=True, of=("work_item",))
        .select_related("work_item__workstream")
        .annotate(notification_pk=Subquery(Notification.objects.filter(offer_id=OuterRef("pk")).values("pk")[:1]))
        .filter(pk=offer_id)
        .order_by()
        .first()
    )
    if offer is None:
        raise NotFound("No such offer.")
    work_item, now = offer.work_item, timezone.now()
    OFFER.check(Offer.Status.PENDING, Offer.Status.ACCEPTED)
    # NOT-8: a notification never displayed stays the agent's until its re-route moment.
    taken = (
        Offer.objects.filter(pk=offer_id, agent_id=agent.pk, status=Offer.Status.PENDING)
        .filter(Q(reroute_at__gt=now) | Q(reroute_at__isnull=True, expires_at__gt=now))
        .update(status=Offer.Status.ACCEPTED, responded_at=now)
    )
    if not taken:
        _refuse_accept(Offer.objects.get(pk=offer_id), agent=agent, now=now)
    offer.status, offer.responded_at = Offer.Status.ACCEPTED, now
    agent = lock_row(AgentProfile.objects.all(), agent.pk)
    if agent.session_count >= MAX_SESSIONS:
        raise RoutingError(f"You already have {MAX_SESSIONS} open sessions.", code="max_sessions")
    notification_close(notification_id=offer.notification_pk, agent_id=offer.agent_id, status="accepted")
    work_item_assign(work_item, agent=agent)
    offer_accepted_publish(offer, work_item, agent)
    return offer


def _refuse_accept(offer: Offer, *, agent: AgentProfile, now) -> None:
    """Why an accept found the offer not open to it, in the order a person needs to know."""
    if offer.agent_id != agent.pk:
        raise RoutingError("This offer was made to another agent.", code="not_yours")
    if offer.status != Offer.Status.PENDING:
        raise RoutingError("This work item is no longer available.", code="offer_gone")
    raise RoutingError("The time to accept this work item has passed.", code="offer_expired")


def offer_accepted_publish(offer: Offer, work_item: WorkItem, agent: AgentProfile, *, automatic: bool = False) -> None:
    """Tell the agent's pages, on commit, that the work is theirs (an accept or an automatic one, NOT-5)."""
    publish_on_commit(
        agent_group(agent.pk),
        {
            "type": "offer.accepted",
            "offer": offer.pk,
            "conversation": work_item.references.get("conversation"),
            "url": work_item.fact("url") or None,
            "automatic": automatic,
        },
    )


def _decline(offer: Offer, work_item: WorkItem, *, to: str) -> None:
    """Called while holding the locks of the work item and then the offer."""
    offer_transition(offer, to=to)
    notification_close_for_offer(offer=offer, status=to)
    if to == Offer.Status.TIMED_OUT:
        # The agent missed it: the workspace drops its alert; outbound webhooks say so (API-2).
        publish_on_commit(
            agent_group(offer.agent_id),
            {
                "type": "offer.timed_out",
                "offer": offer.pk,
                "agent": offer.agent_id,
                "work_item": work_item.pk,
                **work_item.references,
                "queue": work_item.queue_id,
            },
        )
    if work_item.status == WorkItem.Status.OFFERED:
        work_item_transition(work_item, to=WorkItem.Status.QUEUED)
        dispatch_on_commit(queue_ids=[work_item.queue_id])


@transaction.atomic
def offer_reject(*, offer_id: int, agent: AgentProfile) -> Offer:
    """The agent declines; the work item goes to the next eligible agent (NOT-4)."""
    offer, work_item = _locked_offer(offer_id)
    if offer.agent_id != agent.pk:
        raise RoutingError("This offer was made to another agent.", code="not_yours")
    if offer.status != Offer.Status.PENDING:
        raise RoutingError("This work item is no longer available.", code="offer_gone")
    workstream = Workstream.objects.get(work_items__pk=offer.work_item_id)
    if not workstream.agents_may_reject or offer_scenario(offer.work_item) == Scenario.CASE_ASSIGNMENT:
        raise RoutingError("This work item cannot be rejected.", code="reject_not_allowed")
    _decline(offer, work_item, to=Offer.Status.REJECTED)

    if AlertSettings.load().agent_reject_enabled:  # NOT-11
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=agent.pk)
        presence_alert(agent, kind=AgentBanner.Kind.REJECTED)
    return offer


MISSED_UNSEEN_MESSAGE = (
    "A conversation was sent to you while your workspace could not show it, so your presence is now Inactive. "
    "Set your presence to get new work."
)


@transaction.atomic
def offer_time_out(*, offer_id: int) -> Offer | None:
    """The agent did not answer in time (NOT-7, NOT-8, NOT-10).

    - Displayed (a workspace page acknowledged it): the work goes to the next eligible agent at
      once, and with the missed-notification alert on the agent turns Inactive with a banner.
    - Never displayed (the page was closed, gone or offline): the work stays with this agent,
      who turns Inactive at once — Inactive rather than Offline because Offline means "no page
      connected" and is restored by reconnecting (ROU-8), whereas a missed conversation must be
      acknowledged by setting a presence; the deadline moves to ``reroute_at``, eight minutes
      after the timeout, until which the agent may still accept it.
    - At ``reroute_at`` the work goes to the next eligible agent.

    Called by the tasks scheduled for ``expires_at`` and ``reroute_at`` and by the sweep; early
    or repeated calls change nothing.
    """
    offer, work_item = offer_lock_with_work_item(offer_id)
    now = timezone.now()
    if offer is None or offer.status != Offer.Status.PENDING or offer.expires_at > now:
        return offer
    if work_item.kind == WorkItem.Kind.CASE:  # NOT-14: a case assignment holds whatever the timeout
        return _case_assignment_hold(offer, work_item)
    if offer.reroute_at is None and offer.displayed_at is None:  # NOT-8
        offer.reroute_at = offer.expires_at + REROUTE_AFTER
        offer.save(update_fields=["reroute_at"])
        notification_hold_until(offer=offer, until=offer.reroute_at)
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=offer.agent_id)
        presence_alert(agent, kind=AgentBanner.Kind.MISSED_NOTIFICATION, message=MISSED_UNSEEN_MESSAGE)
        _schedule_offer_deadline(offer, eta=offer.reroute_at)
        return offer
    if offer.reroute_at is not None:
        if offer.reroute_at > now:
            return offer
        _decline(offer, work_item, to=Offer.Status.TIMED_OUT)
        return offer
    _decline(offer, work_item, to=Offer.Status.TIMED_OUT)
    if AlertSettings.load().missed_notification_enabled:  # NOT-10
        agent = AgentProfile.objects.select_for_update(no_key=True).get(pk=offer.agent_id)
        presence_alert(agent, kind=AgentBanner.Kind.MISSED_NOTIFICATION)
    return offer


def _case_assignment_hold(offer: Offer, work_item: WorkItem) -> Offer:
    """NOT-14: a case assignment cannot be rejected and is not re-routed: at its timeout the case
    is the agent's (assigned to them, as if they had opened it), with no presence change.

    The pending offer reserved a session slot for the agent (eligible_agents), so the slot is
    there; should it not be (the agent was given sessions another way), the offer stays pending
    and the sweep holds it once a slot is free.
    """
    agent = lock_row(AgentProfile.objects.all(), offer.agent_id)
    if agent.session_count >= MAX_SESSIONS:
        return offer
    offer_transition(offer, to=Offer.Status.ACCEPTED)
    notification_close_for_offer(offer=offer, status="accepted")
    work_item_assign(work_item, agent=agent)
    offer_accepted_publish(offer, work_item, agent, automatic=True)
    return offer


def _schedule_offer_deadline(offer: Offer, *, eta) -> None:
    task_send_on_commit("routing.time_out_offer", offer.pk, eta=eta)


def offers_time_out_overdue(*, limit: int = 500) -> int:
    """Apply the timeouts and eight-minute re-routes whose task was lost (REL-2). Returns how many
    offers it timed out (a never-displayed one counts when it is re-routed)."""
    now = timezone.now()
    overdue = list(
        Offer.objects.filter(status=Offer.Status.PENDING, expires_at__lte=now)
        .filter(Q(reroute_at__isnull=True) | Q(reroute_at__lte=now))
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for offer_id in overdue:
        offer = offer_time_out(offer_id=offer_id)
        done += offer is not None and offer.status == Offer.Status.TIMED_OUT
    return done
