"""The provider's webhooks: inbound SMS, status callbacks, the voice hand-off (SMS-1, SMS-3, VOI-1).

Each request is checked against the signature of the channel it names, over the public URL
the provider called. Unsigned, forged and unknown-channel requests get 403 and store nothing;
signed requests with unusable content get 400. They answer at once; routing runs after commit.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations.channels import outbound as outbound_services
from conversations.channels import sms
from conversations.channels.models import OutboundSms, PhoneChannel
from conversations.channels.signature import twilio_signature_valid
from conversations.errors import ConversationError

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _params(request: HttpRequest) -> tuple[list[tuple[str, str]], dict[str, str] | None]:
    """Every POST pair (what the signature covers) and, when each name is there once, a dict."""
    pairs = [(name, value) for name, values in request.POST.lists() for value in values]
    single = {name: values[0] for name, values in request.POST.lists() if len(values) == 1}
    return pairs, single if len(single) == len(request.POST) else None


def _signed(request: HttpRequest, channel: PhoneChannel, pairs: list[tuple[str, str]]) -> bool:
    url = channel.public_base_url.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    return twilio_signature_valid(auth_token=channel.auth_token, url=url, params=pairs, signature=signature)


def _refused() -> HttpResponse:
    return HttpResponseForbidden(_("This request is not signed by a known channel."), content_type="text/plain")


def _inbound(request: HttpRequest, *, kind: str) -> HttpResponse:
    if request.content_type != "application/x-www-form-urlencoded":
        return _refused()
    pairs, params = _params(request)
    lookup = params or {}
    channel = sms.phone_channel_find(
        kind=kind,
        account_sid=lookup.get("AccountSid", ""),
        to_number=lookup.get("To", ""),
        messaging_service_sid=lookup.get("MessagingServiceSid", ""),
    )
    if channel is None or not _signed(request, channel, pairs):
        return _refused()
    if params is None:
        return HttpResponseBadRequest(_("Each field may be sent once."), content_type="text/plain")
    try:
        sms.provider_delivery_receive(channel=channel, params=params)
    except ConversationError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain")
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_sms_inbound(request: HttpRequest) -> HttpResponse:
    return _inbound(request, kind=PhoneChannel.Kind.SMS)


@csrf_exempt
@require_POST
def twilio_voice_handoff(request: HttpRequest) -> HttpResponse:
    return _inbound(request, kind=PhoneChannel.Kind.VOICE)


@csrf_exempt
@require_POST
def twilio_sms_status(request: HttpRequest, outbound_id) -> HttpResponse:
    outbound = OutboundSms.objects.select_related("channel").filter(public_id=outbound_id).first()
    if outbound is None or request.content_type != "application/x-www-form-urlencoded":
        return _refused()
    pairs, params = _params(request)
    if (
        not _signed(request, outbound.channel, pairs)
        or (params or {}).get("AccountSid") != outbound.channel.account_sid
    ):
        return _refused()
    if params is None or not params.get("MessageSid") or not params.get("MessageStatus"):
        return HttpResponseBadRequest(_("MessageSid and MessageStatus are required."), content_type="text/plain")
    try:
        outbound_services.sms_status_apply(
            outbound_id=outbound.pk,
            provider_id=params["MessageSid"][:64],
            status=params["MessageStatus"],
            error_code=params.get("ErrorCode", "")[:32],
        )
    except ConversationError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain")
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
