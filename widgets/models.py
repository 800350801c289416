"""Chat widgets and what the widget learns about visitors; proactive rules and invitations."""

import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.attachments import DEFAULT_KINDS, DEFAULT_MAX_BYTES, MEGABYTE, AttachmentKind, AttachmentPolicy
from core.security import parse_origin
from routing.models import Channel, validate_time_zone

MAX_PRECHAT_QUESTIONS = 10  # WID-10
MAX_ATTACHMENT_MB = 100  # issue 16: the admin's ceiling for a widget's largest file
MAX_QUESTION_LENGTH = 512  # WID-10
# PRO-4: an invitation nobody answers closes after one minute. A constant: no setting changes it.
INVITATION_LIFETIME = timedelta(minutes=1)


def normalise_origin(value: str) -> str:
    """``https://Shop.Example.com/`` → ``https://shop.example.com``; raise for anything else.

    The admin's spelling of :func:`core.security.parse_origin`, which every origin check uses.
    """
    value = (value or "").strip()
    origin = parse_origin(value)
    if origin is not None:
        return str(origin)
    try:
        parts = urlsplit(value)
        has_extras = bool(parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username)
        has_origin = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        has_extras = has_origin = False
    if has_origin and has_extras:
        raise ValidationError(_("An origin has no path, query or credentials: https://www.example.com"))
    raise ValidationError(_("Enter an origin such as https://www.example.com (scheme and host)."))


class AuthenticationSetting(models.Model):
    """The customer organisation's key for verifying chat tokens (AUTH-1, AUTH-2)."""

    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256"
        ES256 = "ES256", "ES256"

    name = models.CharField(max_length=100, unique=True)
    public_key_pem = models.TextField(blank=True, help_text=_("The public key in PEM form, or use a key-set URL."))
    key_set_url = models.URLField(
        blank=True, help_text=_("A JWKS URL, or a URL returning a list of {kid, publicKey, expiry}.")
    )
    key_cache_seconds = models.PositiveIntegerField(default=300, validators=[MinValueValidator(10)])
    algorithms = models.JSONField(default=list, help_text=_('Accepted algorithms, e.g. ["RS256", "ES256"].'))
    issuer = models.CharField(max_length=300, help_text=_("The expected iss claim."))
    audience = models.CharField(max_length=300, blank=True, help_text=_("The expected aud claim, if any."))
    create_contact = models.BooleanField(
        default=True, help_text=_("Create a contact for a token subject with none linked yet.")
    )
    context_claims = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Token claims that become verified context variables, which routing rules can use."),  # AUTH-2
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if bool(self.public_key_pem.strip()) == bool(self.key_set_url):
            errors["public_key_pem"] = _("Give either a public key (PEM) or a key-set URL, not both.")
        if self.public_key_pem.strip():
            # Only a pasted key needs it; cryptography is slow to import for every process.
            from cryptography.hazmat.primitives.asymmetric import ec, rsa
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                key = load_pem_public_key(self.public_key_pem.strip().encode())
            except (ValueError, TypeError):
                errors["public_key_pem"] = _("This is not a PEM public key (-----BEGIN PUBLIC KEY-----…).")
            else:
                if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                    errors["public_key_pem"] = _("Use an RSA (RS256) or EC P-256 (ES256) key.")
        if (
            not isinstance(self.algorithms, list)
            or not self.algorithms
            or any(alg not in self.Algorithm.values for alg in self.algorithms)
        ):
            errors["algorithms"] = _("Choose one or more of RS256, ES256.")
        if not isinstance(self.context_claims, list) or any(
            not isinstance(claim, str) or not claim for claim in self.context_claims
        ):
            errors["context_claims"] = _("Use a list of claim names.")
        if errors:
            raise ValidationError(errors)


def attachment_default_kinds() -> list[str]:
    """Images (PNG, JPEG, GIF, WebP), PDF, plain text and office documents (issue 16)."""
    return list(DEFAULT_KINDS)


