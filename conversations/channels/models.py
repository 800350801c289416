"""Phone channels (SMS numbers, voice hand-off) and what their providers deliver and send.

Imported by ``conversations.models`` so Django sees them as models of the conversations app.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import normalise_phone

#: The documents' default SMS inactivity auto-close is hours, not minutes.
DEFAULT_SMS_INACTIVITY_SECONDS = 8 * 3600


class PhoneChannel(models.Model):
    """One SMS number / messaging service, or one voice hand-off line, at a provider (SMS-1, VOI-1).

    ``auth_token`` signs the provider's webhooks and authenticates our API calls: it is
    write-only in the admin and never logged or shown again.
    """

    class Kind(models.TextChoices):
        SMS = "sms", _("SMS")
        VOICE = "voice", _("Voice hand-off")

    class Provider(models.TextChoices):
        TWILIO = "twilio", _("Twilio (or Twilio-compatible)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.SMS)
    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices, default=Provider.TWILIO)
    account_sid = models.CharField(_("account id"), max_length=64)
    auth_token = models.CharField(_("auth token"), max_length=128)
    phone_number = models.CharField(
        _("phone number"), max_length=32, blank=True, help_text=_("The number customers text or call, in E.164.")
    )
    messaging_service_sid = models.CharField(
        _("messaging service id"), max_length=64, blank=True, help_text=_("Instead of, or besides, the number.")
    )
    workstream = models.ForeignKey(
        "routing.Workstream", on_delete=models.PROTECT, related_name="phone_channels", verbose_name=_("workstream")
    )
    public_base_url = models.URLField(
        _("public base URL"),
        help_text=_("The https://host the provider calls; signatures are checked against this URL."),
    )
    api_base_url = models.URLField(
        _("provider API base URL"), default="https://api.twilio.com", help_text=_("Where replies are sent.")
    )
    inactivity_auto_close_seconds = models.PositiveIntegerField(
        _("inactivity auto-close (seconds)"),
        default=DEFAULT_SMS_INACTIVITY_SECONDS,
        help_text=_(
            "A conversation nobody writes in for this long is ended; the customer's next text starts a new one."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("phone channel")
        constraints = [
            models.UniqueConstraint(
                fields=["messaging_service_sid"],
                condition=~Q(messaging_service_sid=""),
                name="one_channel_per_messaging_service",
            ),
            models.UniqueConstraint(
                fields=["kind", "account_sid", "phone_number"],
                condition=~Q(phone_number=""),
                name="one_channel_per_number",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.phone_number:
            try:
                self.phone_number = normalise_phone(self.phone_number)
            except ValidationError as exc:
                errors["phone_number"] = exc.messages
        elif not self.messaging_service_sid:
            errors["phone_number"] = _("Give the number, the messaging service id, or both.")
        if self.kind == self.Kind.VOICE and not self.phone_number:
            errors["phone_number"] = _("A voice channel needs its number.")
        if self.workstream_id and self.workstream.channel != self.kind:
            errors["workstream"] = _("Choose a workstream of the same channel.")
        if self.public_base_url:
            self.public_base_url = self.public_base_url.rstrip("/")
        if errors:
            raise ValidationError(errors)


class ProviderDelivery(models.Model):
    """One inbound SMS or call hand-off as the provider delivered it, stored once (SMS-3, VOI-1).

    ``provider_id`` (MessageSid / CallSid) is unique: a provider retry, or two concurrent
    deliveries of the same id, store one row. Routing happens after commit, from this row.
    """

    class Kind(models.TextChoices):
        SMS = "sms", _("SMS")
        CALL = "call", _("Call hand-off")

    channel = models.ForeignKey(PhoneChannel, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    provider_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text=_("Media URLs, transcript, context."))
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.OneToOneField(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_delivery"
    )

    class Meta:
        ordering = ["received_at", "pk"]
        indexes = [
            models.Index(fields=["received_at"], condition=Q(processed_at__isnull=True), name="delivery_unprocessed")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.provider_id}"


class OutboundSms(models.Model):
    """An agent's reply on its way to the customer's phone (SMS-1).

    Stored with the message; sent by a task. ``attempts`` and ``provider_id`` are committed
    before any retry, so an ambiguous timeout never sends the text twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SUBMITTING = "submitting", _("Being sent")
        UNCONFIRMED = "unconfirmed", _("Sent; waiting for the provider to confirm")
        QUEUED = "queued", _("Accepted by the provider")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERED = "undelivered", _("Not delivered")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.OneToOneField("conversations.Message", on_delete=models.CASCADE, related_name="outbound_sms")
    channel = models.ForeignKey(PhoneChannel, on_delete=models.PROTECT, related_name="outbound")
    to_number = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, editable=False)
    provider_id = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    error_code = models.CharField(max_length=32, blank=True, editable=False)
    error_message = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("outbound SMS")
        verbose_name_plural = _("outbound SMS")
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="outbound_sms_due"),
        ]

    def __str__(self) -> str:
        return f"SMS to {self.to_number} ({self.status})"


class SmsOptOut(models.Model):
    """A number that texted STOP to a channel; removed when it texts START."""

    channel = models.ForeignKey(PhoneChannel, on_delete=models.CASCADE, related_name="opt_outs")
    phone_number = models.CharField(max_length=32)
    opted_out_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-opted_out_at"]
        verbose_name = _("SMS opt-out")
        constraints = [models.UniqueConstraint(fields=["channel", "phone_number"], name="one_opt_out_per_number")]

    def __str__(self) -> str:
        return self.phone_number
