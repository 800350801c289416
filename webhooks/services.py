"""Signed outbound webhooks (API-2): captured from the realtime domain events, delivered by Celery.

Events are taken from :func:`core.realtime.publish_on_commit` (one source) inside the
publisher's transaction, stored as deliveries, and sent after commit, in order per
conversation: a drain task sends an endpoint's pending deliveries of one key oldest first and
stops at the first failure, which it retries with backoff over hours. An endpoint failing for
longer than ``WEBHOOK_DISABLE_AFTER_SECONDS`` is disabled and the admins are told.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import timedelta

import httpx
from celery import shared_task
from django.conf import settings
from django.core.mail import mail_admins
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from webhooks import endpoint_memo
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint, new_secret
from webhooks.signing import webhook_signature

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status


class WebhookError(DomainError):
    """A webhook endpoint change that cannot be made (bad events)."""


#: Realtime event types that are webhook events as they are.
_DIRECT = {
    "conversation.started": Event.CONVERSATION_STARTED,
    "conversation.message": Event.MESSAGE_CREATED,
    "conversation.transferred": Event.CONVERSATION_TRANSFERRED,
    "offer.timed_out": Event.OFFER_MISSED,
    "case.created": Event.CASE_CREATED,
    "conversation.survey": Event.SURVEY_ANSWERED,
    "case.updated": Event.CASE_UPDATED,
}


def _event_type(event: dict) -> str | None:
    """Which webhook event a realtime event is, if any."""
    kind = event.get("type")
    if kind in _DIRECT:
        return _DIRECT[kind]
    if kind == "conversation.status":
        if event.get("status") == "active" and event.get("previous") == "open":
            return Event.CONVERSATION_ASSIGNED
        if event.get("status") in ("wrap_up", "closed") and event.get("previous") not in ("wrap_up", "closed"):
            return Event.CONVERSATION_ENDED
    return None


def _ordering_key(event: dict) -> str:
    """Deliveries of one key go out in order: a conversation's events, or a case's."""
    if event.get("conversation"):
        return f"conversation.{event['conversation']}"
    if event.get("case"):
        return f"case.{event['case']}"
    return f"event.{uuid.uuid4().hex}"


def _enabled_endpoints() -> list[WebhookEndpoint]:
    """The enabled endpoints, once per transaction: a chat's start publishes several events in
    one, and the hot path should not pay a query for each (webhooks.endpoint_memo)."""
    return endpoint_memo.enabled_endpoints(
        lambda: list(WebhookEndpoint.objects.filter(enabled=True).only("pk", "events").order_by())
    )


def webhook_events_capture(group: str, event: dict) -> None:
    """The realtime layer's sink: store a delivery per interested endpoint in the publisher's
    transaction, and drain after commit."""
    event_type = _event_type(event)
    if event_type is None:
        return
    endpoints = [endpoint for endpoint in _enabled_endpoints() if event_type in (endpoint.events or [])]
    if not endpoints:
        return
    key = _ordering_key(event)
    data = {name: value for name, value in event.items() if name != "type"}
    for endpoint in endpoints:
        webhook_delivery_create(endpoint=endpoint, event_type=event_type, data=data, ordering_key=key)


def webhook_delivery_create(
    *, endpoint: WebhookEndpoint, event_type: str, data: dict, ordering_key: str
) -> WebhookDelivery:
    message_id = "msg_" + uuid.uuid4().hex
    payload = {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id=message_id,
        event_type=event_type,
        ordering_key=ordering_key,
        payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
    )
    transaction.on_commit(lambda: _schedule_drain(endpoint.pk, ordering_key))
    return delivery


def _schedule_drain(endpoint_id: int, ordering_key: str, *, countdown: float | None = None) -> None:
    webhook_drain_task.apply_async((endpoint_id, ordering_key), countdown=countdown)


# The task stands beside the code that schedules it and the service it calls, so this module and
# the task module do not import each other; webhooks.tasks lists it.
@shared_task(name="webhooks.drain", ignore_result=True)
def webhook_drain_task(endpoint_id: int, ordering_key: str) -> None:
    webhook_drain(endpoint_id=endpoint_id, ordering_key=ordering_key)


def webhook_endpoint_create(
    *, url: str, events: list[str], description: str = "", enabled: bool = True
) -> WebhookEndpoint:
    """Register an endpoint; its secret is new (the caller shows it once)."""
    endpoint = WebhookEndpoint(url=url, events=_events_valid(events), description=description, enabled=enabled)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def _events_valid(events) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
        raise WebhookError(_("Choose at least one event."), code="no_events")
    unknown = sorted(set(events) - set(Event.values))
    if unknown:
        raise WebhookError(_("Unknown events: %(events)s.") % {"events": ", ".join(unknown)}, code="unknown_events")
    return [event for event in Event.values if event in events]  # one order, no duplicates


@transaction.atomic
def webhook_endpoint_update(*, endpoint_id: int, changes: dict) -> WebhookEndpoint:
    """Change an endpoint's URL, events, description or enabled flag. Enabling a disabled one
    clears its failure record so it starts afresh."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    update = []
    for name in ("url", "description", "enabled"):
        if name in changes:
            setattr(endpoint, name, changes[name])
            update.append(name)
    if "events" in changes:
        endpoint.events = _events_valid(changes["events"])
        update.append("events")
    if changes.get("enabled") is True:
        endpoint.failing_since, endpoint.disabled_reason = None, ""
        update += ["failing_since", "disabled_reason"]
    endpoint.full_clean()
    if update:
        endpoint.save(update_fields=update)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint_id: int) -> None:
    """Remove an endpoint with its delivery log; a drain running for it then finds nothing."""
    WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    endpoint_memo.forget()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint_id: int) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for ``WEBHOOK_SECRET_OVERLAP_SECONDS``
    so a receiver can switch without missing a delivery. The caller shows the new one once."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


