"""Workstreams, queues, operating hours, routing rules, work items and offers."""

import re
import zoneinfo
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.scenarios import Scenario


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone (e.g. Europe/Paris)."), params={"value": value})


class Channel(models.TextChoices):
    CHAT = "chat", _("Chat")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice")
    RECORDS = "records", _("Records (cases)")


class OperatingHours(models.Model):
    """A weekly schedule in a time zone, with holidays (ROU-3)."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "operating hours"

    def __str__(self) -> str:
        return f"{self.name} ({self.time_zone})"

    def is_open_at(self, at: datetime) -> bool:
        """Whether the schedule is open at ``at`` (its windows, in its time zone, minus holidays)."""
        local = at.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        if any(holiday.date == local.date() for holiday in self.holidays.all()):
            return False
        now = local.time()
        return any(
            window.weekday == local.weekday()
            and window.opens_at <= now
            and (window.closes_at == time(0) or now < window.closes_at)
            for window in self.windows.all()
        )


class OperatingWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    schedule = models.ForeignKey(OperatingHours, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField(help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        ordering = ["weekday", "opens_at"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def clean(self) -> None:
        if None not in (self.opens_at, self.closes_at) and time(0) != self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": _("Closing time must be after opening time.")})


class Holiday(models.Model):
    schedule = models.ForeignKey(OperatingHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="one_holiday_per_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Queue(models.Model):
    class AssignmentMethod(models.TextChoices):
        HIGHEST_CAPACITY = "highest_capacity", _("Highest free capacity")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LONGEST_IDLE = "longest_idle", _("Longest idle")

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("Which queue agents serve first when several have work: 1 first, 10 last."),  # ROU-9
    )
    assignment_method = models.CharField(
        max_length=20, choices=AssignmentMethod.choices, default=AssignmentMethod.HIGHEST_CAPACITY
    )
    operating_hours = models.ForeignKey(
        OperatingHours,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="queues",
        help_text=_("Empty means always open."),
    )
    out_of_hours_message = models.TextField(
        blank=True,
        default="We're closed right now. Our team will be back during opening hours.",
        help_text=_("What a live-chat customer reads when they write outside the operating hours."),  # LIVE-4
    )
    members = models.ManyToManyField("agents.AgentProfile", through="QueueMembership", related_name="queues")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class QueueMembership(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "agent"], name="one_membership_per_queue")]

    def __str__(self) -> str:
        return f"{self.agent} in {self.queue}"


class Workstream(models.Model):
    """Routing and work-distribution settings for one channel (ROU-1)."""

    class ChatMode(models.TextChoices):
        LIVE = "live", _("Live")
        PERSISTENT = "persistent", _("Persistent")

    class Distribution(models.TextChoices):
        PUSH = "push", _("Push: the system offers work")
        PICK = "pick", _("Pick: agents take work from the queue")

    class WrapUpCapacity(models.TextChoices):
        ALWAYS = "always", _("Always blocked during wrap-up")
        NEVER = "never", _("Released when wrap-up starts")
        TIMED = "timed", _("Blocked for a set time")

    class SkillMatching(models.TextChoices):
        EXACT = "exact", _("Exact match")
        CLOSEST = "closest", _("Exact, then closest match after a wait")
        NONE = "none", _("No skill matching")

    name = models.CharField(max_length=100, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.CHAT)
    chat_mode = models.CharField(
        max_length=16,
        choices=ChatMode.choices,
        blank=True,
        default=ChatMode.LIVE,
        help_text=_(
            "Chat only. Live chats end when the customer leaves; persistent chats continue later "
            "and need signed-in customers (chat sign-in on every widget)."
        ),  # PER-2
    )
    distribution = models.CharField(max_length=8, choices=Distribution.choices, default=Distribution.PUSH)
    capacity_units = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("How much of an agent's capacity one conversation of this workstream uses."),  # ROU-6
    )
    allowed_presences = models.ManyToManyField(
        "agents.Presence",
        related_name="+",
        blank=True,
        help_text=_("Agents in these presences may be assigned work. Empty means Available only."),
    )
    default_queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="default_for")
    fallback_queue = models.ForeignKey(
        Queue,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fallback_for",
        help_text=_("Used when the chosen queue is closed or has no members."),
    )
    auto_accept = models.BooleanField(
        default=False, help_text=_("Agents get the conversation straight away instead of an offer to accept.")
    )  # NOT-5
    agents_may_reject = models.BooleanField(default=True)
    keep_same_agent = models.BooleanField(
        default=False,
        help_text=_("A customer who comes back is offered to the agent they spoke with before."),  # ROU-12
    )
    automatic_presence = models.BooleanField(
        default=False,
        help_text=_(
            "The agent's presence follows their work: Busy when partly used, Do not disturb when full."
        ),  # ROU-8
    )
    wrap_up_capacity = models.CharField(max_length=8, choices=WrapUpCapacity.choices, default=WrapUpCapacity.ALWAYS)
    wrap_up_capacity_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("With “blocked for a set time”: how long.")
    )
    skill_matching = models.CharField(max_length=8, choices=SkillMatching.choices, default=SkillMatching.EXACT)
    closest_match_after_seconds = models.PositiveIntegerField(
        default=60, help_text=_("With closest matching: how long to wait for an exact match.")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_persistent(self) -> bool:
        return self.channel == Channel.CHAT and self.chat_mode == self.ChatMode.PERSISTENT

    def clean(self) -> None:
        errors = {}
        if self.channel == Channel.CHAT and not self.chat_mode:
            errors["chat_mode"] = _("Choose live or persistent for a chat workstream.")
        if self.channel != Channel.CHAT:
            self.chat_mode = ""
        if self.is_persistent and not self.keep_same_agent:
            errors["keep_same_agent"] = _("Persistent chat keeps the same agent for the whole conversation.")  # PER-8
        if self.wrap_up_capacity == self.WrapUpCapacity.TIMED and not self.wrap_up_capacity_seconds:
            errors["wrap_up_capacity_seconds"] = _("Say how many seconds capacity stays blocked.")
        if self.default_queue_id and self.fallback_queue_id == self.default_queue_id:
            errors["fallback_queue"] = _("The fallback queue must differ from the default queue.")
        if errors:
            raise ValidationError(errors)


class WorkstreamTemplate(models.Model):
    """Which notification template a workstream uses for a scenario (ROU-1, NOT-2)."""

    workstream = models.ForeignKey(Workstream, on_delete=models.CASCADE, related_name="templates")
    scenario = models.CharField(max_length=32, choices=Scenario.choices)
    template = models.ForeignKey("notifications.NotificationTemplate", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workstream", "scenario"], name="one_template_per_scenario")]

    def __str__(self) -> str:
        return f"{self.workstream}: {self.get_scenario_display()}"

    def clean(self) -> None:
        if self.template_id and self.scenario and self.template.scenario != self.scenario:
            raise ValidationError({"template": _("This template is for another scenario.")})


class RoutingRule(models.Model):
    """Ordered rule: when every condition holds, send to ``queue`` and attach ``skills`` (ROU-2).

    ``conditions`` is a list of ``{"source", "name", "operator", "value"}``; see
    :data:`CONDITION_SOURCES` and :data:`CONDITION_OPERATORS`.
    """

    workstream = models.ForeignKey(Workstream, on_delete=models.CASCADE, related_name="routing_rules")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=100)
    conditions = models.JSONField(default=list, blank=True)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    skills = models.ManyToManyField("agents.Skill", blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    CONDITION_SOURCES = {
        "context": "a verified context variable: a claim of the signed sign-in token (name required)",
        "context_claim": "any context variable, also one an anonymous page sent (unverified; name required)",
        "prechat": "a pre-chat answer (unverified; name = question name)",
        "language": "the visitor's language (unverified)",
        "authenticated": "whether the visitor is authenticated (value true/false)",
        "url": "the page URL (unverified)",
        "sms_number": "the SMS number",
        "case": "a case field (name = field)",
    }
    #: Sources whose value the customer or their browser chooses: a rule on them routes whoever
    #: claims the value, so the admin center marks it (ROU-2, SEC: claims are not identity).
    UNVERIFIED_SOURCES = frozenset({"context_claim", "prechat", "language", "url"})
    CONDITION_OPERATORS = ("equals", "not_equals", "contains", "starts_with", "regex", "in", "exists")

    class Meta:
        ordering = ["workstream", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def unverified_sources(self) -> list[str]:
        """The sources of this rule's conditions that hold unverified values (empty: verified facts only)."""
        conditions = self.conditions if isinstance(self.conditions, list) else []
        sources = [c.get("source") for c in conditions if isinstance(c, dict)]
        return sorted({source for source in sources if source in self.UNVERIFIED_SOURCES})

    def clean(self) -> None:
        problems = validate_conditions(self.conditions)
        if problems:
            raise ValidationError({"conditions": problems})
        if self.queue_id and not Queue.objects.filter(pk=self.queue_id, is_active=True).exists():
            raise ValidationError({"queue": _("This queue is inactive.")})


