"""Outbound webhook endpoints and their delivery log (API-2)."""

import base64
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks import endpoint_memo


class Event(models.TextChoices):
    """The events an endpoint may ask for (API-2), each from a domain event the services publish."""

    CONVERSATION_STARTED = "conversation.started", _("Conversation started")
    CONVERSATION_ASSIGNED = "conversation.assigned", _("Conversation assigned")
    MESSAGE_CREATED = "message.created", _("Message created")
    CONVERSATION_TRANSFERRED = "conversation.transferred", _("Conversation transferred")
    CONVERSATION_ENDED = "conversation.ended", _("Conversation ended")
    SURVEY_ANSWERED = "conversation.survey_answered", _("Post-chat survey answered")
    OFFER_MISSED = "offer.missed", _("Offer missed")
    CASE_CREATED = "case.created", _("Case created")
    CASE_UPDATED = "case.updated", _("Case updated")


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list, help_text=_("The event types sent to this endpoint."))
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text=_("Until then deliveries are signed with both secrets.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["url", "pk"]
        verbose_name = _("webhook endpoint")

    def __str__(self) -> str:
        return self.description or self.url

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        endpoint_memo.forget()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        endpoint_memo.forget()
        return result

    def signing_secrets(self, *, now) -> list[str]:
        """The current secret, and the previous one while its overlap lasts (rotation)."""
        overlap = self.previous_secret and (
            self.previous_secret_expires_at is None or self.previous_secret_expires_at > now
        )
        return [self.secret, self.previous_secret] if overlap else [self.secret]


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its attempts; ``message_id`` is the same across retries."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=64, unique=True, editable=False)
    event_type = models.CharField(max_length=64, editable=False)
    ordering_key = models.CharField(max_length=64, editable=False, help_text=_("Sent in order per key."))
    payload = models.JSONField(editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    error = models.CharField(max_length=300, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["endpoint", "ordering_key", "id"], condition=Q(status="pending"), name="webhook_due")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint}"
