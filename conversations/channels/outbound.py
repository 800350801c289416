"""Agent replies by SMS: stored with the message, sent by a task, moved by the provider's callbacks (SMS-1).

Nothing lost, nothing sent twice: the reply is stored before anything is sent; each attempt is
committed (``submitting``, the attempt count) before the provider is called; only a failure
the provider surely did not act on (429, 5xx, no connection) is retried, with exponential
backoff and jitter; a timeout after the request went out leaves the reply ``unconfirmed``
until the provider's status callback says what happened.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.channels.models import OutboundSms, SmsOptOut
from conversations.channels.providers import (
    AmbiguousProviderError,
    PermanentProviderError,
    RetryableProviderError,
    adapter_for,
)
from conversations.channels.providers.twilio import PERMANENT_REASONS
from conversations.channels.states import OUTBOUND_SMS, PROVIDER_STATUS
from conversations.errors import ConversationError
from core.realtime import conversation_group, publish_on_commit
from core.tasks_by_name import task_send

logger = logging.getLogger(__name__)
Status = OutboundSms.Status


def sms_opted_out(*, channel_id: int, phone_number: str) -> bool:
    return SmsOptOut.objects.filter(channel_id=channel_id, phone_number=phone_number).exists()


def sms_reply_check(*, conversation) -> None:
    """Refuse a reply the customer asked not to get (STOP), before anything is stored."""
    if sms_opted_out(channel_id=conversation.phone_channel_id, phone_number=conversation.customer_phone):
        raise ConversationError(
            _("The customer opted out of text messages (STOP); you can reply once they text START."),
            code="sms_opted_out",
        )


def sms_reply_queue(*, message, conversation) -> OutboundSms:
    """Store the reply's delivery with the message (same transaction); send it after commit."""
    outbound = OutboundSms.objects.create(
        message=message, channel_id=conversation.phone_channel_id, to_number=conversation.customer_phone
    )
    transaction.on_commit(lambda: _schedule_send(outbound.pk))
    return outbound


def _schedule_send(outbound_id: int, *, countdown: float | None = None) -> None:
    task_send("conversations.sms_outbound_send", outbound_id, countdown=countdown)


def status_callback_url(outbound: OutboundSms) -> str:
    path = reverse("sms_status_callback", kwargs={"outbound_id": outbound.public_id})
    return outbound.channel.public_base_url.rstrip("/") + path


def delivery_reason(*, code: str, message: str) -> str:
    """Why a reply failed, in the reader's language when the provider's code is a known one."""
    known = PERMANENT_REASONS.get(code)
    return str(known) if known is not None else message


def delivery_display(*, status: str, code: str = "", message: str = "") -> dict:
    """How the workspace shows a reply's delivery (SMS-1): the one source of its words.

    The page renders it on load (``conversations/_sms_delivery.html``) and workspace/conversation.js renders
    the same from the ``conversation.delivery`` event, with the labels of
    :func:`delivery_js_strings` (the agent's language, not the worker's).
    """
    failed = status in (Status.FAILED, Status.UNDELIVERED, Status.UNCONFIRMED)
    return {
        "status": status,
        "label": str(Status(status).label),
        "code": code if failed else "",
        "reason": delivery_reason(code=code, message=message) if failed else "",
    }


def delivery_js_strings() -> dict[str, str]:
    """The delivery labels and known failure reasons for the workspace scripts, translated for the page."""
    strings = {f"delivery_{status.value}": str(status.label) for status in Status}
    strings |= {f"delivery_reason_{code}": str(reason) for code, reason in PERMANENT_REASONS.items()}
    strings["delivery_prefix"] = _("Text message status:")
    return strings


def delivery_event(outbound: OutboundSms) -> dict:
    """The realtime event that moves the agent's message (and what the workspace shows)."""
    return {
        "type": "conversation.delivery",
        "conversation": outbound.message.conversation_id,
        "seq": outbound.message.seq,
        **delivery_display(status=outbound.status, code=outbound.error_code, message=outbound.error_message),
    }