def validate_conditions(conditions) -> list[str]:
    """Return the problems in a routing rule's conditions (empty list when valid)."""
    if not isinstance(conditions, list):
        return [str(_("Conditions must be a list of objects."))]
    problems = []
    for index, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            problems.append(f"Condition {index}: must be an object.")
            continue
        unknown_keys = set(condition) - {"source", "name", "operator", "value"}
        if unknown_keys:
            problems.append(f"Condition {index}: unknown keys {', '.join(sorted(unknown_keys))}.")
        source = condition.get("source")
        operator = condition.get("operator")
        if not isinstance(source, str) or not isinstance(operator, str):
            problems.append(f"Condition {index}: source and operator are text.")
            continue
        if source not in RoutingRule.CONDITION_SOURCES:
            problems.append(f"Condition {index}: source must be one of {', '.join(RoutingRule.CONDITION_SOURCES)}.")
        if source in {"context", "context_claim", "prechat", "case"} and not condition.get("name"):
            problems.append(f"Condition {index}: a {source} condition needs a name.")
        if operator not in RoutingRule.CONDITION_OPERATORS:
            problems.append(f"Condition {index}: operator must be one of {', '.join(RoutingRule.CONDITION_OPERATORS)}.")
        value = condition.get("value")
        if operator == "in" and not isinstance(value, list):
            problems.append(f"Condition {index}: “in” needs a list value.")
        if operator == "regex":
            try:
                re.compile(str(value))
            except re.error as exc:
                problems.append(f"Condition {index}: invalid regular expression ({exc}).")
        if operator not in {"exists", "in"} and operator in RoutingRule.CONDITION_OPERATORS and value is None:
            problems.append(f"Condition {index}: a value is required.")
    return problems


