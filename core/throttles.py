"""Per-token rate limits of the developer API, counted in the shared cache (Redis in production).

Every caller with credentials has its own budget: a user's token by token, a session by user,
a bot client by its key. A credential with a budget of its own says so with ``throttle_scope``
(the rate's name), ``throttle_rate`` (its own rate or empty) and ``throttle_ident``.
The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``api_token`` and ``bot``;
settings ``API_TOKEN_THROTTLE_RATE`` and ``BOT_API_THROTTLE_RATE``), and a bot client may have a rate of its own.
Past it: 429 with ``Retry-After`` (DRF's ``Throttled``).
"""

from __future__ import annotations

import hashlib

from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def rate_is_valid(rate: str) -> bool:
    """Whether DRF can read ``rate`` ("120/min", "10/s", "1000/day") as a positive rate."""
    try:
        number, period = rate.split("/")
        return int(number) > 0 and period[0] in "smhd" and period.isalpha()
    except (ValueError, IndexError):
        return False


class ApiTokenThrottle(SimpleRateThrottle):
    """One budget per token: ``api_token`` for users, ``bot`` (or the client's own) for bots."""

    cache_format = "throttle_api_%(scope)s_%(ident)s"

    def __init__(self):  # the rate is chosen per request, in allow_request
        pass

    def allow_request(self, request, view) -> bool:
        self.rate = self.rate_for(request)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def rate_for(self, request) -> str | None:
        rates = api_settings.DEFAULT_THROTTLE_RATES
        scope = getattr(request.auth, "throttle_scope", None)
        if scope:  # a credential with a budget of its own (a bot client)
            return request.auth.throttle_rate or rates.get(scope)
        return rates.get("api_token")

    def get_cache_key(self, request, view) -> str | None:
        scope = getattr(request.auth, "throttle_scope", None)
        if scope:
            return self.cache_format % {"scope": scope, "ident": request.auth.throttle_ident}
        if isinstance(request.auth, Token):  # never the key itself in the cache
            return self.cache_format % {
                "scope": "token",
                "ident": hashlib.sha256(request.auth.key.encode()).hexdigest()[:32],
            }
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "user", "ident": request.user.pk}
        return None  # anonymous: refused by authentication, or a public endpoint with its own throttle
