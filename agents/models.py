"""Agents: their profiles (capacity, presence, skills), the presences they choose from, and the
workspace pages that make them reachable.

The tables keep the names they had in the routing app (issue 11 moved the models without
moving data), so each model names its ``db_table``.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_SESSIONS = 10  # ROU-7: an agent holds at most ten open sessions.


class Presence(models.Model):
    """An agent status. Six base presences ship; custom ones map to a base one (ROU-5)."""

    class Base(models.TextChoices):
        AVAILABLE = "available", _("Available")
        BUSY = "busy", _("Busy")
        BUSY_DND = "busy_dnd", _("Busy – Do not disturb")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")
        INACTIVE = "inactive", _("Inactive")

    name = models.CharField(max_length=64, unique=True)
    base = models.CharField(max_length=16, choices=Base.choices)
    is_system = models.BooleanField(
        default=False, editable=False, help_text=_("Shipped with the product; cannot be deleted.")
    )
    agent_selectable = models.BooleanField(
        default=True, help_text=_("Agents may choose it themselves (Inactive is set by the system).")
    )
    color = models.CharField(max_length=7, default="#8a8886")
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        db_table = "routing_presence"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.color or ""):
            raise ValidationError({"color": _("Use a hex colour such as #107c10.")})
        if self.base == self.Base.INACTIVE and self.agent_selectable:
            raise ValidationError({"agent_selectable": _("Inactive is set by the system only.")})


class Skill(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "routing_skill"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """An agent (or supervisor) of the contact center: capacity, presence, skills, queues."""

    class Role(models.TextChoices):
        AGENT = "agent", _("Agent")
        SUPERVISOR = "supervisor", _("Supervisor")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    capacity = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text=_(
            "How much work this agent holds at once; each conversation uses its workstream's capacity units."
        ),  # ROU-6
    )
    capacity_used = models.PositiveIntegerField(default=0, editable=False)
    session_count = models.PositiveSmallIntegerField(default=0, editable=False)
    presence = models.ForeignKey(Presence, on_delete=models.PROTECT, related_name="+")
    presence_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    presence_before_disconnect = models.ForeignKey(
        Presence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    disconnected_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_work_ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    skills = models.ManyToManyField(Skill, through="AgentSkill", related_name="agents")
    desktop_notifications = models.CharField(
        max_length=16,
        choices=[
            ("template", _("As the template says")),
            ("never", _("Never")),
            ("always", _("Always")),
            ("background", _("When the workspace is in the background")),
        ],
        default="template",
    )
    inbox_sound = models.BooleanField(
        default=False,
        help_text=_("Play a sound on new work and on a customer's message in a conversation not on screen."),
    )
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("The language of this person's workspace and admin center. Empty: their browser's language."),
    )
    avatar = models.FileField(
        upload_to="avatars/",
        max_length=200,
        blank=True,
        help_text=_("A picture the customer sees beside the agent's name in the chat (PNG, JPEG, GIF or WebP)."),
    )

    class Meta:
        db_table = "routing_agentprofile"
        ordering = ["display_name"]
        indexes = [models.Index(fields=["presence"])]
        constraints = [
            models.CheckConstraint(condition=Q(session_count__lte=MAX_SESSIONS), name="agent_at_most_ten_sessions"),
            models.CheckConstraint(condition=Q(capacity_used__gte=0), name="agent_capacity_used_not_negative"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def free_capacity(self) -> int:
        return max(self.capacity - self.capacity_used, 0)

    @property
    def is_supervisor(self) -> bool:
        return self.role == self.Role.SUPERVISOR or self.user.is_staff


class AgentSkill(models.Model):
    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="agent_skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agent_skills")
    proficiency = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(10)], help_text=_("1 (novice) to 10 (expert).")
    )

    class Meta:
        db_table = "routing_agentskill"
        constraints = [models.UniqueConstraint(fields=["agent", "skill"], name="one_proficiency_per_skill")]

    def __str__(self) -> str:
        return f"{self.skill} ({self.proficiency})"


class AgentConnection(models.Model):
    """One open agent workspace page (a WebSocket), the fact behind reachability (ROU-8).

    The socket refreshes ``last_seen_at`` with a heartbeat; a row not seen for
    ``CONNECTION_STALE_SECONDS`` belongs to a server process that died without saying goodbye,
    and no longer counts (the sweep deletes it).
    """

    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "routing_agentconnection"
        indexes = [models.Index(fields=["agent", "last_seen_at"]), models.Index(fields=["last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.agent} on {self.channel_name}"