@transaction.atomic
def webhook_test_event_send(*, endpoint_id: int) -> WebhookDelivery:
    """The admin's "send a test event"."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    return webhook_delivery_create(
        endpoint=endpoint,
        event_type="webhook.test",
        data={"endpoint": endpoint.pk},
        ordering_key=f"test.{uuid.uuid4().hex}",
    )


@transaction.atomic
def webhook_redeliver(*, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again, with the same id (the receiver dedups on ``webhook-id``)."""
    delivery = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
    delivery.status = Status.PENDING
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(lambda: _schedule_drain(delivery.endpoint_id, delivery.ordering_key))
    return delivery


def retry_delay(attempts: int) -> float:
    """Backoff over hours with jitter: base · 4^(n-1), capped, times 0.5–1.0."""
    delay = settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** max(attempts - 1, 0)
    return min(delay, settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS) * random.uniform(0.5, 1.0)


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(
            secrets=endpoint.signing_secrets(now=timezone.now()),
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    try:
        response = httpx.post(endpoint.url, content=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, ""


def webhook_drain(*, endpoint_id: int, ordering_key: str) -> int:
    """Send the endpoint's pending deliveries of one key, oldest first; stop at the first failure
    and schedule its retry. Returns how many were delivered. Safe to run twice: each delivery
    is locked while it is sent, a second drain skips it."""
    delivered = 0
    while True:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
                .select_related("endpoint")
                .filter(endpoint_id=endpoint_id, ordering_key=ordering_key, status=Status.PENDING)
                .order_by("pk")
                .first()
            )
            if delivery is None:
                return delivered
            endpoint = delivery.endpoint
            now = timezone.now()
            if not endpoint.enabled or (
                delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1)
            ):
                return delivered
            code, error = _send(endpoint, delivery)
            delivery.attempts += 1
            delivery.last_attempt_at = timezone.now()
            delivery.response_code = code
            delivery.error = error[:300]
            ok = code is not None and 200 <= code < 300
            if ok:
                delivery.status = Status.SUCCEEDED
                delivery.next_attempt_at = None
            elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.status = Status.FAILED
                delivery.next_attempt_at = None
            else:
                delay = retry_delay(delivery.attempts)
                delivery.next_attempt_at = delivery.last_attempt_at + timedelta(seconds=delay)
                transaction.on_commit(lambda delay=delay: _schedule_drain(endpoint_id, ordering_key, countdown=delay))
            delivery.save(
                update_fields=["attempts", "last_attempt_at", "response_code", "error", "status", "next_attempt_at"]
            )
            _endpoint_health(endpoint_id=endpoint_id, ok=ok)
        if not ok:
            return delivered
        delivered += 1


def _endpoint_health(*, endpoint_id: int, ok: bool) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    now = timezone.now()
    if ok:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
        return
    if endpoint.enabled and now - endpoint.failing_since >= timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS):
        endpoint.enabled = False
        endpoint.disabled_reason = _("Disabled after failing since %(since)s.") % {
            "since": endpoint.failing_since.isoformat(timespec="seconds")
        }
        endpoint.save(update_fields=["enabled", "disabled_reason"])
        url = endpoint.url
        transaction.on_commit(
            lambda: mail_admins(
                _("Webhook endpoint disabled"),
                _("The webhook endpoint %(url)s kept failing and was disabled. Fix it, enable it and redeliver.")
                % {"url": url},
                fail_silently=True,
            )
        )
        logger.warning("Webhook endpoint %s disabled after failing since %s", endpoint.pk, endpoint.failing_since)


def webhook_deliveries_retry_overdue(*, limit: int = 200) -> int:
    """Drain again the keys whose scheduled retry was lost (design.md, "Time")."""
    cutoff = timezone.now() - timedelta(seconds=10)
    keys = (
        WebhookDelivery.objects.filter(status=Status.PENDING, endpoint__enabled=True)
        .filter(next_attempt_at__lte=cutoff)
        .order_by()
        .values_list("endpoint_id", "ordering_key")
        .distinct()[:limit]
    )
    keys = list(keys) + list(
        WebhookDelivery.objects.filter(
            status=Status.PENDING, endpoint__enabled=True, next_attempt_at__isnull=True, created_at__lte=cutoff
        )
        .order_by()
        .values_list("endpoint_id", "ordering_key")
        .distinct()[:limit]
    )
    for endpoint_id, key in set(keys):
        _schedule_drain(endpoint_id, key)
    return len(keys)
