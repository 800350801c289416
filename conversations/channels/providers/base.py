"""What every SMS provider adapter answers: a send's result, and the kinds of failure (SMS-1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str  # the provider's status word, e.g. "queued"


class ProviderError(Exception):
    """A send that did not succeed, with the provider's code and reason."""

    def __init__(self, reason: str, *, code: str = ""):
        super().__init__(reason)
        self.reason = reason[:500]
        self.code = str(code)[:32]


class RetryableProviderError(ProviderError):
    """The provider surely did not accept the message (429, 5xx, no connection): try again later."""


class PermanentProviderError(ProviderError):
    """The provider refused the message for good (opted-out recipient, invalid number…)."""


class AmbiguousProviderError(ProviderError):
    """The request may have reached the provider (a timeout after sending): never resend it blindly."""