class ChatWidget(models.Model):
    """A chat widget: one chat workstream, a script tag, the origins allowed to embed it."""

    class Position(models.TextChoices):
        BOTTOM_RIGHT = "bottom_right", _("Bottom right")
        BOTTOM_LEFT = "bottom_left", _("Bottom left")

    class SurveyRating(models.TextChoices):
        OFF = "off", _("No post-chat survey")
        STARS = "stars", _("A rating from 1 to 5")
        THUMBS = "thumbs", _("Thumbs up or down")

    class WhenUnavailable(models.TextChoices):
        WAIT = "wait", _("Customers may start a chat and wait")
        OFFLINE_FORM = "offline_form", _("Customers leave a message that becomes a case")

    name = models.CharField(max_length=100, unique=True)
    public_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workstream = models.ForeignKey("routing.Workstream", on_delete=models.PROTECT, related_name="widgets")
    authentication = models.ForeignKey(
        AuthenticationSetting,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="widgets",
        help_text=_("How signed-in customers are verified. Required for persistent chat."),  # PER-2
    )
    title = models.CharField(max_length=100, default="Chat with us")
    greeting = models.CharField(max_length=300, blank=True, default="Hi! How can we help?")
    theme_color = models.CharField(max_length=7, default="#0f6cbd")
    position = models.CharField(max_length=16, choices=Position.choices, default=Position.BOTTOM_RIGHT)
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_(
            "The language of the widget's buttons and messages. Empty follows each visitor's browser."
        ),  # I18N-1
    )
    proactive_enabled = models.BooleanField(
        default=False, help_text=_("Invite visitors into a chat by the proactive rules below.")
    )  # PRO-1
    when_unavailable = models.CharField(
        max_length=16,
        choices=WhenUnavailable.choices,
        default=WhenUnavailable.WAIT,
        help_text=_("What a live-chat customer may do when nobody can answer: out of hours, or no agent available."),
    )
    unavailable_message = models.CharField(
        max_length=500,
        blank=True,
        help_text=_(
            "What customers read when nobody can answer. Empty: the queue's out-of-hours message out of "
            "hours, otherwise a standard sentence in the customer's language."
        ),
    )
    survey_rating = models.CharField(
        max_length=8,
        choices=SurveyRating.choices,
        default=SurveyRating.OFF,
        help_text=_("The survey customers are asked when a chat ends."),
    )
    survey_comment = models.BooleanField(default=True, help_text=_("The survey offers an optional comment box."))
    unread_sound = models.BooleanField(
        default=False, help_text=_("Play a short sound when an agent writes while the chat is minimised.")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Files in this widget's chats, both ways (issue 16): kinds of conversations.attachments.AttachmentKind.
    attachment_kinds = models.JSONField(
        default=attachment_default_kinds,
        blank=True,
        verbose_name=_("files allowed"),
        help_text=_("Which files customers and agents may send in this widget's chats. None: no files."),
    )
    attachment_max_mb = models.PositiveSmallIntegerField(
        default=DEFAULT_MAX_BYTES // MEGABYTE,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTACHMENT_MB)],
        verbose_name=_("largest file (MB)"),
        help_text=_("The largest file a customer or an agent may send, in megabytes."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def attachment_policy(self) -> AttachmentPolicy:
        """What this widget's chats may carry (conversations.attachments)."""
        kinds = self.attachment_kinds if isinstance(self.attachment_kinds, list) else []
        return AttachmentPolicy(kinds=frozenset(kinds), max_bytes=self.attachment_max_mb * MEGABYTE)

    @property
    def is_persistent(self) -> bool:
        return self.workstream.is_persistent

    @property
    def theme_ink(self) -> str:
        """The text colour on the theme colour: white where it reaches a contrast of 4.5:1 (WCAG
        1.4.3, issue 17), else whichever of white and near-black (#1b1b1b) reads better."""
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.theme_color or ""):
            return "#fff"
        channels = [int(self.theme_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        on_white, on_dark = 1.05 / (luminance + 0.05), (luminance + 0.05) / (0.0110 + 0.05)  # #1b1b1b: 0.0110
        return "#fff" if on_white >= 4.5 or on_white >= on_dark else "#1b1b1b"

    def clean(self) -> None:
        errors = {}
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.theme_color or ""):
            errors["theme_color"] = _("Use a hex colour such as #0f6cbd.")
        if self.workstream_id:
            if self.workstream.channel != Channel.CHAT:
                errors["workstream"] = _("A chat widget needs a chat workstream.")
            elif self.workstream.is_persistent and not self.authentication_id:
                errors["authentication"] = _(  # spec: PER-2
                    "Persistent chat needs signed-in customers: choose an authentication setting."
                )
        kinds = self.attachment_kinds
        if not isinstance(kinds, list) or any(kind not in AttachmentKind.values for kind in kinds):
            errors["attachment_kinds"] = _("Choose the allowed files from the list.")
        if errors:
            raise ValidationError(errors)


class AllowedDomain(models.Model):
    """An origin allowed to embed the widget (WID-2, WID-3)."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="allowed_domains")
    origin = models.CharField(max_length=300, help_text=_("Scheme and host, e.g. https://www.example.com"))

    class Meta:
        ordering = ["origin"]
        constraints = [models.UniqueConstraint(fields=["widget", "origin"], name="one_allowed_origin_per_widget")]

    def __str__(self) -> str:
        return self.origin

    def clean(self) -> None:
        try:
            self.origin = normalise_origin(self.origin)
        except ValidationError as exc:
            raise ValidationError({"origin": exc.messages}) from exc


class PreChatQuestion(models.Model):
    """One question of the widget's pre-chat survey (WID-10)."""

    class Kind(models.TextChoices):
        SINGLE_LINE = "single_line", _("Single line")
        MULTI_LINE = "multi_line", _("Multiple lines")
        OPTION_SET = "option_set", _("Option set")
        CONSENT = "consent", _("User consent")

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="prechat_questions")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.SlugField(
        max_length=64, help_text=_("The answer's name as a context variable and placeholder, e.g. order_id.")
    )
    label = models.CharField(max_length=MAX_QUESTION_LENGTH)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SINGLE_LINE)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True, help_text=_('Option set only: ["Billing", "Orders"].'))
    consent_url = models.URLField(blank=True, help_text=_("User consent only: the link shown with the checkbox."))

    class Meta:
        ordering = ["widget", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["widget", "name"], name="unique_question_name_per_widget")]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors = {}
        if self.kind == self.Kind.OPTION_SET:
            if (
                not isinstance(self.choices, list)
                or len(self.choices) < 2
                or any(not isinstance(c, str) or not c.strip() for c in self.choices)
            ):
                errors["choices"] = _("An option set needs at least two non-empty choices.")
            elif len(set(self.choices)) != len(self.choices):
                errors["choices"] = _("Choices must differ.")
        elif self.choices:
            errors["choices"] = _("Only option sets have choices.")
        if self.kind == self.Kind.CONSENT and not self.consent_url:
            errors["consent_url"] = _("A consent question links to the terms it asks about.")
        if errors:
            raise ValidationError(errors)


