"""Inbound SMS and call hand-offs: stored once, then routed like chat (SMS-1..3, NOT-15, VOI-1).

A webhook stores what the provider delivered (:func:`provider_delivery_receive`, one row per
MessageSid / CallSid, enforced by a unique constraint) and answers at once; the routing work
runs after commit in :func:`provider_delivery_process`, from that row, safe to run twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.channels.models import PhoneChannel, ProviderDelivery, SmsOptOut
from conversations.customer_links import conversation_contact_link_verified
from conversations.errors import ConversationError
from conversations.models import Conversation, ConversationEvent, Message
from conversations.services import (
    conversation_enqueue,
    conversation_started_publish,
    message_post,
    message_validate_text,
)
from core.realtime import conversation_group, publish_on_commit
from core.tasks_by_name import task_send
from customers.models import Contact, normalise_phone
from customers.selectors import contacts_with_mobile_phone
from routing.rules import Facts, route_evaluate

logger = logging.getLogger(__name__)

#: The standard opt-out and opt-in keywords (the whole text, any case).
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
OPEN_STATUSES = (Conversation.Status.OPEN, Conversation.Status.ACTIVE, Conversation.Status.WAITING)
MAX_MEDIA = 10


class WebhookInputError(ConversationError):
    """A signed request whose content we cannot use (a missing or malformed field)."""

    code = "bad_webhook"


def phone_normalise(raw: str) -> str:
    """E.164 when it is a phone number; short codes and sender names stay as sent."""
    try:
        return normalise_phone(raw)
    except ValidationError:
        return raw.strip()[:32]


def phone_channel_find(
    *, kind: str, account_sid: str, to_number: str, messaging_service_sid: str = ""
) -> PhoneChannel | None:
    """The active channel a provider request is for: by messaging service, then by account + number."""
    channels = PhoneChannel.objects.filter(kind=kind, is_active=True).select_related("workstream")
    if messaging_service_sid:
        found = channels.filter(messaging_service_sid=messaging_service_sid).first()
        if found is not None:
            return found if not account_sid or found.account_sid == account_sid else None
    if not account_sid or not to_number:
        return None
    return channels.filter(account_sid=account_sid, phone_number=phone_normalise(to_number)).first()


def _field(params: dict[str, str], name: str, *, required: bool = True, limit: int = 64) -> str:
    value = params.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise WebhookInputError(_("The field %(name)s is missing.") % {"name": name})
    if len(value) > limit:
        raise WebhookInputError(_("The field %(name)s is too long.") % {"name": name})
    return value.strip()


def _sms_fields(params: dict[str, str]) -> dict:
    body = params.get("Body", "")
    if not isinstance(body, str):
        raise WebhookInputError(_("The field %(name)s is missing.") % {"name": "Body"})
    num_media = params.get("NumMedia", "0") or "0"
    if not num_media.isdigit() or int(num_media) > MAX_MEDIA:
        raise WebhookInputError(_("The field %(name)s is malformed.") % {"name": "NumMedia"})
    media = [_field(params, f"MediaUrl{index}", limit=2000) for index in range(int(num_media))]
    if not body.strip() and not media:
        raise WebhookInputError(_("The message has neither text nor media."))
    if body.strip():
        message_validate_text(body)
    return {"body": body, "data": {"media": media} if media else {}}


def _call_fields(params: dict[str, str]) -> dict:
    transcript = params.get("Transcript", "")
    if not isinstance(transcript, str) or not transcript.strip():
        raise WebhookInputError(_("The field %(name)s is missing.") % {"name": "Transcript"})
    message_validate_text(transcript)
    raw_context = params.get("Context", "") or "{}"
    try:
        context = json.loads(raw_context)
    except ValueError:
        context = None
    if not isinstance(context, dict) or len(context) > 100:
        raise WebhookInputError(_("The field %(name)s is malformed.") % {"name": "Context"})
    for value in context.values():
        if not isinstance(value, str | int | float | bool) or (isinstance(value, str) and len(value) > 2000):
            raise WebhookInputError(_("The field %(name)s is malformed.") % {"name": "Context"})
    return {"body": transcript, "data": {"context": context}}


@transaction.atomic
def provider_delivery_receive(*, channel: PhoneChannel, params: dict[str, str]) -> tuple[ProviderDelivery, bool]:
    """Store one verified provider request once (SMS-3, VOI-1); route it after commit.

    The provider's id (MessageSid, CallSid) is unique in the table: a retry or a concurrent
    duplicate finds the first row and stores nothing (``created=False``). Raises
    :class:`WebhookInputError` for unusable content, storing nothing.
    """
    if channel.kind == PhoneChannel.Kind.SMS:
        kind, provider_id = ProviderDelivery.Kind.SMS, _field(params, "MessageSid")
        fields = _sms_fields(params)
    else:
        kind, provider_id = ProviderDelivery.Kind.CALL, _field(params, "CallSid")
        fields = _call_fields(params)
    from_number = phone_normalise(_field(params, "From", limit=32))
    try:
        with transaction.atomic():
            delivery = ProviderDelivery.objects.create(
                channel=channel,
                kind=kind,
                provider_id=provider_id,
                from_number=from_number,
                to_number=_field(params, "To", required=False, limit=32),
                body=fields["body"],
                data=fields["data"],
            )
    except IntegrityError:
        existing = ProviderDelivery.objects.filter(provider_id=provider_id).first()
        if existing is None:
            raise
        return existing, False
    transaction.on_commit(lambda: _schedule_process(delivery.pk))
    return delivery, True


def _schedule_process(delivery_id: int) -> None:
    task_send("conversations.provider_delivery_process", delivery_id)


def _opt_in_change(*, channel: PhoneChannel, phone: str, body: str) -> str:
    word = " ".join(body.split()).upper()
    if word in OPT_OUT_WORDS:
        SmsOptOut.objects.get_or_create(channel=channel, phone_number=phone)
        return "out"
    if word in OPT_IN_WORDS:
        deleted, _rows = SmsOptOut.objects.filter(channel=channel, phone_number=phone).delete()
        return "in" if deleted else ""
    return ""


@transaction.atomic
def provider_delivery_process(*, delivery_id: int) -> ProviderDelivery | None:
    """Turn a stored delivery into a message: continue the number's open conversation on this
    channel, or start one routed through the workstream (SMS-1, VOI-1). Safe to call twice.

    Locks the delivery, then its channel (so two texts from one number start one conversation).
    """
    delivery = ProviderDelivery.objects.select_for_update(no_key=True).filter(pk=delivery_id).first()
    if delivery is None or delivery.processed_at is not None:
        return delivery
    channel = (
        PhoneChannel.objects.select_for_update(no_key=True, of=("self",))
        .select_related("workstream")
        .get(pk=delivery.channel_id)
    )
    phone = delivery.from_number
    change = ""
    conversation = None
    if delivery.kind == ProviderDelivery.Kind.SMS:
        change = _opt_in_change(channel=channel, phone=phone, body=delivery.body)
        conversation = (
            Conversation.objects.filter(phone_channel=channel, customer_phone=phone, status__in=OPEN_STATUSES)
            .order_by("-pk")
            .first()
        )
    text = delivery.body.strip() or "\n".join(delivery.data.get("media", []))
    if conversation is None and change:
        pass  # an opt-out keyword alone is not a request for an agent
    elif conversation is None:
        conversation = _conversation_start(channel=channel, delivery=delivery, text=text)
    else:
        message, _created = message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text=text)
        delivery.message = message
    if conversation is not None and change:
        notice = {
            "out": _("The customer opted out of text messages. Replies cannot be sent until they text START."),
            "in": _("The customer opted in to text messages again."),
        }[change]
        message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=notice)
        publish_on_commit(
            conversation_group(conversation.pk),
            {"type": "conversation.opt_out", "conversation": conversation.pk, "opted_out": change == "out"},
        )
    delivery.processed_at = timezone.now()
    delivery.conversation = conversation
    delivery.save(update_fields=["processed_at", "conversation", "message"])
    return delivery


def _conversation_start(*, channel: PhoneChannel, delivery: ProviderDelivery, text: str) -> Conversation:
    voice = delivery.kind == ProviderDelivery.Kind.CALL
    context = delivery.data.get("context", {}) if voice else {}
    workstream = channel.workstream
    decision = route_evaluate(workstream, Facts(context=context, sms_number=channel.phone_number))
    conversation = Conversation.objects.create(
        channel=Conversation.Channel.VOICE if voice else Conversation.Channel.SMS,
        origin=Conversation.Origin.VOICE if voice else Conversation.Origin.SMS,
        workstream=workstream,
        queue=decision.queue,
        customer_phone=delivery.from_number,
        phone_channel=channel,
        context_variables={name: {"value": value, "isDisplayable": True} for name, value in context.items()},
        last_customer_activity_at=timezone.now(),
    )
    if decision.skills:
        conversation.skills.set(decision.skills)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TRANSITION,
        from_status="",
        to_status=Conversation.Status.OPEN,
        actor=ConversationEvent.Actor.CUSTOMER,
        data={"rule": decision.rule.name if decision.rule else None, "queue": decision.queue.name},
    )
    conversation_started_publish(conversation)
    conversation_phone_contact_match(conversation=conversation)
    if voice:
        text = _("Voice bot transcript:") + "\n" + text
    message, _created = message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text=text)
    delivery.message = message
    conversation_enqueue(conversation, workstream=workstream, queue=decision.queue, skills=decision.skills)
    return conversation


def conversation_phone_contact_match(*, conversation: Conversation) -> list[int]:
    """Match the caller by the contacts' mobile phone, in E.164 (SMS-2).

    The provider's number is a verified identity: one matching contact is linked at once;
    several are offered to the agent (a system note naming them, their ids in the audit row);
    none leaves the conversation unlinked. Returns the matching contacts' ids.
    """
    try:
        matches = list(
            contacts_with_mobile_phone(Contact.objects.all(), conversation.customer_phone).order_by("pk")[:10]
        )
    except ValidationError:
        return []
    if len(matches) == 1:
        conversation_contact_link_verified(conversation=conversation, contact=matches[0], how="matched by mobile phone")
    elif matches:
        ConversationEvent.objects.create(
            conversation=conversation,
            kind=ConversationEvent.Kind.LINKED,
            actor=ConversationEvent.Actor.SYSTEM,
            note="several contacts have this mobile phone",
            data={"candidates": [contact.pk for contact in matches]},
        )
        names = ", ".join(f"{contact.full_name} (#{contact.pk})" for contact in matches)
        message_post(
            conversation_id=conversation.pk,
            sender=Message.Sender.SYSTEM,
            text=_("Several contacts have this mobile number: %(names)s. Choose the right one above the chat.")
            % {"names": names},
        )
    return [contact.pk for contact in matches]


@dataclass(frozen=True)
class ContactCandidate:
    id: int
    name: str
    details: str


def phone_contact_candidates(conversation: Conversation, *, limit: int = 10) -> list[ContactCandidate]:
    """The contacts the agent chooses from when several have the caller's mobile phone (SMS-2).

    Only for an SMS or voice conversation not linked to a contact yet; read now (a contact added
    or changed since the first text counts), at most ``limit``, in one query.
    """
    if conversation.contact_id or not conversation.customer_phone or conversation.phone_channel_id is None:
        return []
    try:
        matches = list(
            contacts_with_mobile_phone(Contact.objects.select_related("account"), conversation.customer_phone).order_by(
                "last_name", "first_name", "pk"
            )[:limit]
        )
    except ValidationError:
        return []
    if len(matches) < 2:
        return []
    return [
        ContactCandidate(
            id=contact.pk,
            name=contact.full_name or _("Contact %(number)s") % {"number": contact.pk},
            details=" · ".join(
                part for part in (contact.email, contact.account.name if contact.account_id else "") if part
            ),
        )
        for contact in matches
    ]


def provider_deliveries_process_overdue(*, limit: int = 200) -> int:
    """Route the stored deliveries whose processing task was lost (design.md, "Time")."""
    cutoff = timezone.now() - timedelta(seconds=10)
    due = list(
        ProviderDelivery.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
        .order_by()
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        _schedule_process(delivery_id)
    return len(due)
