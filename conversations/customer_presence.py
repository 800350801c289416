"""Is the customer still in the chat? One ``CustomerConnection`` row per open customer socket (LIVE-3).

A customer may follow a conversation from several tabs. They are gone only when their last
live socket is: then the grace period starts (``conversation_customer_left``), and joining again
within it keeps the chat. Every change happens under the conversation's row lock (taken first,
then its connection rows), so a tab closing while another joins cannot both see "someone else is
still here" or both miss it.

A server process that dies runs no disconnect at all. Its sockets' rows stop being refreshed
(the process beats every ``SOCKET_KEEPALIVE_SECONDS``), and once a row is older than
``CUSTOMER_SOCKET_STALE`` the periodic sweep deletes it and, if it was the customer's last,
starts the grace period from the moment the customer was last seen (REL-2). The same pattern as
agents' workspace pages (:mod:`agents.services.presence`).

These functions do not know about sockets or Channels: a consumer (sync today, async later)
calls them with its channel name.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from conversations.models import Conversation, CustomerConnection
from conversations.services import conversation_customer_left, conversation_customer_returned


def customer_socket_stale() -> timedelta:
    """A socket row older than this belongs to a server process that died: three missed beats."""
    return timedelta(seconds=3 * settings.SOCKET_KEEPALIVE_SECONDS)


def _locked(conversation_id: int) -> Conversation | None:
    return Conversation.objects.select_for_update(no_key=True).filter(pk=conversation_id).first()


def _live_sockets(conversation_id: int, *, now: datetime):
    return CustomerConnection.objects.filter(
        conversation_id=conversation_id, last_seen_at__gte=now - customer_socket_stale()
    )


@transaction.atomic
def customer_socket_join(*, conversation_id: int, channel_name: str) -> Conversation | None:
    """A customer's socket now follows the conversation: the customer is here (LIVE-3).

    Ends a running grace period. Safe to call again for the same socket (it refreshes its row).
    Takes the conversation's row lock, then the socket's row.
    """
    conversation = _locked(conversation_id)
    if conversation is None:
        return None
    now = timezone.now()
    CustomerConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"conversation_id": conversation_id, "connected_at": now, "last_seen_at": now},
    )
    return conversation_customer_returned(conversation_id=conversation_id)


@transaction.atomic
def customer_socket_leave(*, channel_name: str) -> Conversation | None:
    """A customer's socket closed (or its client vanished). The last live one going starts the
    grace period (LIVE-3); while another tab is still there nothing changes.

    Safe to call twice: a second call finds no row and changes nothing. Lock order as in
    :func:`customer_socket_join`.
    """
    conversation_id = (
        CustomerConnection.objects.filter(channel_name=channel_name).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        return None
    conversation = _locked(conversation_id)
    CustomerConnection.objects.filter(channel_name=channel_name).delete()
    if conversation is None or _live_sockets(conversation_id, now=timezone.now()).exists():
        return conversation
    return conversation_customer_left(conversation_id=conversation_id)


def customer_socket_heartbeat(*, conversation_id: int, channel_name: str) -> None:
    """The server process still holds this socket: keep its row live.

    A row the sweep already dropped (the process paused for longer than the stale time) comes
    back as a join: the socket is open, so the customer is here.
    """
    seen = CustomerConnection.objects.filter(channel_name=channel_name).update(last_seen_at=timezone.now())
    if not seen:
        customer_socket_join(conversation_id=conversation_id, channel_name=channel_name)


@transaction.atomic
def _drop_stale_sockets(*, conversation_id: int, stale_before: datetime) -> bool:
    conversation = _locked(conversation_id)
    stale = CustomerConnection.objects.filter(conversation_id=conversation_id, last_seen_at__lt=stale_before)
    last_seen = stale.aggregate(last=Max("last_seen_at"))["last"]
    stale.delete()
    if conversation is None or last_seen is None or _live_sockets(conversation_id, now=timezone.now()).exists():
        return False
    # Present until the last sign of life: the grace period counts from it.
    left = conversation_customer_left(conversation_id=conversation_id, left_at=last_seen)
    return left is not None and left.customer_left_at == last_seen


def customer_sockets_drop_stale(*, limit: int = 500) -> int:
    """The sweep's part of LIVE-3 (REL-2): drop the sockets of server processes that died, and
    start the grace period of every conversation whose customer has no live socket left.
    Returns how many grace periods it started."""
    stale_before = timezone.now() - customer_socket_stale()
    conversation_ids = list(
        CustomerConnection.objects.filter(last_seen_at__lt=stale_before)
        .order_by("conversation_id")
        .values_list("conversation_id", flat=True)
        .distinct()[:limit]
    )
    return sum(
        _drop_stale_sockets(conversation_id=conversation_id, stale_before=stale_before)
        for conversation_id in conversation_ids
    )