class WorkItem(models.Model):
    """Anything routed to an agent: a conversation or a case (``kind``).

    The link is owned by the work (``Conversation.work_item``, ``Case.work_item``, higher apps):
    routing knows work items, not conversations (issue 11). What routing and notifications need
    of the work the owner sets when it enqueues: the notification ``scenario`` and ``facts``, a
    snapshot of what a notification and an event show (see :data:`FACTS`).
    """

    class Kind(models.TextChoices):
        CONVERSATION = "conversation", _("Conversation")
        CASE = "case", _("Case")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        OFFERED = "offered", _("Offered")
        ASSIGNED = "assigned", _("Assigned")
        PARKED = "parked", _("Parked")
        DONE = "done", _("Done")

    workstream = models.ForeignKey(Workstream, on_delete=models.PROTECT, related_name="work_items")
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.PROTECT, related_name="work_items")
    kind = models.CharField(max_length=16, choices=Kind.choices, editable=False)
    scenario = models.CharField(
        max_length=32, choices=Scenario.choices, editable=False, help_text=_("How the offer is announced.")
    )  # NOT-1
    facts = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, editable=False)
    skills = models.ManyToManyField("agents.Skill", blank=True, related_name="+")
    capacity_units = models.PositiveSmallIntegerField(default=10)
    agent = models.ForeignKey(
        "agents.AgentProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_items",
        editable=False,
    )
    previous_agent = models.ForeignKey(
        "agents.AgentProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    enqueued_at = models.DateTimeField(default=timezone.now, editable=False)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    closest_match_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("From this moment, agents with close but not exact skills may get this work."),  # ROU-4
    )
    capacity_release_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("Timed wrap-up: capacity is released at this moment.")
    )
    holds_capacity = models.BooleanField(default=False, editable=False)
    keep_agent_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("A returning conversation waits for its previous agent until this moment."),  # ROU-12, PER-8
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["enqueued_at", "pk"]
        indexes = [
            models.Index(fields=["status", "queue", "enqueued_at"], name="workitem_queue_order"),
            models.Index(fields=["agent", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["assigned", "parked"]) | Q(agent__isnull=False),
                name="assigned_work_item_has_agent",
            ),
            models.CheckConstraint(condition=Q(capacity_units__gte=1), name="work_item_takes_capacity"),
        ]

    def __str__(self) -> str:
        return f"Work item {self.pk} ({self.get_kind_display().lower()})"

    def fact(self, name: str, default=""):
        """One fact of the owner's snapshot (:data:`FACTS`)."""
        value = (self.facts or {}).get(name, default) if isinstance(self.facts, dict) else default
        return default if value is None else value

    @property
    def references(self) -> dict:
        """Which piece of work this is, for events and the API: e.g. ``{"conversation": 7, "case": None}``."""
        refs = self.fact("refs", {})
        return {"conversation": refs.get("conversation"), "case": refs.get("case")} if isinstance(refs, dict) else {}


