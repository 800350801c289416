"""Conversations, their audit trail, messages and agent sessions, and a workstream's chat settings."""

import re
import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.self_service_kinds import self_service_kind_choices
from core.throttles import rate_is_valid

MAX_MESSAGE_BYTES = 28 * 1024  # CONV-2a: at most 28 KB of text (UTF-8)
MAX_CONTEXT_VARIABLES = 100  # WID-6


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACTIVE = "active", _("Active")
        WAITING = "waiting", _("Waiting")
        WRAP_UP = "wrap_up", _("Wrap-up")
        CLOSED = "closed", _("Closed")

    class Channel(models.TextChoices):
        LIVE_CHAT = "live_chat", _("Live chat")
        PERSISTENT_CHAT = "persistent_chat", _("Persistent chat")
        SMS = "sms", _("SMS")
        VOICE = "voice", _("Voice")
        CUSTOM = "custom", _("Custom channel")

    class Origin(models.TextChoices):
        WIDGET = "widget", _("Chat widget")
        PROACTIVE = "proactive", _("Proactive invitation")
        SMS = "sms", _("SMS")
        VOICE = "voice", _("Voice call")
        API = "api", _("API")
        BOT = "bot", _("Bot hand-over")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.WIDGET)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, editable=False)
    workstream = models.ForeignKey("routing.Workstream", on_delete=models.PROTECT, related_name="conversations")
    queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    skills = models.ManyToManyField("agents.Skill", blank=True, related_name="conversations")
    # Owned by the conversation (issue 11: routing knows work items, not conversations); set once,
    # when it is routed (a bot's conversation has none until its hand-over).
    work_item = models.OneToOneField(
        "routing.WorkItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversation",
        editable=False,
    )
    tags = models.ManyToManyField("conversations.Tag", blank=True, related_name="conversations")
    agent = models.ForeignKey(
        "agents.AgentProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
        help_text=_("The agent who holds it now (or last held it)."),
    )
    widget = models.ForeignKey(
        "widgets.ChatWidget", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    visitor = models.ForeignKey(
        "widgets.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    case = models.ForeignKey(
        "customers.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # A claim is not an identity: a contact whose email or phone matches what an unauthenticated
    # customer typed is only suggested to the agent, who confirms it (SUM-5). ``contact`` holds
    # only verified links (a signed token, a channel identity) and the agent's own.
    suggested_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("A possible match from the customer's unverified details; the agent confirms it."),
    )
    suggested_by = models.CharField(
        max_length=32, blank=True, help_text=_("Which unverified detail matched (email, mobile phone).")
    )
    # What the customer told us and what the host page sent (WID-6, WID-11, WID-13).
    prechat_answers = models.JSONField(default=dict, blank=True)
    context_variables = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    authenticated = models.BooleanField(
        default=False, help_text=_("Yes only when the customer signed in with a verified token.")
    )  # AUTH-3
    auth_subject = models.CharField(max_length=255, blank=True)
    browser = models.CharField(max_length=100, blank=True)
    operating_system = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=200, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True, help_text=_("SMS/voice: E.164 number."))
    phone_channel = models.ForeignKey(
        "conversations.PhoneChannel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        help_text=_("SMS/voice: the number the customer texted or called."),
    )
    bot_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The bot that answers first, before an agent."),  # ROU-15
    )
    # CONV-3 / SUM-6
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    first_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_message_seq = models.PositiveIntegerField(default=0, editable=False)
    last_customer_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Deadlines (design.md, "Time"): written with the state they guard.
    customer_left_at = models.DateTimeField(null=True, blank=True, editable=False)
    auto_close_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: SMS: ended when nobody (customer or agent) writes until then; moved by every message.
    inactive_close_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: The disposition the agent chose when ending it (issue 15), one of its workstream's codes.
    wrap_up_code = models.ForeignKey(
        "conversations.WrapUpCode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "queue"]),
            models.Index(fields=["agent", "status"]),
            models.Index(fields=["contact", "-created_at"]),
            # Lists and the search are newest first (Meta.ordering): with a LIMIT, PostgreSQL walks
            # this index and stops at a page of matches instead of sorting every match (issue 15).
            models.Index(fields=["-created_at", "-id"], name="conversation_newest_first"),
            models.Index(
                fields=["auto_close_at"], condition=Q(auto_close_at__isnull=False), name="conversation_auto_close"
            ),
            models.Index(
                fields=["inactive_close_at"],
                condition=Q(inactive_close_at__isnull=False),
                name="conversation_inactive_close",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.pk}"

    @property
    def wait_seconds(self) -> float | None:
        """From start until first assigned to an agent (SUM-6)."""
        if self.first_assigned_at is None:
            return None
        return (self.first_assigned_at - self.created_at).total_seconds()

    @property
    def is_persistent(self) -> bool:
        return self.channel == self.Channel.PERSISTENT_CHAT


class ConversationEvent(models.Model):
    """The audit trail: every transition and notable act, with who and when (CONV-1)."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Status change")
        ASSIGNED = "assigned", _("Assigned")
        TRANSFERRED = "transferred", _("Transferred")
        ESCALATED = "escalated", _("Escalated")
        LINKED = "linked", _("Record linked")
        SKILLS_CHANGED = "skills_changed", _("Skills changed")
        WRAP_UP_CODE = "wrap_up_code", _("Wrap-up code chosen")
        TAGS_CHANGED = "tags_changed", _("Tags changed")

    class Actor(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SUPERVISOR = "supervisor", _("Supervisor")
        SYSTEM = "system", _("System")
        BOT = "bot", _("Bot")
        ADMIN = "admin", _("Admin")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TRANSITION)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=1000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.conversation}: {self.from_status} → {self.to_status} by {self.actor}"


class Message(models.Model):
    """A message, stored before it is delivered, with its per-conversation sequence number."""

    class Sender(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")
        BOT = "bot", _("Bot")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=16, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(help_text=_("Plain text; shown as typed, never as HTML."))  # SEC-2
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    #: PostgreSQL only (null on SQLite): the text's lexemes in its conversation's language's
    #: text-search configuration, written by a trigger on insert and on a change of the text, and
    #: GIN-indexed; both made by the migration ``message_search_vector`` (conversations.search).
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="one_message_per_client_id",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
            # A backstop in characters; the service refuses over 28 KB in bytes (CONV-2a).
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), MAX_MESSAGE_BYTES), name="message_at_most_28kb"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender}: {self.text[:40]}"


class Attachment(models.Model):
    """The file a message carries (issue 16): stored with its message in one transaction.

    The file's type is what its content is (``conversations.attachments.attachment_sniff``), never
    its name's or the browser's claim; it is served only through a signed, expiring link.
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="attachment")
    #: Names the file in signed links and in storage; nothing a client sent.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(upload_to="attachments/%Y/%m/", max_length=200)
    name = models.CharField(max_length=200, help_text=_("The file's name as the sender chose it."))
    size = models.PositiveBigIntegerField(help_text=_("In bytes."))
    content_type = models.CharField(max_length=100, help_text=_("What the content is, read from the file itself."))
    is_image = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class ConversationParticipant(models.Model):
    """Someone brought into a conversation besides its holder: a consultant (ROU-15).

    A consultant reads and writes in the conversation without holding it: no capacity, no
    session, and the holder stays its owner.
    """

    class Role(models.TextChoices):
        CONSULTANT = "consultant", _("Consultant")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="participations")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CONSULTANT)
    invited_by = models.ForeignKey(
        "agents.AgentProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(default=timezone.now, editable=False)
    left_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "agent"], condition=Q(left_at__isnull=True), name="one_open_participation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} in {self.conversation} ({self.get_role_display()})"


