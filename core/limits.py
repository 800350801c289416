"""Limits on what one client may make our sockets do (REL-3, SEC-3; docs/live-chat-protocol.md).

- **Frames per second, per socket**: a token bucket (``SOCKET_FRAMES_PER_SECOND`` refilled per
  second, ``SOCKET_FRAME_BURST`` at most) held by the consumer itself — a socket lives in one
  process, so nothing needs sharing. A frame over the limit is answered ``rate_limited`` and not
  applied; the socket stays open.
- **Customer messages per minute, per conversation** (``CUSTOMER_MESSAGES_PER_MINUTE``): a
  counter per conversation and clock minute in Django's cache — Redis when ``REDIS_URL`` is set,
  so every server process counts together; process memory in embedded mode.
- **Widget sockets per visitor** (``WIDGET_SOCKETS_PER_VISITOR``, for the chat socket and for the
  visit socket each): a socket holds one of the visitor's numbered slots in the cache while it is
  open. A slot is a cache key with a timeout, renewed while the socket is used, so the slots of a
  server process that died free themselves (within ``SOCKET_SLOT_SECONDS``).

When the cache cannot be reached the shared limits let the frame through (logged as a warning):
a Redis outage must not stop chats that the channel layer can still carry.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

#: How long an unused socket slot is kept; a socket renews its slot when it is used.
SOCKET_SLOT_SECONDS = 30 * 60
_SLOT_RENEW_SECONDS = 60


@dataclass
class FrameBucket:
    """A token bucket: ``rate`` frames a second on average, bursts of ``burst`` frames."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    @classmethod
    def from_settings(cls) -> FrameBucket:
        return cls(rate=float(settings.SOCKET_FRAMES_PER_SECOND), burst=float(settings.SOCKET_FRAME_BURST))

    def take(self) -> bool:
        """Spend one token if there is one: whether the frame may be applied."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def customer_message_retry_after(*, conversation_id: int) -> int | None:
    """Count one customer message in the conversation's current minute.

    ``None`` when it is within ``CUSTOMER_MESSAGES_PER_MINUTE``; otherwise the seconds until the
    next minute starts, when the customer may write again. A refused message counts too: a
    client that keeps sending is not served sooner.
    """
    limit = settings.CUSTOMER_MESSAGES_PER_MINUTE
    now = time.time()
    key = f"limits:customer-messages:{conversation_id}:{int(now // 60)}"
    try:
        count = _minute_count(key)
    except Exception as exc:  # the cache (Redis) is down: let the message through
        logger.warning("Message limit not counted for conversation %s: %s", conversation_id, exc)
        return None
    if count <= limit:
        return None
    return max(1, math.ceil(60 - now % 60))


def _minute_count(key: str) -> int:
    """Add one to ``key``'s count (kept 90 s) and return it: on Redis one round trip (a message's
    hot path, PERF-1), elsewhere through the cache's own API."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        redis_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(redis_key, write=True)
        # The pickled ints of Django's RedisCache are plain integers in Redis, so INCR reads them.
        pipe = client.pipeline(transaction=False)
        pipe.set(redis_key, 0, ex=90, nx=True)
        pipe.incr(redis_key)
        return int(pipe.execute()[1])
    cache.add(key, 0, timeout=90)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        return 1


@dataclass
class SocketSlot:
    key: str
    channel_name: str
    renewed: float = field(default_factory=time.monotonic)

    def renew_due(self) -> bool:
        """Whether :meth:`renew` would write (an async caller then takes a thread for it)."""
        return time.monotonic() - self.renewed >= _SLOT_RENEW_SECONDS

    def renew(self) -> None:
        """Keep the slot while the socket is used (at most one cache write a minute)."""
        if not self.renew_due():
            return
        self.renewed = time.monotonic()
        try:
            if cache.get(self.key) == self.channel_name:
                cache.touch(self.key, SOCKET_SLOT_SECONDS)
            else:  # expired (or a server restart lost it): take it again if it is free
                cache.add(self.key, self.channel_name, timeout=SOCKET_SLOT_SECONDS)
        except Exception as exc:
            logger.warning("Socket slot %s not renewed: %s", self.key, exc)

    def release(self) -> None:
        try:
            if cache.get(self.key) == self.channel_name:
                cache.delete(self.key)
        except Exception as exc:  # it expires by itself
            logger.warning("Socket slot %s not released: %s", self.key, exc)


def socket_slot_claim(*, kind: str, visitor_id: int, channel_name: str) -> SocketSlot | None:
    """Take one of the visitor's ``WIDGET_SOCKETS_PER_VISITOR`` slots for sockets of ``kind``.

    ``None`` when all are held by other open sockets. ``cache.add`` is atomic (``SET NX`` on
    Redis), so two sockets never hold the same slot.
    """
    limit = settings.WIDGET_SOCKETS_PER_VISITOR
    keys = [f"limits:sockets:{kind}:{visitor_id}:{number}" for number in range(limit)]
    try:
        held = cache.get_many(keys)
        for key in keys:
            if key not in held and cache.add(key, channel_name, timeout=SOCKET_SLOT_SECONDS):
                return SocketSlot(key=key, channel_name=channel_name)
    except Exception as exc:  # the cache (Redis) is down: do not count this socket
        logger.warning("Socket of visitor %s not counted: %s", visitor_id, exc)
        return SocketSlot(key=keys[0] if keys else "", channel_name="")
    return None