#: The facts a work item's owner snapshots when it enqueues (``WorkItem.facts``): ``refs`` (the
#: owner's ids, for events and the API), ``url`` (the workspace page the agent opens), and what a
#: notification shows (NOT-6a): ``customer_name``, ``channel``, ``case_title``, ``language``,
#: ``device``, ``started_at`` (ISO time, for the wait), ``proactive`` (PRO-5), ``possible_match``
#: (SUM-5: an unverified customer's matching contact), ``values`` (pre-chat answers and context
#: variables by name, for a template's placeholders).
FACTS = (
    "refs",
    "url",
    "customer_name",
    "channel",
    "case_title",
    "language",
    "device",
    "started_at",
    "proactive",
    "possible_match",
    "values",
)


class Offer(models.Model):
    """One attempt to give a work item to one agent; shown to them as a notification."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        TIMED_OUT = "timed_out", _("Timed out")
        LOST = "lost", _("Lost (another agent won)")

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(help_text=_("When the agent's time to answer the offer runs out."))  # NOT-6
    displayed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the agent's workspace showed the offer."),  # NOT-8
    )
    reroute_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("If no workspace showed the offer, the work goes to another agent at this moment."),  # NOT-8
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("The agent handed the accepted work back (a transfer to a queue)."),  # ROU-14
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="offer_pending_deadline"),
            models.Index(fields=["agent", "status"]),
        ]
        constraints = [
            # ROU-10: one holder at a time; a transfer to a queue releases the accepted offer first.
            models.UniqueConstraint(
                fields=["work_item"],
                condition=Q(status="accepted", released_at__isnull=True),
                name="one_accepted_offer_per_work_item",
            ),
            models.UniqueConstraint(
                fields=["work_item"], condition=Q(status="pending"), name="one_pending_offer_per_work_item"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="offer_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} of {self.work_item} to {self.agent}"