def sms_delivery_events(*, conversation_id: int) -> list[dict]:
    """The current delivery of every SMS reply of a conversation, oldest first (one query): what a
    (re)joining workspace socket sends so the page catches up on moves it missed."""
    rows = (
        OutboundSms.objects.filter(message__conversation_id=conversation_id)
        .order_by("message__seq")
        .values_list("message__seq", "status", "error_code", "error_message")
    )
    return [
        {
            "type": "conversation.delivery",
            "conversation": conversation_id,
            "seq": seq,
            **delivery_display(status=status, code=code, message=message),
        }
        for seq, status, code, message in rows
    ]


def _move(outbound: OutboundSms, *, to: str, now, update: list[str]) -> bool:
    """Apply a forward move (a late or repeated status changes nothing); True when it moved."""
    if outbound.status == to or not OUTBOUND_SMS.allows(outbound.status, to):
        return False
    outbound.status = to
    outbound.updated_at = now
    update += ["status", "updated_at"]
    return True


def _move_and_save(
    outbound: OutboundSms, *, to: str, now, update: list[str], code: str, reason: str, keep_reason: bool
) -> OutboundSms:
    """Apply the move and save what changed; a move (or ``keep_reason``) records the provider's
    code and reason, and a move is published to the conversation."""
    moved = _move(outbound, to=to, now=now, update=update)
    if moved or keep_reason:
        outbound.error_code, outbound.error_message = code[:32], reason[:500]
        update += ["error_code", "error_message"]
    if update:
        outbound.save(update_fields=list(dict.fromkeys(update)))
    if moved:
        publish_on_commit(conversation_group(outbound.message.conversation_id), delivery_event(outbound))
    return outbound


def _locked(outbound_id: int) -> OutboundSms | None:
    return (
        OutboundSms.objects.select_for_update(no_key=True, of=("self",))
        .select_related("message", "channel")
        .filter(pk=outbound_id)
        .first()
    )


