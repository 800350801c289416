"""The provider's request signature (SMS-1, VOI-1): Twilio's ``X-Twilio-Signature``.

Base64 of HMAC-SHA1, keyed with the channel's auth token, over the full URL the provider
called (with its query string) followed by every POST parameter's name and value, sorted by
name. Compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(*, auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature the provider sends for a POST of ``params`` to ``url``."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twilio_signature_valid(*, auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    """Whether ``signature`` is the provider's signature of this request (constant-time compare)."""
    if not signature or not auth_token:
        return False
    expected = twilio_signature(auth_token=auth_token, url=url, params=params)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))