class Session(models.Model):
    """An open tab of work in an agent's workspace, one per accepted work item (ROU-7)."""

    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="sessions")
    work_item = models.ForeignKey("routing.WorkItem", on_delete=models.CASCADE, related_name="sessions")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "work_item"], condition=Q(closed_at__isnull=True), name="one_open_session_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"Session {self.pk} of {self.agent}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class BotClient(models.Model):
    """A system that uses the bot API (ROU-15) with a key of its own, not an agent's token.

    It acts as ``user`` (the bot a conversation records as its ``bot_user``), only in the
    workstreams it is granted, and within its own rate (SEC-1). Only a hash of its key is
    stored: the admin center shows the key once, when it is issued.
    """

    name = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bot_client", editable=False
    )
    workstreams = models.ManyToManyField(
        "routing.Workstream",
        related_name="bot_clients",
        blank=True,
        help_text=_("The workstreams this bot may take conversations in and act in."),
    )
    key_prefix = models.CharField(max_length=8, editable=False, help_text=_("The first characters of the key."))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    throttle_rate = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("Requests allowed per period for this bot, e.g. 120/min; empty uses BOT_API_THROTTLE_RATE."),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # The developer API's throttle (core.throttles) counts a bot by its key, at its own rate.
    throttle_scope = "bot"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def throttle_ident(self) -> str:
        return self.key_hash[:32]

    def clean(self) -> None:

        if self.throttle_rate and not rate_is_valid(self.throttle_rate):
            raise ValidationError({"throttle_rate": _("Write a rate like 120/min: a number, then s, min, h or day.")})