@transaction.atomic
def _claim(outbound_id: int) -> OutboundSms | None:
    """Commit the attempt before the call. An attempt found still ``submitting`` died mid-call:
    the provider may have the text, so it is not sent again (it waits for the callback)."""
    outbound = _locked(outbound_id)
    if outbound is None:
        return None
    now = timezone.now()
    update: list[str] = []
    if outbound.status == Status.SUBMITTING:
        outbound.error_message = _("The last attempt was interrupted; waiting for the provider to confirm.")
        _move(outbound, to=Status.UNCONFIRMED, now=now, update=update)
        outbound.save(update_fields=[*update, "error_message"])
        publish_on_commit(conversation_group(outbound.message.conversation_id), delivery_event(outbound))
        return None
    if outbound.status != Status.PENDING or outbound.provider_id:
        return None
    if outbound.next_attempt_at and outbound.next_attempt_at > now + timedelta(seconds=1):
        return None  # an early duplicate of a scheduled retry
    if sms_opted_out(channel_id=outbound.channel_id, phone_number=outbound.to_number):
        outbound.error_message = _("The customer opted out of text messages (STOP).")
        outbound.error_code = "opted_out"
        _move(outbound, to=Status.FAILED, now=now, update=update)
        outbound.save(update_fields=[*update, "error_message", "error_code"])
        publish_on_commit(conversation_group(outbound.message.conversation_id), delivery_event(outbound))
        return None
    _move(outbound, to=Status.SUBMITTING, now=now, update=update)
    outbound.attempts += 1
    outbound.last_attempt_at = now
    outbound.next_attempt_at = None
    outbound.save(update_fields=[*update, "attempts", "last_attempt_at", "next_attempt_at"])
    return outbound


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base · 2^(n-1), capped, times a random 0.5–1.0."""
    base = settings.SMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, settings.SMS_RETRY_MAX_DELAY_SECONDS) * random.uniform(0.5, 1.0)


@transaction.atomic
def _record(
    outbound_id: int, *, to: str, provider_id: str = "", code: str = "", reason: str = "", retry: bool = False
) -> OutboundSms:
    outbound = _locked(outbound_id)
    now = timezone.now()
    update: list[str] = []
    if provider_id and not outbound.provider_id:
        outbound.provider_id = provider_id
        update.append("provider_id")
    if retry and outbound.status == Status.SUBMITTING:
        if outbound.attempts >= settings.SMS_RETRY_MAX_ATTEMPTS:
            to = Status.FAILED
            reason = _("Gave up after %(count)d attempts: %(reason)s") % {"count": outbound.attempts, "reason": reason}
        else:
            delay = retry_delay(outbound.attempts)
            outbound.next_attempt_at = now + timedelta(seconds=delay)
            update.append("next_attempt_at")
            transaction.on_commit(lambda: _schedule_send(outbound.pk, countdown=delay))
    return _move_and_save(outbound, to=to, now=now, update=update, code=code, reason=reason, keep_reason=bool(reason))


def sms_outbound_send(*, outbound_id: int) -> OutboundSms | None:
    """Send one stored reply through the channel's provider (called by its task). Safe to call twice.

    Not one transaction on purpose: the attempt is committed before the provider is called and
    the outcome after, so a crash in between is known to be ambiguous.
    """
    outbound = _claim(outbound_id)
    if outbound is None:
        return OutboundSms.objects.filter(pk=outbound_id).first()
    adapter = adapter_for(outbound.channel.provider)
    try:
        result = adapter.send_message(
            channel=outbound.channel,
            to=outbound.to_number,
            body=outbound.message.text,
            status_callback=status_callback_url(outbound),
        )
    except PermanentProviderError as exc:
        return _record(outbound_id, to=Status.FAILED, code=exc.code, reason=exc.reason)
    except RetryableProviderError as exc:
        logger.info("SMS %s: retryable provider error %s", outbound_id, exc.code)
        return _record(outbound_id, to=Status.PENDING, code=exc.code, reason=exc.reason, retry=True)
    except AmbiguousProviderError as exc:
        return _record(outbound_id, to=Status.UNCONFIRMED, code=exc.code, reason=exc.reason)
    return _record(outbound_id, to=PROVIDER_STATUS.get(result.status, Status.QUEUED), provider_id=result.provider_id)


@transaction.atomic
def sms_status_apply(*, outbound_id: int, provider_id: str, status: str, error_code: str = "") -> OutboundSms:
    """A signed status callback: record the provider id and move the status forward (SMS-1).

    A callback older than what we know (``sent`` after ``delivered``) changes nothing.
    """
    outbound = _locked(outbound_id)
    target = PROVIDER_STATUS.get(status)
    if target is None:
        raise ConversationError(_("Unknown message status."), code="bad_status")
    if outbound.provider_id and provider_id != outbound.provider_id:
        raise ConversationError(_("This status is for another message."), code="wrong_message")
    reason = ""
    if target in (Status.FAILED, Status.UNDELIVERED):
        reason = str(PERMANENT_REASONS.get(error_code, "")) or (
            _("The provider reported error %(code)s.") % {"code": error_code}
            if error_code
            else _("The provider could not deliver it.")
        )
    return _record_status(outbound, target=target, provider_id=provider_id, code=error_code, reason=reason)


def _record_status(outbound: OutboundSms, *, target: str, provider_id: str, code: str, reason: str) -> OutboundSms:
    now = timezone.now()
    update: list[str] = []
    if not outbound.provider_id:
        outbound.provider_id = provider_id[:64]
        update.append("provider_id")
    return _move_and_save(outbound, to=target, now=now, update=update, code=code, reason=reason, keep_reason=False)


def sms_outbound_retry_overdue(*, limit: int = 200) -> int:
    """Send again the pending replies whose scheduled retry was lost (design.md, "Time")."""
    cutoff = timezone.now() - timedelta(seconds=10)
    due = list(
        OutboundSms.objects.filter(status=Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by()
        .values_list("pk", flat=True)[:limit]
    )
    due += list(
        OutboundSms.objects.filter(status=Status.PENDING, next_attempt_at__isnull=True, created_at__lte=cutoff)
        .order_by()
        .values_list("pk", flat=True)[:limit]
    )
    for outbound_id in due:
        _schedule_send(outbound_id)
    return len(due)
