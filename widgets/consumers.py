"""The customer's chat socket, ``/ws/widget/<widget key>/`` (docs/live-chat-protocol.md).

One socket follows one conversation, named by its signed conversation token (SEC-1). After
``join`` with ``after=N`` the customer gets ``joined``, then every stored message with seq > N
in order, then live ones: each exactly once, in order (CONV-2, REL-1).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from pydantic import Field

from conversations.attachments import size_label
from conversations.customer_presence import customer_socket_heartbeat, customer_socket_join, customer_socket_leave
from conversations.models import Conversation, Message
from conversations.rendering import attachment_parts, message_parts, message_sender_name
from conversations.selectors import conversation_messages
from conversations.services import conversation_customer_end, message_event, message_post
from core import realtime
from core.consumers import AsyncFrameConsumer, FrameError, db_hop
from core.frames import Frame, Ref, Seq, Text
from core.limits import customer_message_retry_after
from core.realtime import conversation_group
from core.security import scope_origin
from widgets import selectors
from widgets.api import MAX_AUTH_TOKEN_LENGTH, MAX_TOKEN_LENGTH
from widgets.persistent import customer_conversation

logger = logging.getLogger(__name__)

#: What a customer may see of a message event; anything else a publisher adds stays inside.
#: ``sender_name`` and ``parts`` are added here (conversations.rendering): the widget shows them as given.
MESSAGE_FIELDS = ("seq", "sender", "text", "client_id", "created_at")


class JoinFrame(Frame):
    token: Annotated[Text, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    # Persistent chat: the customer's sign-in JWT, fresh at every (re)connect (AUTH-2, PER-3).
    auth_token: Annotated[Text, Field(max_length=MAX_AUTH_TOKEN_LENGTH)] | None = None
    after: Seq = 0

    omit_unset = frozenset({"ref", "auth_token"})


class MessageSendFrame(Frame):
    # Blank and over-long text are the message service's to refuse (CONV-2a), with its codes.
    text: Text
    client_id: Annotated[Ref, Field(min_length=1)] | None = None

    omit_unset = frozenset({"ref", "client_id"})


class TypingFrame(Frame):
    is_typing: bool


class WidgetConsumer(AsyncFrameConsumer):
    """Frames in → conversation services; the conversation's events → frames out.

    Only a page of one of the widget's allowed origins may connect (WID-3); anyone else is
    refused at the handshake with 4403. On the event loop (PERF-1): each frame makes at most one
    database hop (:func:`~core.consumers.db_hop` around the service calls it needs), and a live
    message event goes out without one.
    """

    frames = {"join": JoinFrame, "message.send": MessageSendFrame, "typing": TypingFrame, "chat.end": Frame}

    widget = None
    conversation: Conversation | None = None
    #: The highest message seq this socket has sent: live events at or below it are repeats.
    last_seq = 0

    async def connect(self):
        self.widget = await db_hop(selectors.widget_for_key)(self.scope["url_route"]["kwargs"]["key"])
        if self.widget is None or not selectors.widget_allows_origin(self.widget, scope_origin(self.scope)):
            await self.close(code=4403)
            return
        await self.accept()

    async def disconnect(self, code):
        await super().disconnect(code)
        if self.conversation is not None:
            # LIVE-3: the customer's last socket going starts the grace period; joining again
            # within it keeps the chat.
            try:
                await db_hop(customer_socket_leave)(channel_name=self.channel_name)
            except Exception:  # the socket is gone either way; its row goes stale and the sweep acts
                logger.exception("Could not record that the customer left conversation %s", self.conversation.pk)

    #: The availability this socket last told its customer (LIVE-4).
    availability: dict | None = None

    def keepalive(self):
        if self.conversation is not None:
            customer_socket_heartbeat(conversation_id=self.conversation.pk, channel_name=self.channel_name)
            # Whether somebody can answer now, told again when it changed (cached per widget:
            # one read for all the widget's sockets at each beat).
            availability = selectors.widget_unavailable_notice(self.widget, language=self.language)
            if availability != self.availability:
                self.availability = availability
                async_to_sync(self.send_json)({"type": "availability", **availability})

    # --- frames in ------------------------------------------------------------------------
    def joined_conversation(self) -> Conversation:
        if self.conversation is None:
            raise FrameError("not_joined", _("Join a conversation first."))
        return self.conversation

    async def frame_join(self, frame):
        if self.conversation is not None:
            raise FrameError("already_joined", _("This socket already follows a conversation."))
        reply, stored = await db_hop(self.join_store)(frame)
        await self.send_json(reply)
        await self.send_events(stored)

    def join_store(self, frame) -> tuple[dict, list[dict]]:
        """The join's one database hop: find the conversation, take a visitor socket slot, join
        its group, mark the customer here, and read the backlog after ``after``."""
        conversation = customer_conversation(
            widget=self.widget, token=frame["token"], auth_token=frame.get("auth_token")
        )
        # One of the visitor's WIDGET_SOCKETS_PER_VISITOR (else too_many_connections, closed).
        self.hold_visitor_socket(kind="chat", visitor_id=conversation.visitor_id)
        # Join the group before reading the backlog, so a message stored in between arrives as
        # an event (and is deduplicated by seq) instead of falling into the gap.
        async_to_sync(self.join)(conversation_group(conversation.pk))
        self.conversation = conversation
        #: the sender names the widget shows, in the widget's display language (I18N-1)
        self.language = self.widget.language or selectors.supported_language(conversation.language)
        self.last_seq = frame["after"]
        returned = customer_socket_join(conversation_id=conversation.pk, channel_name=self.channel_name)
        conversation = returned or conversation
        self.conversation.status = conversation.status
        self.availability = selectors.widget_unavailable_notice(self.widget, language=self.language)
        reply = {
            "type": "joined",
            "conversation": str(conversation.public_id),
            "status": conversation.status,
            "availability": self.availability,
        }
        if "ref" in frame:
            reply["ref"] = frame["ref"]
        return reply, self.stored_events(before=None)

    async def frame_message_send(self, frame):
        conversation = self.joined_conversation()
        message = await db_hop(self.message_store)(conversation.pk, frame)
        ack = {"type": "message.ack", "client_id": message.client_id, "seq": message.seq}
        if "ref" in frame:
            ack["ref"] = frame["ref"]
        await self.send_json(ack)

    @staticmethod
    def message_store(conversation_id: int, frame) -> Message:
        """The message's one hop: its place in the customer's budget, then the message service."""
        retry_after = customer_message_retry_after(conversation_id=conversation_id)
        if retry_after is not None:
            raise FrameError(
                "rate_limited",
                _("Too many messages: at most %(limit)s a minute. Try again in %(seconds)s s.")
                % {"limit": settings.CUSTOMER_MESSAGES_PER_MINUTE, "seconds": retry_after},
                {"retry_after": retry_after},
            )
        message, _created = message_post(
            conversation_id=conversation_id,
            sender=Message.Sender.CUSTOMER,
            text=frame["text"],
            client_id=frame.get("client_id"),
        )
        return message

    async def frame_typing(self, frame):
        conversation = self.joined_conversation()
        # Relayed, never stored: nothing to repair if one is lost. No transaction here, so it
        # goes out now, from the event loop.
        await realtime.group_send_async(
            conversation_group(conversation.pk),
            {
                "type": "conversation.typing",
                "conversation": conversation.pk,
                "sender": Message.Sender.CUSTOMER,
                "is_typing": frame["is_typing"],
            },
        )

    async def frame_chat_end(self, frame):
        # LIVE-3; the service refuses it for persistent chat (PER-4). The status event follows.
        await db_hop(conversation_customer_end)(conversation_id=self.joined_conversation().pk)

    # --- events out -----------------------------------------------------------------------
    def is_ours(self, event: dict[str, Any]) -> bool:
        return self.conversation is not None and event.get("conversation") == self.conversation.pk

    def message_frame(self, event: dict[str, Any]) -> dict:
        frame = {"type": "conversation.message", "conversation": str(self.conversation.public_id)}
        frame.update({name: event[name] for name in MESSAGE_FIELDS if name in event})
        # The widget holds no link rule and no naming rule of its own: it builds text nodes and
        # anchors from these parts, and shows this name (issue 11, SEC-2).
        with translation.override(self.language):
            frame["sender_name"] = message_sender_name(sender=event["sender"], agent_name=event.get("agent_name"))
            if event.get("agent_avatar"):  # issue 16: a signed, expiring link to the agent's picture
                frame["sender_avatar"] = event["agent_avatar"]
            if event.get("attachment"):  # a file (issue 16): its parts and size in the widget's language
                frame["attachment"] = {**event["attachment"], "size_label": size_label(event["attachment"]["size"])}
                frame["parts"] = attachment_parts(event["attachment"])
            else:
                frame["parts"] = message_parts(event["text"])
        return frame

    async def send_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self.send_json(self.message_frame(event))
            self.last_seq = event["seq"]

    def stored_events(self, *, before: int | None) -> list[dict[str, Any]]:
        """The stored messages after :attr:`last_seq` (and before ``before``), in order, as events."""
        messages = conversation_messages(conversation=self.conversation, after=self.last_seq).select_related(
            "sender_user__agent"  # the writing agent's name, in the same query (and the file, issue 16)
        )
        if before is not None:
            messages = messages.filter(seq__lt=before)
        return [message_event(message) for message in messages.iterator(chunk_size=200)]

    async def conversation_message(self, event):
        if not self.is_ours(event) or event["seq"] <= self.last_seq:
            return
        if event["seq"] > self.last_seq + 1:
            # Publishers race after commit, so an event may overtake an earlier one: fill the
            # gap from the store (it is committed) and drop the late event when it comes.
            await self.send_events(await db_hop(self.stored_events)(before=event["seq"]))
        await self.send_events([event])

    async def conversation_typing(self, event):
        if self.is_ours(event) and event.get("sender") != Message.Sender.CUSTOMER:
            await self.send_json(
                {
                    "type": "conversation.typing",
                    "conversation": str(self.conversation.public_id),
                    "sender": event.get("sender"),
                    "is_typing": bool(event.get("is_typing")),
                }
            )

    async def conversation_status(self, event):
        if self.is_ours(event):
            self.conversation.status = event["status"]
            await self.send_json(
                {
                    "type": "conversation.status",
                    "conversation": str(self.conversation.public_id),
                    "status": event["status"],
                    "previous": event.get("previous"),
                }
            )