class CustomerConnection(models.Model):
    """One open customer socket that follows a conversation (LIVE-3): a browser tab of the widget.

    The customer is in the chat while at least one live row exists; the last one going starts
    the grace period. The server process holding the socket refreshes ``last_seen_at`` every
    ``SOCKET_KEEPALIVE_SECONDS``; a row not seen for ``CUSTOMER_SOCKET_STALE`` belongs to a
    process that died without running any disconnect, and the sweep deletes it.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="customer_connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "last_seen_at"], name="customer_conn_conv_seen"),
            models.Index(fields=["last_seen_at"], name="customer_conn_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} on {self.channel_name}"


# The channel adapters' models live beside their code (conversations/channels/).
from conversations.channels.models import OutboundSms, PhoneChannel, ProviderDelivery, SmsOptOut  # noqa: E402, F401


class ChatSettings(models.Model):
    """What a workstream's chats and customer summary do: one row per workstream.

    Routing owns the workstream's routing settings; these are the conversation side's (LIVE-1,
    LIVE-3, CONV-1, SUM-7, SUM-12, SUM-13). A workstream without a row reads the defaults
    (``conversations.chat_settings.chat_settings_of``); the admin creates the row with it.
    """

    workstream = models.OneToOneField(
        "routing.Workstream", on_delete=models.CASCADE, primary_key=True, related_name="chat_settings"
    )
    customer_grace_seconds = models.PositiveIntegerField(
        default=120,
        help_text=_("A live chat whose customer left and did not return in this time is ended."),  # LIVE-3
    )
    auto_close_open_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Close conversations left open this long.")
    )
    auto_close_active_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Close active conversations inactive this long.")
    )
    auto_close_waiting_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Close waiting (parked) conversations after this long.")
    )
    auto_close_wrap_up_seconds = models.PositiveIntegerField(
        default=600, null=True, blank=True, help_text=_("Close conversations left in wrap-up this long.")
    )
    queue_position_message = models.CharField(
        max_length=300,
        blank=True,
        default="You are number {position} in the queue.",
        help_text=_(
            "What a waiting customer reads about their place in the queue; {position} becomes the number."
        ),  # LIVE-1
    )
    average_wait_message = models.CharField(
        max_length=300,
        blank=True,
        default="The average wait is about {minutes} minutes.",
        help_text=_("What a waiting customer reads about the expected wait; {minutes} becomes the number."),  # LIVE-1
    )
    summary_self_service_types = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Which of the customer's self-service steps agents see in the customer summary. Empty shows all."
        ),  # SUM-12
    )
    summary_show_additional_details = models.BooleanField(
        default=True,
        help_text=_(
            "Agents see the customer's additional details (pre-chat answers, page context) in the customer summary."
        ),
    )  # SUM-13
    agents_may_edit_skills = models.BooleanField(
        default=False,
        help_text=_("Agents may change the skills a conversation needs, which can send it to other agents."),
    )  # SUM-7

    class Meta:
        verbose_name = _("chat settings")
        verbose_name_plural = _("chat settings")

    def __str__(self) -> str:
        return str(self.workstream)

    def clean(self) -> None:
        errors = {}
        for name, allowed in (("queue_position_message", {"position"}), ("average_wait_message", {"minutes"})):
            used = set(re.findall(r"{(\w*)}", getattr(self, name) or ""))
            if used - allowed:
                errors[name] = _("Unknown placeholder: %(names)s.") % {"names": ", ".join(sorted(used - allowed))}
        valid = {value for value, _label in self_service_kind_choices()}  # the widget app's words
        chosen = self.summary_self_service_types or []
        if not isinstance(chosen, list) or any(not isinstance(kind, str) or kind not in valid for kind in chosen):
            errors["summary_self_service_types"] = _("Use a list of: %(kinds)s.") % {"kinds": ", ".join(sorted(valid))}
        if errors:
            raise ValidationError(errors)


# Canned responses, private notes and wrap-up codes (issue 15) live beside their placeholders.
from conversations.composer_models import (  # noqa: E402, F401
    CannedResponse,
    ConversationNote,
    WrapUpCode,
    WrapUpSettings,
)


class SurveyResponse(models.Model):
    """A customer's post-chat survey, once a conversation (issue 16): a rating on the widget's
    scale, an optional comment, and the extra questions' answers as asked."""

    class Scale(models.TextChoices):
        STARS = "stars", _("1 to 5")
        THUMBS = "thumbs", _("Thumbs up or down")

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="survey")
    scale = models.CharField(max_length=8, choices=Scale.choices)
    #: 1–5 on the stars scale; 1 (up) or 0 (down) on the thumbs scale
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    #: ``[{"question": label, "answer": text}]``, in the order asked
    answers = models.JSONField(default=list, blank=True)
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(scale="stars", rating__gte=1, rating__lte=5))
                | models.Q(scale="thumbs", rating__lte=1),
                name="survey_rating_on_its_scale",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_scale_display()}: {self.rating}"


class Tag(models.Model):
    """A label an admin defines and any agent puts on the conversations they may see (issue 15)."""

    name = models.CharField(max_length=50, unique=True)
    colour = models.CharField(
        max_length=7,
        default="#2563eb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Write a colour as # and six hex digits, e.g. #2563eb."))],
        help_text=_("The chip's background; its text is black or white, whichever reads better."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def text_colour(self) -> str:
        """Black or white, whichever contrasts more with the background (always at least 4.5:1)."""
        background = relative_luminance(self.colour)
        return "#000000" if (background + 0.05) / 0.05 >= 1.05 / (background + 0.05) else "#ffffff"


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[index : index + 2]) for index in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


class ConversationRead(models.Model):
    """How far an agent has read a conversation: its unread count is the customer's messages after it."""

    agent = models.ForeignKey("agents.AgentProfile", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    last_read_seq = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "conversation"], name="one_read_marker_per_agent")]

    def __str__(self) -> str:
        return f"{self.agent} read {self.conversation} to #{self.last_read_seq}"
