"""SMS provider adapters. Each sends one message and classifies what went wrong (SMS-1)."""

from __future__ import annotations

from conversations.channels.providers import twilio
from conversations.channels.providers.base import (
    AmbiguousProviderError,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
    SendResult,
)

__all__ = [
    "AmbiguousProviderError",
    "PermanentProviderError",
    "ProviderError",
    "RetryableProviderError",
    "SendResult",
    "adapter_for",
]


def adapter_for(provider: str):
    adapters = {"twilio": twilio}
    return adapters[provider]
