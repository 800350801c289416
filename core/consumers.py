"""The shared shape of our WebSocket consumers: frames in → services, events out → frames.

A client frame is a JSON object with a ``type``; each type has an exact schema, a strict
pydantic model (:mod:`core.frames`: no coercion, no unknown fields). Anything malformed
is answered with an ``error`` frame that names the fields, nothing is applied, and the socket
stays open. Each socket may send ``SOCKET_FRAMES_PER_SECOND`` frames (bursts of
``SOCKET_FRAME_BURST``); more are answered ``rate_limited`` (:mod:`core.limits`). Domain
events published to the consumer's groups (:mod:`core.realtime`) are forwarded to the
client as frames when their type is in ``forwarded_events``.

Cleanup always runs, exactly once, however the socket ends: a close, a client that vanished
while we wrote to it (the server's send raises; that is no frame error, and nothing more is
written to the dead socket), or a consumer that stopped for any other reason. Group memberships
live in the server process (the channel layer's Redis subscriptions, :mod:`core.channel_layer`):
they go with the consumer, or with the process and its Redis connection when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import ValidationError

from core import realtime
from core.errors import DomainError
from core.frames import Frame, frame_errors
from core.limits import FrameBucket, SocketSlot, socket_slot_claim

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
#: Close code for a socket refused because its visitor holds too many (WIDGET_SOCKETS_PER_VISITOR).
CLOSE_TOO_MANY_SOCKETS = 4429


class FrameError(Exception):
    def __init__(self, code: str, message: str, details: Any = None, *, close_code: int | None = None, ref: Any = None):
        super().__init__(message)
        self.code, self.message, self.details, self.ref = code, message, details, ref
        #: after the error frame, close the socket with this code
        self.close_code = close_code


class ClientGone(BaseException):  # noqa: N818 - not an error: the socket is unwinding
    """The client went away while we were writing to it.

    A ``BaseException``, like ``CancelledError``: no ``except Exception`` of a frame or event
    handler may mistake it for a failure of that frame and answer on the dead socket.
    """


#: Close code for a connection that ended without a close frame (RFC 6455).
ABNORMAL_CLOSURE = 1006


def frame_content(consumer, text_data: str | None) -> Any:
    """The decoded JSON of a client's text frame, counted against the socket's frame budget.

    Raises :class:`FrameError` for a binary, over-long or malformed frame, and for one over the
    budget (every frame counts, good or bad). Shared by the sync and the async frame consumer.
    """
    if consumer.frame_bucket is None:
        consumer.frame_bucket = FrameBucket.from_settings()
    allowed = consumer.frame_bucket.take()
    if text_data is None:
        raise FrameError("bad_frame", _("Send JSON text frames."))
    if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", _("Frames are at most %(size)s KB.") % {"size": MAX_FRAME_BYTES // 1024})
    try:
        content = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise FrameError("bad_json", _("The frame is not valid JSON.")) from None
    if not allowed:
        raise FrameError(
            "rate_limited",
            _("Too many frames: at most %(rate)s a second. This frame was not applied.")
            % {"rate": f"{consumer.frame_bucket.rate:g}"},
            ref=content.get("ref") if isinstance(content, dict) else None,
        )
    return content


def frame_validate(frames: dict[str, type[Frame]], content: Any) -> tuple[str, dict]:
    """``(handler name, validated frame)`` for a decoded frame; :class:`FrameError` if it is not one."""
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise FrameError("bad_frame", _("A frame is a JSON object with a string “type”."))
    frame_type = content["type"]
    schema = frames.get(frame_type)
    if schema is None:
        raise FrameError("unknown_type", _("Unknown frame type “%(type)s”.") % {"type": frame_type[:40]})
    try:
        frame = schema.model_validate(content).data()
    except ValidationError as exc:
        raise FrameError("invalid", _("The frame has invalid fields."), frame_errors(exc)) from None
    return f"frame_{frame_type.replace('.', '_')}", frame


def error_frame(code: str, message: str, *, details: Any = None, ref: Any = None) -> dict:
    frame = {"type": "error", "code": code, "message": message}
    if details is not None:
        frame["details"] = details
    if isinstance(ref, str | int) and not isinstance(ref, bool) and len(str(ref)) <= 64:
        frame["ref"] = ref
    return frame


def visitor_socket_refused() -> FrameError:
    return FrameError(
        "too_many_connections",
        _("Too many open chat connections for this visitor; close another tab and try again."),
        close_code=CLOSE_TOO_MANY_SOCKETS,
    )


class SocketLife:
    """What both frame consumers do for the socket's life: no write once the client is gone, and
    while the socket is open, :meth:`keepalive` called every ``SOCKET_KEEPALIVE_SECONDS``, off
    the consumer's thread."""

    groups_joined: list[str]
    _keepalive: asyncio.Task | None = None
    _keepalive_stop: asyncio.Event

    client_gone = False
    #: set once the disconnect path has run (it runs exactly once)
    disconnected = False
    #: the visitor socket slot this socket holds, if any (:meth:`hold_visitor_socket`)
    socket_slot: SocketSlot | None = None

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, self.send_unless_gone(send))
        except ClientGone:
            pass  # the client went away mid-send: cleanup follows, as for any other end
        finally:
            await self._stop_keepalive()
            if not self.disconnected:
                await self.disconnect_after_end()

    async def disconnect_after_end(self) -> None:
        """Run the disconnect path of a socket that ended without one (its client vanished)."""
        raise NotImplementedError

    def hold_visitor_socket(self, *, kind: str, visitor_id: int | None) -> None:
        """Count this socket among the visitor's open ``kind`` sockets (WIDGET_SOCKETS_PER_VISITOR).

        Raises :class:`FrameError` ``too_many_connections`` (the socket is then closed with
        :data:`CLOSE_TOO_MANY_SOCKETS`) when the visitor already holds them all. Touches the
        cache only: the async consumer calls it inside a handler's :func:`db_hop`.
        """
        if self.socket_slot is not None or visitor_id is None:
            return
        slot = socket_slot_claim(kind=kind, visitor_id=visitor_id, channel_name=self.channel_name)
        if slot is None:
            raise visitor_socket_refused()
        self.socket_slot = slot

    def send_unless_gone(self, send):
        """The server's ``send``, raising :class:`ClientGone` once the client is gone."""

        async def send_unless_gone(message):
            if self.client_gone:
                raise ClientGone
            try:
                await send(message)
            except OSError:  # the server's "client disconnected" (ASGI: an OSError subclass)
                self.client_gone = True
                raise ClientGone from None

        return send_unless_gone

    def keepalive(self) -> None:
        """Called every ``SOCKET_KEEPALIVE_SECONDS`` while the socket is open, on a worker
        thread: subclasses refresh what marks the socket as live."""

    async def _start_keepalive(self) -> None:
        self._keepalive_stop = asyncio.Event()
        self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive(self._keepalive_stop))

    async def _stop_keepalive(self) -> None:
        # Not a cancel: the beat under way finishes first, so no refresh re-adds the socket to a
        # group (or marks it live) after its disconnect path removed it.
        task, self._keepalive = self._keepalive, None
        if task is not None:
            self._keepalive_stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep_alive(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), settings.SOCKET_KEEPALIVE_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                await database_sync_to_async(self.keepalive, thread_sensitive=False)()
            except Exception as exc:  # the database is away: try again at the next beat
                logger.warning("Could not refresh socket %s: %s", self.channel_name, exc)


