"""Realtime events: the group names and the one way to publish to them.

Services never talk to sockets. After their transaction commits they publish an event dict
(``{"type": "conversation.message", ...}``) to a channel-layer group; consumers translate
events into frames. Group names are built only here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from core.channel_layer import RedisPubSubLayer

logger = logging.getLogger(__name__)

SUPERVISORS_GROUP = "supervisors"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def conversation_staff_group(conversation_id: int) -> str:
    """What only agents of a conversation may hear (its private notes): the customer's sockets
    never join it, so nothing sent here can reach them (issue 15)."""
    return f"conversation.{conversation_id}.staff"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def visitor_group(visitor_id: int) -> str:
    return f"visitor.{visitor_id}"


def case_group(case_id: int) -> str:
    """A case's own events (created, updated): what outbound webhooks follow (API-2)."""
    return f"case.{case_id}"


# The in-memory layer keeps asyncio queues that belong to the server's event loop, so a
# publisher on another thread (the embedded Celery worker, a test) must hand the send to that
# loop rather than start its own. Redis needs none of this.
_socket_loop: asyncio.AbstractEventLoop | None = None
_socket_loop_lock = threading.Lock()


def _ran_on_socket_loop(layer, coroutine: Callable[[], Awaitable[None]], *, timeout: float) -> bool:
    """With the in-memory layer, called off the socket loop: run ``coroutine()`` there and wait.

    False when the caller should run it itself (Redis, no socket loop, or already on it).
    """
    loop = _socket_loop
    if not isinstance(layer, InMemoryChannelLayer) or loop is None or not loop.is_running():
        return False
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return False
    asyncio.run_coroutine_threadsafe(coroutine(), loop).result(timeout)
    return True


def bind_socket_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Record the event loop that serves WebSockets in this process (called by the ASGI app)."""
    global _socket_loop
    with _socket_loop_lock:
        if _socket_loop is None or _socket_loop.is_closed() or not _socket_loop.is_running():
            _socket_loop = loop


# A publisher with no event loop of its own or around it (a Celery task, a dispatch pass, a sync
# view under a WSGI or management command) used to send each event through ``async_to_sync``,
# which makes a new thread and a new event loop per call, and so, with Redis, a new connection
# per event (PERF-2: a third of a dispatch pass). Such publishers hand their sends to one event
# loop per process instead, that keeps its connections. Publishers inside ``sync_to_async`` keep
# ``async_to_sync``: asgiref runs the send on the loop around them, where their consumers are.
_publisher_lock = threading.Lock()
_publisher: tuple[int, asyncio.AbstractEventLoop] | None = None
_publisher_layer = None  # the layer last sent through it: its connections there are closed on a change


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop, started on first use (and again in a forked child)."""
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid() or not _publisher[1].is_running():
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            loop.call_soon(ready.set)
            threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
            ready.wait()
            _publisher = (os.getpid(), loop)
        return _publisher[1]


def _inside_sync_to_async() -> bool:
    """Whether this thread runs for ``sync_to_async`` of a live loop (asgiref would send there)."""
    threadlocal = SyncToAsync.threadlocal
    return (
        getattr(threadlocal, "main_event_loop", None) is not None
        and getattr(threadlocal, "main_event_loop_pid", None) == os.getpid()
    )


def _run_send(layer, coroutine: Callable[[], Awaitable[None]], *, timeout: float) -> None:
    """Run ``coroutine()`` (sends on ``layer``) where this caller's events belong, and wait."""
    if _ran_on_socket_loop(layer, coroutine, timeout=timeout):
        return
    if _inside_sync_to_async():
        async_to_sync(coroutine)()
        return
    asyncio.run_coroutine_threadsafe(_on_publisher_loop(layer, coroutine), _publisher_loop()).result(timeout)


async def _on_publisher_loop(layer, coroutine: Callable[[], Awaitable[None]]) -> None:
    global _publisher_layer
    retired, _publisher_layer = _publisher_layer, layer
    if retired is not None and retired is not layer and isinstance(retired, RedisPubSubLayer):
        # Settings changed the layer (tests do): the old one's connections on this loop go.
        try:
            await retired.flush()
        except Exception:
            logger.exception("Could not close the previous channel layer's connections")
    await coroutine()


