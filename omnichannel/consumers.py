"""The shared shape of our WebSocket consumers: frames in → services, events out → frames.

A client frame is a JSON object with a ``type``; each type has a DRF serializer as its schema.
Anything malformed is answered with an ``error`` frame and the socket stays open. Domain
events published to the consumer's groups (:mod:`omnichannel.realtime`) are forwarded to the
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
from rest_framework import serializers

from omnichannel.errors import DomainError

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


class FrameError(Exception):
    def __init__(self, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


class ClientGone(BaseException):  # noqa: N818 - not an error: the socket is unwinding
    """The client went away while we were writing to it.

    A ``BaseException``, like ``CancelledError``: no ``except Exception`` of a frame or event
    handler may mistake it for a failure of that frame and answer on the dead socket.
    """


#: Close code for a connection that ended without a close frame (RFC 6455).
ABNORMAL_CLOSURE = 1006


class FrameConsumer(JsonWebsocketConsumer):
    #: frame type → serializer class that validates it; handler method is ``frame_<type>``
    frames: dict[str, type[serializers.Serializer]] = {}
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
        self.disconnect(code)

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
    def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            return self.send_error("bad_frame", "Send JSON text frames.")
        if len(text_data.encode()) > MAX_FRAME_BYTES:
            return self.send_error("frame_too_large", f"Frames are at most {MAX_FRAME_BYTES // 1024} KB.")
        try:
            content = json.loads(text_data)
        except ValueError:
            return self.send_error("bad_json", "The frame is not valid JSON.")
        self.receive_json(content)

    def receive_json(self, content, **kwargs):
        ref = content.get("ref") if isinstance(content, dict) else None
        try:
            if not isinstance(content, dict) or not isinstance(content.get("type"), str):
                raise FrameError("bad_frame", "A frame is a JSON object with a string “type”.")
            frame_type = content["type"]
            serializer_class = self.frames.get(frame_type)
            if serializer_class is None:
                raise FrameError("unknown_type", f"Unknown frame type “{frame_type[:40]}”.")
            serializer = serializer_class(data=content)
            if not serializer.is_valid():
                raise FrameError("invalid", "The frame has invalid fields.", serializer.errors)
            getattr(self, f"frame_{frame_type.replace('.', '_')}")(serializer.validated_data)
        except FrameError as exc:
            self.send_error(exc.code, exc.message, details=exc.details, ref=ref)
        except DomainError as exc:
            self.send_error(exc.code, exc.message, ref=ref)
        except Exception:  # never drop the socket over one frame
            logger.exception("Frame handling failed")
            self.send_error("server_error", "Something went wrong; the frame was not applied.", ref=ref)

    def send_error(self, code: str, message: str, *, details: Any = None, ref: Any = None) -> None:
        frame = {"type": "error", "code": code, "message": message}
        if details is not None:
            frame["details"] = details
        if isinstance(ref, str | int):
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
