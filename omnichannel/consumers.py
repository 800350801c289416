"""The shared shape of our WebSocket consumers: frames in → services, events out → frames.

A client frame is a JSON object with a ``type``; each type has a DRF serializer as its schema.
Anything malformed is answered with an ``error`` frame and the socket stays open. Domain
events published to the consumer's groups (:mod:`omnichannel.realtime`) are forwarded to the
client as frames when their type is in ``forwarded_events``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.generic.websocket import JsonWebsocketConsumer
from rest_framework import serializers

from omnichannel.errors import DomainError

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


class FrameError(Exception):
    def __init__(self, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


class FrameConsumer(JsonWebsocketConsumer):
    #: frame type → serializer class that validates it; handler method is ``frame_<type>``
    frames: dict[str, type[serializers.Serializer]] = {}
    #: domain event types published to our groups that are passed on to the client
    forwarded_events: frozenset[str] = frozenset()
    groups_joined: list[str]

    def join(self, group: str) -> None:
        from asgiref.sync import async_to_sync

        async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.groups_joined = [*getattr(self, "groups_joined", []), group]

    def disconnect(self, code):
        from asgiref.sync import async_to_sync

        for group in getattr(self, "groups_joined", []):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

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
