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
written to the dead socket), or a consumer that stopped for any other reason. While the socket
is open its process refreshes its group memberships every ``SOCKET_KEEPALIVE_SECONDS``, so the
channel layer's ``group_expiry`` removes the channels of a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import JsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import ValidationError

from core.errors import DomainError
from core.frames import Frame, frame_errors
from core.limits import FrameBucket, SocketSlot, socket_slot_claim

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
#: Close code for a socket refused because its visitor holds too many (WIDGET_SOCKETS_PER_VISITOR).
CLOSE_TOO_MANY_SOCKETS = 4429


class FrameError(Exception):
    def __init__(self, code: str, message: str, details: Any = None, *, close_code: int | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details
        #: after the error frame, close the socket with this code
        self.close_code = close_code


class ClientGone(BaseException):  # noqa: N818 - not an error: the socket is unwinding
    """The client went away while we were writing to it.

    A ``BaseException``, like ``CancelledError``: no ``except Exception`` of a frame or event
    handler may mistake it for a failure of that frame and answer on the dead socket.
    """


#: Close code for a connection that ended without a close frame (RFC 6455).
ABNORMAL_CLOSURE = 1006


class FrameConsumer(JsonWebsocketConsumer):
    #: frame type → the schema that validates it; handler method is ``frame_<type>``, called
    #: with the validated frame as a dict (optional fields the client left out are absent)
    frames: dict[str, type[Frame]] = {}
    #: domain event types published to our groups that are passed on to the client
    forwarded_events: frozenset[str] = frozenset()
    groups_joined: list[str]
    #: set once the client is known to be gone; nothing is written to the socket after it
    client_gone = False
    #: set once the disconnect path has run (it runs exactly once)
    disconnected = False
    _keepalive: asyncio.Task | None = None
    _keepalive_stop: asyncio.Event

    # --- the socket's life ------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        async def send_unless_gone(message):
            if self.client_gone:
                raise ClientGone
            try:
                await send(message)
            except OSError:  # the server's "client disconnected" (ASGI: an OSError subclass)
                self.client_gone = True
                raise ClientGone from None

        try:
            await super().__call__(scope, receive, send_unless_gone)
        except ClientGone:
            pass  # the client went away mid-send: cleanup follows, as for any other end
        finally:
            await self._stop_keepalive()
            if not self.disconnected:
                await database_sync_to_async(self.disconnect_once)(ABNORMAL_CLOSURE)

    def websocket_disconnect(self, message):
        from channels.exceptions import StopConsumer

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
            except Exception as exc:  # the layer is down: the membership expires (group_expiry)
                logger.warning("Could not leave group %s on disconnect: %s", group, exc)

    def keepalive(self) -> None:
        """Called every ``SOCKET_KEEPALIVE_SECONDS`` while the socket is open, off the consumer's
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
                for group in list(self.groups_joined):
                    await self.channel_layer.group_add(group, self.channel_name)
                await database_sync_to_async(self.keepalive, thread_sensitive=False)()
            except Exception as exc:  # Redis or the database is away: try again at the next beat
                logger.warning("Could not refresh socket %s: %s", self.channel_name, exc)

    # --- frames in ------------------------------------------------------------------------
    frame_bucket: FrameBucket | None = None
    socket_slot: SocketSlot | None = None

    def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.frame_bucket is None:
            self.frame_bucket = FrameBucket.from_settings()
        allowed = self.frame_bucket.take()  # every frame counts, good or bad
        if text_data is None:
            return self.send_error("bad_frame", _("Send JSON text frames."))
        if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
            return self.send_error(
                "frame_too_large", _("Frames are at most %(size)s KB.") % {"size": MAX_FRAME_BYTES // 1024}
            )
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return self.send_error("bad_json", _("The frame is not valid JSON."))
        if not allowed:
            return self.send_error(
                "rate_limited",
                _("Too many frames: at most %(rate)s a second. This frame was not applied.")
                % {"rate": f"{self.frame_bucket.rate:g}"},
                ref=content.get("ref") if isinstance(content, dict) else None,
            )
        if self.socket_slot is not None:
            self.socket_slot.renew()
        self.receive_json(content)

    def receive_json(self, content, **kwargs):
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            if not isinstance(content, dict) or not isinstance(content.get("type"), str):
                raise FrameError("bad_frame", _("A frame is a JSON object with a string “type”."))
            frame_type = content["type"]
            schema = self.frames.get(frame_type)
            if schema is None:
                raise FrameError("unknown_type", _("Unknown frame type “%(type)s”.") % {"type": frame_type[:40]})
            try:
                frame = schema.model_validate(content).data()
            except ValidationError as exc:
                raise FrameError("invalid", _("The frame has invalid fields."), frame_errors(exc)) from None
            getattr(self, f"frame_{frame_type.replace('.', '_')}")(frame)
        except FrameError as exc:
            self.send_error(exc.code, exc.message, details=exc.details, ref=ref)
            if exc.close_code is not None:
                self.close(code=exc.close_code)
        except DomainError as exc:
            self.send_error(exc.code, exc.message, ref=ref)
        except Exception:  # never drop the socket over one frame
            logger.exception("Frame handling failed")
            self.send_error("server_error", _("Something went wrong; the frame was not applied."), ref=ref)

    def hold_visitor_socket(self, *, kind: str, visitor_id: int | None) -> None:
        """Count this socket among the visitor's open ``kind`` sockets (WIDGET_SOCKETS_PER_VISITOR).

        Raises :class:`FrameError` ``too_many_connections`` (the socket is then closed with
        :data:`CLOSE_TOO_MANY_SOCKETS`) when the visitor already holds them all.
        """
        if self.socket_slot is not None or visitor_id is None:
            return
        slot = socket_slot_claim(kind=kind, visitor_id=visitor_id, channel_name=self.channel_name)
        if slot is None:
            raise FrameError(
                "too_many_connections",
                _("Too many open chat connections for this visitor; close another tab and try again."),
                close_code=CLOSE_TOO_MANY_SOCKETS,
            )
        self.socket_slot = slot

    def send_error(self, code: str, message: str, *, details: Any = None, ref: Any = None) -> None:
        frame = {"type": "error", "code": code, "message": message}
        if details is not None:
            frame["details"] = details
        if isinstance(ref, str | int) and not isinstance(ref, bool) and len(str(ref)) <= 64:
            frame["ref"] = ref
        self.send_json(frame)

    # --- events out -----------------------------------------------------------------------
    def __getattr__(self, name: str):
        # Channels looks up a handler named after the event type ("offer.created" →
        # offer_created); every forwarded event shares forward_event.
        if any(event.replace(".", "_") == name for event in type(self).forwarded_events):
            return self.forward_event
        raise AttributeError(name)

    def forward_event(self, event: dict[str, Any]) -> None:
        self.send_json(event)