class FrameConsumer(SocketLife, JsonWebsocketConsumer):
    #: frame type → the schema that validates it; handler method is ``frame_<type>``, called
    #: with the validated frame as a dict (optional fields the client left out are absent)
    frames: dict[str, type[Frame]] = {}
    #: domain event types published to our groups that are passed on to the client
    forwarded_events: frozenset[str] = frozenset()
    #: set once the client is known to be gone; nothing is written to the socket after it
    client_gone = False

    # --- the socket's life ------------------------------------------------------------------
    async def disconnect_after_end(self) -> None:
        await database_sync_to_async(self.disconnect_once)(ABNORMAL_CLOSURE)

    def websocket_disconnect(self, message):
        self.disconnect_once(message.get("code", ABNORMAL_CLOSURE))
        raise StopConsumer()

    def disconnect_once(self, code) -> None:
        """Run the disconnect path (:meth:`disconnect`) once, whichever way the socket ended."""
        if self.disconnected:
            return
        self.disconnected = True
        async_to_sync(self._stop_keepalive)()
        try:
            self.disconnect(code)
        finally:
            # The visitor's socket place (WIDGET_SOCKETS_PER_VISITOR) goes with the socket.
            if self.socket_slot is not None:
                self.socket_slot.release()
                self.socket_slot = None

    def join(self, group: str) -> None:
        async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.groups_joined = [*getattr(self, "groups_joined", []), group]
        if self._keepalive is None:
            async_to_sync(self._start_keepalive)()

    def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            try:
                async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
            except Exception as exc:  # never raised by our layer; a third-party one may
                logger.warning("Could not leave group %s on disconnect: %s", group, exc)

    # --- frames in ------------------------------------------------------------------------
    frame_bucket: FrameBucket | None = None

    def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = frame_content(self, text_data)
        except FrameError as exc:
            return self.send_error(exc.code, exc.message, ref=exc.ref)
        if self.socket_slot is not None:
            self.socket_slot.renew()
        self.receive_json(content)

    def receive_json(self, content, **kwargs):
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            handler, frame = frame_validate(self.frames, content)
            getattr(self, handler)(frame)
        except FrameError as exc:
            self.send_error(exc.code, exc.message, details=exc.details, ref=ref)
            if exc.close_code is not None:
                self.close(code=exc.close_code)
        except DomainError as exc:
            self.send_error(exc.code, exc.message, ref=ref)
        except Exception:  # never drop the socket over one frame
            logger.exception("Frame handling failed")
            self.send_error("server_error", _("Something went wrong; the frame was not applied."), ref=ref)

    def send_error(self, code: str, message: str, *, details: Any = None, ref: Any = None) -> None:
        self.send_json(error_frame(code, message, details=details, ref=ref))

    # --- events out -----------------------------------------------------------------------
    def __getattr__(self, name: str):
        # Channels looks up a handler named after the event type ("offer.created" →
        # offer_created); every forwarded event shares forward_event.
        if any(event.replace(".", "_") == name for event in type(self).forwarded_events):
            return self.forward_event
        raise AttributeError(name)

    def forward_event(self, event: dict[str, Any]) -> None:
        self.send_json(event)