class ProactiveRule(models.Model):
    """When to invite a visitor into a chat (PRO-2). The first matching rule, by order, wins."""

    class Audience(models.TextChoices):
        ALL = "all", _("All visitors")
        AUTHENTICATED = "authenticated", _("Authenticated visitors")
        ANONYMOUS = "anonymous", _("Anonymous visitors")
        NEW = "new", _("New visitors")
        RETURNING = "returning", _("Returning visitors")

    class LocationMatch(models.TextChoices):
        ANY = "any", _("Any page")
        CONTAINS = "contains", _("URL contains")
        STARTS_WITH = "starts_with", _("URL starts with")
        EXACT = "exact", _("URL is exactly")
        REGEX = "regex", _("URL matches regular expression")

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="proactive_rules")
    order = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    trigger_message = models.CharField(
        max_length=500, help_text=_("Shown in the invitation; per-language texts below.")
    )
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.ALL)
    audience_language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, help_text=_("Only visitors in this language.")
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    days_of_week = models.JSONField(
        default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday; empty means every day.")
    )
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    location_match = models.CharField(max_length=16, choices=LocationMatch.choices, default=LocationMatch.ANY)
    location_pattern = models.CharField(max_length=500, blank=True)
    time_on_page_seconds = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(86_400)])
    daily_cap_per_visitor = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("At most this many invitations per visitor per day. Empty: no limit."),  # PRO-3
    )
    require_available_agent = models.BooleanField(
        default=False,
        help_text=_("Invite only when an agent is available in the widget's queue."),  # PRO-7a
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["widget", "order", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The end date is before the start date.")
        if (self.start_time is None) != (self.end_time is None):
            errors["end_time"] = _("Give both a start and an end time, or neither.")
        elif self.start_time is not None and self.start_time == self.end_time:
            errors["end_time"] = _("The end time must differ from the start time.")
        if not isinstance(self.days_of_week, list) or any(
            not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in self.days_of_week
        ):
            errors["days_of_week"] = _("Use a list of weekday numbers, 0 (Monday) to 6 (Sunday).")
        if self.location_match == self.LocationMatch.ANY:
            self.location_pattern = ""
        elif not self.location_pattern:
            errors["location_pattern"] = _("Give the URL pattern to match.")
        elif self.location_match == self.LocationMatch.REGEX:
            try:
                re.compile(self.location_pattern)
            except re.error as exc:
                errors["location_pattern"] = _("Invalid regular expression: %(error)s") % {"error": exc}
        if errors:
            raise ValidationError(errors)


class ProactiveRuleMessage(models.Model):
    """The trigger message in one language (PRO-2)."""

    rule = models.ForeignKey(ProactiveRule, on_delete=models.CASCADE, related_name="messages")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    text = models.CharField(max_length=500)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "language"], name="one_message_per_language")]

    def __str__(self) -> str:
        return f"{self.language}: {self.text}"


