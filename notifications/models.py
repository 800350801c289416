"""Notification templates, notifications to agents, banners and the alert switches."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.scenarios import NO_REJECT_SCENARIOS, TOAST_SCENARIOS, Scenario

PLACEHOLDER = re.compile(r"{([A-Za-z_][\w.-]*)}")
BUILTIN_PLACEHOLDERS = (
    "customerName",
    "caseTitle",
    "queueName",
    "visitorLanguage",
    "visitorDevice",
    "channel",
    "waitTime",
    "proactive",
    "transferNote",
    "fromAgent",
)


def validate_placeholders(text: str) -> None:
    """Braces must pair up around a name: ``{customerName}``, ``{order_id}``."""
    stripped = PLACEHOLDER.sub("", text or "")
    if "{" in stripped or "}" in stripped:
        raise ValidationError(_("Placeholders are written {name} with letters, digits, _ . or -; check the braces."))


class NotificationTemplate(models.Model):
    """What a scenario's notification shows and how it behaves (NOT-2, NOT-6, NOT-6a)."""

    class Kind(models.TextChoices):
        ALERT = "alert", _("Alert (Accept / Reject)")
        TOAST = "toast", _("Toast (information)")

    class DesktopMode(models.TextChoices):
        NEVER = "never", _("Never")
        ALWAYS = "always", _("Always")
        BACKGROUND = "background", _("When the workspace is in the background")

    class Icon(models.TextChoices):
        CHAT = "chat", _("Chat bubble")
        SMS = "sms", _("Phone message")
        VOICE = "voice", _("Phone")
        CASE = "case", _("Case")
        TASK = "task", _("Task")
        TRANSFER = "transfer", _("Transfer")
        ESCALATION = "escalation", _("Escalation")
        BOT = "bot", _("Bot")

    name = models.CharField(max_length=100, unique=True)
    scenario = models.CharField(max_length=32, choices=Scenario.choices)
    is_default = models.BooleanField(default=False, help_text=_("The scenario's default template."))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ALERT)
    title = models.CharField(max_length=200, validators=[validate_placeholders])
    icon = models.CharField(max_length=16, choices=Icon.choices, default=Icon.CHAT)
    accept_label = models.CharField(max_length=40, default="Accept")
    show_reject = models.BooleanField(default=True)
    auto_accept = models.BooleanField(
        default=False, help_text=_("The agent gets the work straight away, without Accept or Reject.")
    )  # NOT-5
    timeout_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(5), MaxValueValidator(3600)],
        help_text=_("How long the agent has to accept before the work goes to someone else."),  # NOT-6
    )
    show_timeout = models.BooleanField(
        default=True,
        help_text=_("Show the agent the time left. The time limit applies either way."),  # NOT-6
    )
    desktop_mode = models.CharField(max_length=16, choices=DesktopMode.choices, default=DesktopMode.BACKGROUND)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scenario", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario"],
                condition=Q(is_default=True),
                name="one_default_template_per_scenario",
                violation_error_message=_("This scenario already has a default template."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.scenario in TOAST_SCENARIOS and self.kind != self.Kind.TOAST:
            errors["kind"] = _("Transfers, escalations, consults and work items use toasts.")  # NOT-3
        if self.scenario not in TOAST_SCENARIOS and self.kind != self.Kind.ALERT:
            errors["kind"] = _("Incoming conversations and case assignments use alerts.")  # NOT-4
        if self.scenario in NO_REJECT_SCENARIOS and self.show_reject:
            errors["show_reject"] = _("A case assignment cannot be rejected.")  # NOT-14
        if self.kind == self.Kind.TOAST and self.auto_accept:
            errors["auto_accept"] = _("Toasts have nothing to accept.")
        if errors:
            raise ValidationError(errors)


class NotificationTemplateField(models.Model):
    """One header + value line of a notification, the value with placeholders (NOT-6a)."""

    template = models.ForeignKey(NotificationTemplate, on_delete=models.CASCADE, related_name="fields")
    order = models.PositiveSmallIntegerField(default=0)
    header = models.CharField(max_length=100)
    value = models.CharField(max_length=300, validators=[validate_placeholders])

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.header}: {self.value}"


class Notification(models.Model):
    """A notification raised to one agent, with its template rendered at raise time."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        DISPLAYED = "displayed", _("Displayed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        TIMED_OUT = "timed_out", _("Timed out")
        DISMISSED = "dismissed", _("Dismissed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="notifications")
    scenario = models.CharField(max_length=32, choices=Scenario.choices)
    template = models.ForeignKey(NotificationTemplate, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=NotificationTemplate.Kind.choices)
    # Routing's offer and work item, as plain ids: routing sits above notifications, so the
    # notification does not point at them (issue 11); routing reads them back through the
    # reader it registers (``selectors.register_work_item_reader``). Offers and work items are
    # never deleted.
    offer_id = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    work_item_id = models.BigIntegerField(null=True, blank=True, db_index=True, editable=False)
    title = models.CharField(max_length=300)
    fields = models.JSONField(default=list, help_text=_("Rendered [{header, value}] lines."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENT, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    displayed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["agent", "status"])]

    def __str__(self) -> str:
        return f"{self.get_scenario_display()} to {self.agent}: {self.title}"


class AgentBanner(models.Model):
    """A banner at the top of the agent's dashboard after a presence-changing alert."""

    class Kind(models.TextChoices):
        MISSED_NOTIFICATION = "missed_notification", _("Missed notification")
        REJECTED = "rejected", _("Rejected work item")
        MAX_SESSIONS = "max_sessions", _("Maximum sessions reached")

    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="banners")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "kind"], condition=Q(cleared_at__isnull=True), name="one_open_banner_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.agent}"


class AlertSettings(models.Model):
    """The organisation's switches for presence-changing alerts (NOT-10..12). One row."""

    missed_notification_enabled = models.BooleanField(
        default=True,
        help_text=_(
            "An agent who lets an incoming conversation time out becomes Inactive and gets no more work until reset."
        ),  # NOT-10
    )
    agent_reject_enabled = models.BooleanField(
        default=True,
        help_text=_("An agent who rejects work becomes Do not disturb and gets no more work until reset."),  # NOT-11
    )
    max_sessions_enabled = models.BooleanField(
        default=True,
        help_text=_("An agent with 10 open sessions becomes Do not disturb until some close."),  # NOT-12
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="alert_settings_single_row")]

    def __str__(self) -> str:
        return "Alert settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "AlertSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings
