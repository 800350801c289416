"""The Twilio (and Twilio-compatible) Messages API adapter (SMS-1)."""

from __future__ import annotations

import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations.channels.providers.base import (
    AmbiguousProviderError,
    PermanentProviderError,
    RetryableProviderError,
    SendResult,
)

#: Provider error codes that explain a permanent refusal better than its own words.
PERMANENT_REASONS = {
    "21610": gettext_lazy("The customer has unsubscribed from texts from this number (STOP)."),
    "21211": gettext_lazy("The customer's phone number is not valid."),
    "21614": gettext_lazy("The customer's number cannot receive text messages."),
    "21408": gettext_lazy("Texts to this region are not enabled for the channel's account."),
    "21612": gettext_lazy("The provider cannot route a text between these two numbers."),
}


def send_message(*, channel, to: str, body: str, status_callback: str) -> SendResult:
    """Create one message at the provider; classify any failure (see the error classes)."""
    url = f"{channel.api_base_url.rstrip('/')}/2010-04-01/Accounts/{channel.account_sid}/Messages.json"
    data = {"To": to, "Body": body, "StatusCallback": status_callback}
    if channel.messaging_service_sid:
        data["MessagingServiceSid"] = channel.messaging_service_sid
    else:
        data["From"] = channel.phone_number
    timeout = httpx.Timeout(settings.SMS_PROVIDER_TIMEOUT_SECONDS)
    try:
        response = httpx.post(url, data=data, auth=(channel.account_sid, channel.auth_token), timeout=timeout)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        # Nothing reached the provider: safe to send again.
        raise RetryableProviderError(_("The SMS provider could not be reached."), code="network") from exc
    except httpx.TransportError as exc:
        # The request went out, the answer did not come: the provider may have sent the text.
        raise AmbiguousProviderError(_("The SMS provider did not answer in time."), code="timeout") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableProviderError(
            _("The SMS provider is unavailable (HTTP %(status)s).") % {"status": response.status_code},
            code=str(payload.get("code") or response.status_code),
        )
    if response.status_code >= 400:
        code = str(payload.get("code") or response.status_code)
        reason = (
            str(PERMANENT_REASONS.get(code) or "")
            or str(payload.get("message") or "")
            or _("The SMS provider refused it.")
        )
        raise PermanentProviderError(reason, code=code)
    sid = payload.get("sid")
    if not isinstance(sid, str) or not sid:
        raise AmbiguousProviderError(_("The SMS provider's answer had no message id."), code="no_sid")
    return SendResult(provider_id=sid[:64], status=str(payload.get("status") or "queued"))
