"""Reads of the notifications app shared by services, pages and consumers."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django.db.models import Q
from django.utils import timezone

from notifications.models import AgentBanner, Notification, NotificationTemplate
from notifications.scenarios import NO_REJECT_SCENARIOS

#: chooser(workstream, scenario) → the template the workstream's admin chose for the scenario,
#: with its fields prefetched, or None. Workstreams are routing's: routing registers it in
#: ``RoutingConfig.ready()``, as notifications sits below routing.
TemplateChooser = Callable[[Any, str], NotificationTemplate | None]
_template_chooser: list[TemplateChooser] = []


def register_template_chooser(chooser: TemplateChooser) -> None:
    """Let the app that owns workstreams say which template each uses per scenario (NOT-2)."""
    _template_chooser[:] = [chooser]


def default_template(*, scenario: str) -> NotificationTemplate:
    """The scenario's default template, with its fields (NOT-6a); the documented defaults if none."""
    template = (
        NotificationTemplate.objects.filter(scenario=scenario, is_default=True).prefetch_related("fields").first()
    )
    if template is None:  # an admin deleted the default: keep working with the documented defaults
        template = NotificationTemplate(scenario=scenario, name=scenario, title=scenario.replace("_", " ").capitalize())
    return template


def template_for(*, workstream: Any, scenario: str) -> NotificationTemplate:
    """The workstream's template for the scenario, else the scenario's default (NOT-2, NOT-6a)."""
    chosen = _template_chooser[0](workstream, scenario) if _template_chooser else None
    return chosen if chosen is not None else default_template(scenario=scenario)


#: reader(work_item_ids) → {id: work item}, each with its workstream: what a notification shows
#: of its work (the conversation, the page to open, whether agents may reject). Work items are
#: routing's and a notification keeps only their id: routing registers it in ``RoutingConfig.ready()``.
WorkItemReader = Callable[[Collection[int]], dict[int, Any]]
_work_item_reader: list[WorkItemReader] = []


def register_work_item_reader(reader: WorkItemReader) -> None:
    """Let the app that owns work items read them back for notifications; twice keeps the last."""
    _work_item_reader[:] = [reader]


def work_items_read(work_item_ids: Collection[int]) -> dict[int, Any]:
    """The work items of these ids, by id, in one query (none for no ids)."""
    return _work_item_reader[0](work_item_ids) if work_item_ids else {}


def notification_payload(notification: Notification, *, work_item: Any = None) -> dict:
    """What the workspace shows for a notification (the frame of ``notification.raised``).

    ``work_item``: the notification's work item with its workstream, when the caller holds it;
    otherwise it is read (one query)."""
    if work_item is None and notification.work_item_id:
        work_item = work_items_read([notification.work_item_id]).get(notification.work_item_id)
    template = notification.template
    return {
        "id": notification.pk,
        "offer": notification.offer_id,
        "scenario": notification.scenario,
        "kind": notification.kind,
        "title": notification.title,
        "icon": template.icon if template else "chat",
        "fields": notification.fields,
        "accept_label": template.accept_label if template else "Accept",
        # NOT-5, NOT-14: a workstream that forbids rejecting, or a case assignment, hides the
        # button whatever the template says.
        "show_reject": (bool(template.show_reject) if template else True)
        and notification.scenario not in NO_REJECT_SCENARIOS
        and not (work_item is not None and not work_item.workstream.agents_may_reject),
        "show_timeout": bool(template.show_timeout) if template else True,
        "desktop_mode": template.desktop_mode if template else "background",
        "timeout_seconds": template.timeout_seconds if template else 120,
        "expires_at": notification.expires_at.isoformat() if notification.expires_at else None,
        "conversation": work_item.references.get("conversation") if work_item is not None else None,
        "url": (work_item.fact("url") or None) if work_item is not None else None,
        "status": notification.status,
    }


def pending_notifications(*, agent_id: int):
    """The agent's notifications still waiting for an answer (shown again after a page load)."""
    return (
        Notification.objects.filter(
            agent_id=agent_id,
            status__in=[Notification.Status.SENT, Notification.Status.DISPLAYED],
            expires_at__gt=timezone.now(),
        )
        # A toast a page has shown is done (NOT-3); an alert waits for its answer.
        .exclude(Q(kind=NotificationTemplate.Kind.TOAST) & Q(status=Notification.Status.DISPLAYED))
        .select_related("template")
        .order_by("created_at", "pk")
    )


def pending_notification_payloads(*, agent_id: int) -> list[dict]:
    """The agent's waiting notifications as ``notification.raised`` carries them, oldest first.
    Two queries whatever their number: the notifications, then their work items."""
    notifications = list(pending_notifications(agent_id=agent_id))
    work_items = work_items_read({n.work_item_id for n in notifications if n.work_item_id})
    return [notification_payload(n, work_item=work_items.get(n.work_item_id)) for n in notifications]


def has_open_banner(*, agent_id: int) -> bool:
    """Whether a presence-changing alert still waits for a person to reset the presence (NOT-10..12)."""
    return AgentBanner.objects.filter(agent_id=agent_id, cleared_at__isnull=True).exists()
