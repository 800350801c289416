"""What the admin center's start page shows: what is left to set up, and what is happening now.

The project package sits above every app, so it may read each app's models; it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from agents.models import AgentProfile, Presence
from notifications.models import NotificationTemplate
from routing.models import Queue, QueueMembership, WorkItem, Workstream
from routing.selectors import WAITING_STATUSES
from widgets.models import AllowedDomain, ChatWidget


@dataclass(frozen=True)
class ChecklistItem:
    label: Promise
    done: bool
    url: str
    action: Promise


@dataclass(frozen=True)
class LiveCounts:
    agents_available: int
    conversations_waiting: int
    longest_wait_since: datetime | None
    url: str

    @property
    def longest_wait_seconds(self) -> int | None:
        if self.longest_wait_since is None:
            return None
        return max(0, int((timezone.now() - self.longest_wait_since).total_seconds()))


def setup_checklist() -> list[ChecklistItem]:
    """The five things a new contact center needs before a first chat can be routed. Five queries."""
    active_queues = Queue.objects.filter(is_active=True)
    has_widget = ChatWidget.objects.filter(is_active=True, pk__in=AllowedDomain.objects.values("widget_id")).exists()
    has_workstream = Workstream.objects.filter(is_active=True, default_queue__in=active_queues).exists()
    has_agent = (
        AgentProfile.objects.filter(user__is_active=True)
        .filter(Exists(QueueMembership.objects.filter(agent=OuterRef("pk"), queue__is_active=True)))
        .exists()
    )
    has_hours = active_queues.filter(operating_hours__windows__isnull=False).exists()
    has_template = NotificationTemplate.objects.exists()
    row = {
        "has_widget": has_widget,
        "has_workstream": has_workstream,
        "has_agent": has_agent,
        "has_hours": has_hours,
        "has_template": has_template,
    }

    def add(name: str) -> str:
        return reverse(f"admin:{name}_add")

    return [
        ChecklistItem(
            _("A chat widget with an allowed domain"),
            row["has_widget"],
            reverse("admin:widgets_chatwidget_changelist"),
            _("Set up a chat widget"),
        ),
        ChecklistItem(
            _("A workstream that sends chats to a queue"),
            row["has_workstream"],
            add("routing_workstream"),
            _("Add a workstream"),
        ),
        ChecklistItem(
            _("An agent who can take chats (a member of an active queue)"),
            row["has_agent"],
            reverse("admin:people_agent_create"),
            _("Add an agent"),
        ),
        ChecklistItem(
            _("Operating hours on a queue"),
            row["has_hours"],
            add("routing_operatinghours"),
            _("Add operating hours"),
        ),
        ChecklistItem(
            _("A notification template"),
            row["has_template"],
            add("notifications_notificationtemplate"),
            _("Add a notification template"),
        ),
    ]


def live_counts() -> LiveCounts:
    """Agents available now, work waiting for an agent and since when the oldest waits. Two queries."""
    waiting = (
        WorkItem.objects.filter(status__in=WAITING_STATUSES)
        .order_by()
        .aggregate(count=Count("pk"), oldest=Min("enqueued_at"))
    )
    available = AgentProfile.objects.filter(user__is_active=True, presence__base=Presence.Base.AVAILABLE).count()
    return LiveCounts(
        agents_available=available,
        conversations_waiting=waiting["count"],
        longest_wait_since=waiting["oldest"],
        url=reverse("conversations:supervisor"),
    )