# A socket handler's database hop (core.consumers.db_hop) runs on a worker thread of the event
# loop that serves the socket. What it publishes is collected here and sent from that loop once the
# hop returns, instead of each send hopping back to the loop and waiting there (PERF-1): the same
# events, after the same commits, in the same order.
_hop_outbox = threading.local()


def collecting_publishes(function: Callable[..., Any]) -> Callable[..., tuple[Any, BaseException | None, list]]:
    """``function`` wrapped to run with its publishes collected: it returns ``(result, raised,
    [(group, event), ...])`` and never raises, so the events of what it committed before failing
    are sent too. For :func:`core.consumers.db_hop`; send them with :func:`group_send_many_async`."""

    def collecting(*args, **kwargs):
        outbox: list[tuple[str, dict[str, Any]]] = []
        outer = getattr(_hop_outbox, "events", None)
        _hop_outbox.events = outbox
        try:
            return function(*args, **kwargs), None, outbox
        except BaseException as raised:  # handed to the loop, raised there after the sends
            return None, raised, outbox
        finally:
            _hop_outbox.events = outer

    return collecting


def group_send_now(group: str, event: dict[str, Any]) -> None:
    """Send an event to a group immediately. Prefer :func:`publish_on_commit` in services."""
    layer = get_channel_layer()
    if layer is None:
        return
    outbox = getattr(_hop_outbox, "events", None)
    if outbox is not None:  # in a socket's database hop: its loop sends it when the hop returns
        outbox.append((group, event))
        return
    _run_send(layer, lambda: layer.group_send(group, event), timeout=10)


async def group_send_async(group: str, event: dict[str, Any]) -> None:
    """:func:`group_send_now` for a coroutine on the socket's event loop: an event that goes with
    no stored change (typing), sent at once without a thread hop."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, event)


_event_sinks: list[Callable[[str, dict[str, Any]], None]] = []


def register_event_sink(sink: Callable[[str, dict[str, Any]], None]) -> None:
    """Let a higher app follow every published domain event (outbound webhooks, API-2), called
    by its ``AppConfig.ready()``. A sink runs inside the publisher's transaction, before commit."""
    if sink not in _event_sinks:
        _event_sinks.append(sink)


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Publish ``event`` to ``group`` once the current transaction commits (now if none).

    An event is a notice that something already stored changed; a lost event is repaired by
    the client's resume ("everything after N"), so a failed send is logged, not raised.
    Registered sinks see the event first, in the same transaction.
    """
    for sink in _event_sinks:
        sink(group, event)

    def send() -> None:
        try:
            group_send_now(group, event)
        except Exception:  # the write is committed; never fail the caller over a notice
            logger.exception("Could not publish %s to %s", event.get("type"), group)

    transaction.on_commit(send)


def group_send_many_now(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send many (group, event) pairs in one go: one after the other on one event loop, so over one
    Redis connection (measured: ~0.6 ms an event, against several ms for a loop and a connection
    each, or for hundreds of concurrent sends). Prefer :func:`publish_many_on_commit` in services."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    outbox = getattr(_hop_outbox, "events", None)
    if outbox is not None:  # in a socket's database hop (group_send_now)
        outbox.extend(events)
        return

    async def send_all() -> None:
        await group_send_many_async(events)

    _run_send(layer, send_all, timeout=30)


async def group_send_many_async(events: list[tuple[str, dict[str, Any]]]) -> None:
    """:func:`group_send_many_now` on the event loop: each in turn, a failed one logged."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group, event in events:
        try:
            await layer.group_send(group, event)
        except Exception:  # one lost notice must not cost the others
            logger.exception("Could not publish %s to %s", event.get("type"), group)


def publish_many_on_commit(events: list[tuple[str, dict[str, Any]]]) -> None:
    """:func:`publish_on_commit` for a batch: one send of all the events once the transaction
    commits. For services that change many rows in one statement (a burst of deadlines), where
    one send per event would cost a connection and a round trip each."""
    events = list(events)

    def send() -> None:
        try:
            group_send_many_now(events)
        except Exception:  # the write is committed; never fail the caller over a notice
            logger.exception("Could not publish %d events", len(events))

    if events:
        transaction.on_commit(send)
