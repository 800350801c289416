"""Every write of the notifications app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from agents.availability import Change
from core.errors import NotFound
from core.realtime import agent_group, publish_on_commit
from notifications.models import PLACEHOLDER, AgentBanner, Notification, NotificationTemplate
from notifications.selectors import notification_payload, template_for
from notifications.states import NOTIFICATION


@transaction.atomic
def banners_clear(*, agent_id: int) -> int:
    """Clear the agent's open banners once their presence is reset (NOT-10..12). Returns how many."""
    now = timezone.now()
    banner_ids = list(
        AgentBanner.objects.select_for_update(no_key=True)
        .filter(agent_id=agent_id, cleared_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not banner_ids:
        return 0
    AgentBanner.objects.filter(pk__in=banner_ids).update(cleared_at=now)
    publish_on_commit(agent_group(agent_id), {"type": "banner.cleared", "banners": banner_ids})
    return len(banner_ids)


def agent_availability_changed(*, agent_id: int, change: Change) -> None:
    """A person chose the agent's presence: the presence-changing banners are acted on (NOT-10..12).

    Registered with the agents app in ``NotificationsConfig.ready``; runs in the caller's transaction.
    """
    if change == Change.PRESENCE_CHOSEN:
        banners_clear(agent_id=agent_id)


BANNER_MESSAGES = {
    AgentBanner.Kind.MISSED_NOTIFICATION: (
        "You missed an incoming conversation, so your presence is now Inactive. Set your presence to get new work."
    ),
    AgentBanner.Kind.REJECTED: (
        "You rejected a work item, so your presence is now Do not disturb. Set your presence to get new work."
    ),
    AgentBanner.Kind.MAX_SESSIONS: (
        "You have the maximum of 10 open sessions, so your presence is now Do not disturb. "
        "Close a session and set your presence to get new work."
    ),
}


def banner_payload(banner: AgentBanner) -> dict:
    return {
        "id": banner.pk,
        "kind": banner.kind,
        "message": banner.message,
        "created_at": banner.created_at.isoformat(),
    }


def banner_raise(*, agent_id: int, kind: str, message: str | None = None) -> AgentBanner:
    """Open the agent's banner of this kind at the top of their dashboard (NOT-10..12).

    Runs in the caller's transaction with the agent's row locked, so the one-open-banner-per-kind
    rule holds: an open banner of the kind is kept (and not announced again).
    """
    banner = AgentBanner.objects.filter(agent_id=agent_id, kind=kind, cleared_at__isnull=True).first()
    if banner is not None:
        return banner
    banner = AgentBanner.objects.create(agent_id=agent_id, kind=kind, message=message or BANNER_MESSAGES[kind])
    publish_on_commit(agent_group(agent_id), {"type": "banner.raised", "banner": banner_payload(banner)})
    return banner


def notification_hold_until(*, offer, until) -> Notification | None:
    """NOT-8: a never-displayed alert stays open for the agent until the work is re-routed, so a
    workspace page opened in that window shows it (with the new deadline) and can accept it."""
    notification = Notification.objects.select_for_update(no_key=True).filter(offer_id=offer.pk).first()
    if notification is None or NOTIFICATION.is_final(notification.status):
        return notification
    notification.expires_at = until
    notification.save(update_fields=["expires_at"])
    return notification


def notification_transition(notification: Notification, *, to: str) -> Notification:
    """Apply a notification move and stamp its time. The caller holds the row lock."""
    NOTIFICATION.check(notification.status, to)
    now = timezone.now()
    notification.status = to
    update = ["status"]
    if to == Notification.Status.DISPLAYED:
        notification.displayed_at = now
        update.append("displayed_at")
    else:
        notification.closed_at = now
        update.append("closed_at")
    notification.save(update_fields=update)
    return notification


def _placeholder_values(work_item, *, scenario: str) -> dict[str, str]:
    """Values for a template's placeholders (NOT-6a): built-ins, pre-chat answers, context
    variables — from the facts the work's owner snapshotted when it was routed."""
    values = {
        "queueName": work_item.queue.name if work_item.queue_id else "",
        "caseTitle": str(work_item.fact("case_title")),
        "channel": str(work_item.fact("channel")),
        "customerName": str(work_item.fact("customer_name")),
        "visitorLanguage": "",
        "visitorDevice": "",
        "waitTime": "",
        "proactive": "",
    }
    if work_item.kind == "conversation":
        named = work_item.fact("values", {})
        for name, value in (named if isinstance(named, dict) else {}).items():
            values[name] = str(value)
        values["customerName"] = str(work_item.fact("customer_name")) or "Visitor"
        values["channel"] = str(work_item.fact("channel"))
        values["visitorLanguage"] = str(work_item.fact("language"))
        values["visitorDevice"] = str(work_item.fact("device"))
        started = parse_datetime(str(work_item.fact("started_at")))
        if started is not None:
            waited = max(int((timezone.now() - started).total_seconds()), 0)
            values["waitTime"] = f"{waited // 60} min {waited % 60:02d} s"
        values["proactive"] = "Yes" if work_item.fact("proactive", False) else "No"
    return values


def render_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` with its value; unknown names become empty (a missing answer shows nothing)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text)


def notification_raise_for_offer(
    *, offer, scenario: str, automatic: bool = False, template: NotificationTemplate | None = None
) -> Notification:
    """Raise the alert for a new offer, rendered from the workstream's template (NOT-2, NOT-4, NOT-6).

    ``automatic``: the offer was accepted on creation (NOT-5): the agent gets a toast that opens
    the new session instead of an alert to answer, and the notification is closed as accepted.
    ``template``: the workstream's template for the scenario, when the caller looked it up already.
    Runs inside the caller's transaction; the frame goes out on commit.
    """
    if template is None:
        template = template_for(workstream=offer.work_item.workstream, scenario=scenario)
    notification = _offer_notification(offer, scenario=scenario, template=template, automatic=automatic)
    notification.save(force_insert=True)
    if automatic:
        notification_transition(notification, to=Notification.Status.ACCEPTED)
    _publish_raised(notification, work_item=offer.work_item)
    return notification


def notifications_raise_for_offers(*, offers: list, scenarios: dict[int, str], templates: dict) -> list[Notification]:
    """Raise the alerts of many new offers at once (a dispatch pass): one insert, and the
    placeholders' records read once for all (NOT-2, NOT-4, NOT-6).

    ``scenarios``: each offer's scenario by offer id; ``templates``: the template by
    ``(workstream id, scenario)``, looked up once by the caller. Runs inside the caller's
    transaction; the frames go out on commit.
    """
    work_items = [offer.work_item for offer in offers]
    prefetch_related_objects(work_items, "queue")  # the rest comes from the items' facts
    notifications = Notification.objects.bulk_create(
        _offer_notification(
            offer,
            scenario=scenarios[offer.pk],
            template=templates[(offer.work_item.workstream_id, scenarios[offer.pk])],
            automatic=False,
        )
        for offer in offers
    )
    for notification, work_item in zip(notifications, work_items, strict=True):
        _publish_raised(notification, work_item=work_item)
    return notifications


def _offer_notification(offer, *, scenario: str, template: NotificationTemplate, automatic: bool) -> Notification:
    """The offer's notification, rendered and not yet saved."""
    work_item = offer.work_item
    values = _placeholder_values(work_item, scenario=scenario)
    fields = [
        {"header": field.header, "value": render_placeholders(field.value, values)}
        for field in (template.fields.all() if template.pk else [])
    ]
    if work_item.fact("proactive", False):
        fields.insert(0, {"header": "Source", "value": "Proactive invitation"})  # PRO-5
    possible_match = work_item.fact("possible_match")
    if possible_match:
        # SUM-5: what an unverified customer typed matches a contact: her name, flagged, nothing more.
        fields.append({"header": _("Possible match"), "value": _("%(name)s — unverified") % {"name": possible_match}})
    return Notification(
        agent_id=offer.agent_id,
        scenario=scenario,
        template=template if template.pk else None,
        kind=NotificationTemplate.Kind.TOAST if automatic else template.kind,
        offer_id=offer.pk,
        work_item_id=work_item.pk,
        title=render_placeholders(template.title, values)[:300],
        fields=fields,
        created_at=offer.created_at,
        expires_at=offer.expires_at,
    )


def _publish_raised(notification: Notification, *, work_item) -> None:
    publish_on_commit(
        agent_group(notification.agent_id),
        {"type": "notification.raised", "notification": notification_payload(notification, work_item=work_item)},
    )


def notification_raise_toast(*, agent_id: int, work_item, scenario: str, extra: dict[str, str]) -> Notification:
    """Raise a toast (NOT-3) for a transfer, escalation or consult, rendered from the workstream's
    template for the scenario (NOT-2): ``extra`` fills ``{fromAgent}``, ``{transferNote}``…

    It stays listed for a page opened within the template's timeout. Runs inside the caller's
    transaction; the frame goes out on commit.
    """
    template = template_for(workstream=work_item.workstream, scenario=scenario)
    values = {**_placeholder_values(work_item, scenario=scenario), **extra}
    now = timezone.now()
    notification = Notification.objects.create(
        agent_id=agent_id,
        scenario=scenario,
        template=template if template.pk else None,
        kind=NotificationTemplate.Kind.TOAST,
        work_item_id=work_item.pk,
        title=render_placeholders(template.title, values)[:300],
        fields=[
            {"header": field.header, "value": render_placeholders(field.value, values)}
            for field in (template.fields.all() if template.pk else [])
        ],
        created_at=now,
        expires_at=now + timedelta(seconds=template.timeout_seconds),
    )
    _publish_raised(notification, work_item=work_item)
    return notification


def notification_close_for_offer(*, offer, status: str) -> Notification | None:
    """Close the offer's notification as the offer ended (accepted, rejected, timed out, withdrawn)."""
    notification = Notification.objects.select_for_update(no_key=True).filter(offer_id=offer.pk).first()
    if notification is None or NOTIFICATION.is_final(notification.status):
        return notification
    status = {"lost": Notification.Status.WITHDRAWN}.get(status, status)
    notification_transition(notification, to=status)
    publish_on_commit(
        agent_group(notification.agent_id),
        {"type": "notification.closed", "notification": notification.pk, "status": status},
    )
    return notification


def notification_close(*, notification_id: int | None, agent_id: int, status: str) -> bool:
    """Close a notification known by id as its offer ended, in one conditional UPDATE (the hot
    path of an accept): only from a state the machine allows the move from. Returns whether it
    was open; a closed or missing one changes nothing."""
    if notification_id is None:
        return False
    status = {"lost": Notification.Status.WITHDRAWN}.get(status, status)
    sources = [source for source in Notification.Status.values if NOTIFICATION.allows(source, status)]
    closed = Notification.objects.filter(pk=notification_id, status__in=sources).update(
        status=status, closed_at=timezone.now()
    )
    if closed:
        publish_on_commit(
            agent_group(agent_id), {"type": "notification.closed", "notification": notification_id, "status": status}
        )
    return bool(closed)


#: Told, inside :func:`notification_display`'s transaction, that an offer's notification was first
#: shown: ``listener(offer_id=, displayed_at=)``. Offers are routing's; it registers the listener
#: in ``RoutingConfig.ready()`` (the shown time decides NOT-8's missed-notification rule).
OfferDisplayedListener = Callable[..., None]
_offer_displayed_listeners: list[OfferDisplayedListener] = []


def register_offer_displayed_listener(listener: OfferDisplayedListener) -> None:
    """Have ``listener`` hear when an offer's notification is first shown; twice keeps one."""
    if listener not in _offer_displayed_listeners:
        _offer_displayed_listeners.append(listener)


@transaction.atomic
def notification_display(*, notification_id: int, agent) -> Notification:
    """A workspace page showed the notification (the acknowledgement NOT-8 relies on). Idempotent."""
    notification = Notification.objects.select_for_update(no_key=True).filter(pk=notification_id, agent=agent).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.status == Notification.Status.SENT:
        notification_transition(notification, to=Notification.Status.DISPLAYED)
        if notification.offer_id:
            for listener in _offer_displayed_listeners:
                listener(offer_id=notification.offer_id, displayed_at=notification.displayed_at)
    return notification