class Visitor(models.Model):
    """A browser that loaded a widget, kept across page loads by a signed token (WID-12)."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="visitors")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    auth_subject = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=16, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    visit_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]

    def __str__(self) -> str:
        return f"Visitor {self.public_id}"

    @property
    def is_returning(self) -> bool:
        return self.visit_count > 1


class PageVisit(models.Model):
    """One page load with the widget on it (WID-12). Time on page is measured by the server,
    from ``started_at`` to the page's last heartbeat (PRO-2): the page cannot claim more."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_visits")
    #: How the widget names this visit (in its signed page-visit token); never the database id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["visitor", "-started_at"])]

    def __str__(self) -> str:
        return self.url

    @property
    def seconds_on_page(self) -> int:
        return int((self.last_seen_at - self.started_at).total_seconds())


class SelfServiceAction(models.Model):
    """What the customer did before the conversation (SUM-12)."""

    class Kind(models.TextChoices):
        PAGE_VISITED = "page_visited", _("Page visited")
        PHRASE_SEARCHED = "phrase_searched", _("Phrase searched")
        ARTICLE_VIEWED = "article_viewed", _("Knowledge article viewed")
        CUSTOM_ACTION = "custom_action", _("Custom action")

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="actions")
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="self_service_actions",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=2000, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["visitor", "-occurred_at"]),
            models.Index(fields=["conversation", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class Invitation(models.Model):
    """A proactive invitation shown to a visitor; closes by itself after one minute (PRO-4)."""

    class Status(models.TextChoices):
        SHOWN = "shown", _("Shown")
        ACCEPTED = "accepted", _("Accepted")
        DISMISSED = "dismissed", _("Dismissed")
        EXPIRED = "expired", _("Expired")

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="invitations")
    #: How the widget names the invitation; never the database id.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="invitations")
    rule = models.ForeignKey(
        ProactiveRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
        help_text=_("Empty when the web page itself invited the visitor."),  # PRO-7
    )
    page_visit = models.ForeignKey(PageVisit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    page_url = models.URLField(max_length=2000, blank=True)
    message = models.CharField(max_length=500)
    show_prechat = models.BooleanField(
        default=True, help_text=_("Ask the pre-chat survey before the chat starts (SDK invitations may skip it).")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SHOWN, editable=False)
    shown_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    conversation = models.OneToOneField(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )

    class Meta:
        ordering = ["-shown_at", "-pk"]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="shown"), name="invitation_open_deadline"),
            models.Index(fields=["visitor", "-shown_at"]),
            models.Index(fields=["rule", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at=models.F("shown_at") + INVITATION_LIFETIME),
                name="invitation_lives_one_minute",
            ),
            models.UniqueConstraint(
                fields=["rule", "page_visit"],
                condition=Q(rule__isnull=False, page_visit__isnull=False),
                name="one_invitation_per_rule_and_page_visit",
            ),
            # A visitor sees one invitation at a time (PRO-3): a second one waits for the first to close.
            models.UniqueConstraint(
                fields=["visitor"], condition=Q(status="shown"), name="one_open_invitation_per_visitor"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({self.status})"

    def save(self, *args, **kwargs):
        if self.expires_at is None:
            self.expires_at = self.shown_at + INVITATION_LIFETIME
        super().save(*args, **kwargs)


class PostChatQuestion(models.Model):
    """An extra question of a widget's post-chat survey, answered in a line of text (optional)."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="postchat_questions")
    order = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=300)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.label
