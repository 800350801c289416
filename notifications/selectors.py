"""Reads of the notifications app shared by services, pages and consumers."""

from __future__ import annotations

from notifications.models import AgentBanner, Notification, NotificationTemplate
from notifications.scenarios import NO_REJECT_SCENARIOS
from routing.models import Workstream, WorkstreamTemplate


def template_for(*, workstream: Workstream, scenario: str) -> NotificationTemplate:
    """The workstream's template for the scenario, else the scenario's default (NOT-2, NOT-6a)."""
    chosen = (
        WorkstreamTemplate.objects.filter(workstream=workstream, scenario=scenario)
        .select_related("template")
        .prefetch_related("template__fields")
        .first()
    )
    if chosen is not None:
        return chosen.template
    template = (
        NotificationTemplate.objects.filter(scenario=scenario, is_default=True).prefetch_related("fields").first()
    )
    if template is None:  # an admin deleted the default: keep working with the documented defaults
        template = NotificationTemplate(scenario=scenario, name=scenario, title=scenario.replace("_", " ").capitalize())
    return template


def notification_payload(notification: Notification) -> dict:
    """What the workspace shows for a notification (the frame of ``notification.raised``)."""
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
        and not (notification.work_item_id and not notification.work_item.workstream.agents_may_reject),
        "show_timeout": bool(template.show_timeout) if template else True,
        "desktop_mode": template.desktop_mode if template else "background",
        "timeout_seconds": template.timeout_seconds if template else 120,
        "expires_at": notification.expires_at.isoformat() if notification.expires_at else None,
        "conversation": notification.work_item.conversation_id if notification.work_item_id else None,
        "url": (
            f"/workspace/conversations/{notification.work_item.conversation_id}/"
            if notification.work_item_id and notification.work_item.conversation_id
            else None
        ),
        "status": notification.status,
    }


def pending_notifications(*, agent_id: int):
    """The agent's notifications still waiting for an answer (shown again after a page load)."""
    from django.db.models import Q
    from django.utils import timezone

    return (
        Notification.objects.filter(
            agent_id=agent_id,
            status__in=[Notification.Status.SENT, Notification.Status.DISPLAYED],
            expires_at__gt=timezone.now(),
        )
        # A toast a page has shown is done (NOT-3); an alert waits for its answer.
        .exclude(Q(kind=NotificationTemplate.Kind.TOAST) & Q(status=Notification.Status.DISPLAYED))
        .select_related("template", "work_item__workstream")
        .order_by("created_at", "pk")
    )


def has_open_banner(*, agent_id: int) -> bool:
    """Whether a presence-changing alert still waits for a person to reset the presence (NOT-10..12)."""
    return AgentBanner.objects.filter(agent_id=agent_id, cleared_at__isnull=True).exists()