class AsyncFrameConsumer(SocketLife, AsyncJsonWebsocketConsumer):
    """:class:`FrameConsumer` on the event loop, for the chat path (design.md, "Thin edges").

    The same frames, schemas, error frames, frame budget, visitor socket slots and cleanup; the
    handlers (``frame_<type>`` and event handlers) are coroutines. A handler that needs the
    database makes one hop for it: :func:`db_hop` around one function that calls the service.
    Events go out on the event loop: an event handler that needs no database costs no thread.
    """

    frames: dict[str, type[Frame]] = {}
    #: domain event types published to our groups that are passed on to the client as they are
    forwarded_events: frozenset[str] = frozenset()
    frame_bucket: FrameBucket | None = None

    async def disconnect_after_end(self) -> None:
        await self.disconnect_once(ABNORMAL_CLOSURE)

    def __getattr__(self, name: str):
        # As FrameConsumer: every forwarded event ("offer.created" → offer_created) is forward_event.
        if any(event.replace(".", "_") == name for event in type(self).forwarded_events):
            return self.forward_event
        raise AttributeError(name)

    async def forward_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def dispatch(self, message):
        # Channels' own dispatch first hops to the sync thread to close old connections: each
        # db_hop does that on its own thread. Events without a handler here are not for us.
        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            await handler(message)

    async def websocket_disconnect(self, message):
        await self.disconnect_once(message.get("code", ABNORMAL_CLOSURE))
        raise StopConsumer()

    async def disconnect_once(self, code) -> None:
        """Run the disconnect path (:meth:`disconnect`) once, whichever way the socket ended."""
        if self.disconnected:
            return
        self.disconnected = True
        await self._stop_keepalive()
        try:
            await self.disconnect(code)
        finally:
            slot, self.socket_slot = self.socket_slot, None
            if slot is not None:
                await sync_to_async(slot.release, thread_sensitive=False)()

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = [*getattr(self, "groups_joined", []), group]
        if self._keepalive is None:
            await self._start_keepalive()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:  # never raised by our layer; a third-party one may
                logger.warning("Could not leave group %s on disconnect: %s", group, exc)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = frame_content(self, text_data)
        except FrameError as exc:
            return await self.send_error(exc.code, exc.message, ref=exc.ref)
        if self.socket_slot is not None and self.socket_slot.renew_due():
            await sync_to_async(self.socket_slot.renew, thread_sensitive=False)()
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            handler, frame = frame_validate(self.frames, content)
            await getattr(self, handler)(frame)
        except FrameError as exc:
            await self.send_error(exc.code, exc.message, details=exc.details, ref=ref)
            if exc.close_code is not None:
                await self.close(code=exc.close_code)
        except DomainError as exc:
            await self.send_error(exc.code, exc.message, ref=ref)
        except Exception:  # never drop the socket over one frame
            logger.exception("Frame handling failed")
            await self.send_error("server_error", _("Something went wrong; the frame was not applied."), ref=ref)

    async def send_error(self, code: str, message: str, *, details: Any = None, ref: Any = None) -> None:
        await self.send_json(error_frame(code, message, details=details, ref=ref))


def db_hop(function):
    """Run ``function`` on a worker thread of the event loop's pool, not the process's one sync
    thread that every sync consumer shares (channels#2132); old connections are closed around it.

    What it publishes after its commits goes out from the event loop once it returns, in order,
    before its result (or its exception) is handed back: one thread hop per call, none per event
    (:func:`core.realtime.collecting_publishes`)."""
    hop = database_sync_to_async(realtime.collecting_publishes(function), thread_sensitive=False)

    @functools.wraps(function)
    async def run(*args, **kwargs):
        result, raised, published = await hop(*args, **kwargs)
        if published:
            await realtime.group_send_many_async(published)
        if raised is not None:
            raise raised
        return result

    return run
