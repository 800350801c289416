"""The customer's chat socket, ``/ws/widget/<widget key>/`` (docs/live-chat-protocol.md).

One socket follows one conversation, named by its signed conversation token (SEC-1). After
``join`` with ``after=N`` the customer gets ``joined``, then every stored message with seq > N
in order, then live ones: each exactly once, in order (CONV-2, REL-1).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from pydantic import Field

from conversations.customer_presence import customer_socket_heartbeat, customer_socket_join, customer_socket_leave
from conversations.models import Conversation, Message
from conversations.rendering import message_parts, message_sender_name
from conversations.selectors import conversation_messages
from conversations.services import conversation_customer_end, message_event, message_post
from core.consumers import FrameConsumer, FrameError
from core.frames import Frame, Ref, Seq, Text
from core.limits import customer_message_retry_after
from core.realtime import conversation_group, publish_on_commit
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


class WidgetConsumer(FrameConsumer):
    """Frames in → conversation services; the conversation's events → frames out.

    Only a page of one of the widget's allowed origins may connect (WID-3); anyone else is
    refused at the handshake with 4403.
    """

    frames = {"join": JoinFrame, "message.send": MessageSendFrame, "typing": TypingFrame, "chat.end": Frame}

    widget = None
    conversation: Conversation | None = None
    #: The highest message seq this socket has sent: live events at or below it are repeats.
    last_seq = 0

    def connect(self):
        self.widget = selectors.widget_for_key(self.scope["url_route"]["kwargs"]["key"])
        if self.widget is None or not selectors.widget_allows_origin(self.widget, scope_origin(self.scope)):
            self.close(code=4403)
            return
        self.accept()

    def disconnect(self, code):
        super().disconnect(code)
        if self.conversation is not None:
            # LIVE-3: the customer's last socket going starts the grace period; joining again
            # within it keeps the chat.
            try:
                customer_socket_leave(channel_name=self.channel_name)
            except Exception:  # the socket is gone either way; its row goes stale and the sweep acts
                logger.exception("Could not record that the customer left conversation %s", self.conversation.pk)

    def keepalive(self):
        if self.conversation is not None:
            customer_socket_heartbeat(conversation_id=self.conversation.pk, channel_name=self.channel_name)

    @database_sync_to_async
    def dispatch(self, message):
        # Other apps publish more event types to the conversation group than a customer sees
        # (Channels would raise on them); those without a handler here are not for this socket.
        handler = getattr(self, get_handler_name(message), None)
        if handler is not None:
            handler(message)

    # --- frames in ------------------------------------------------------------------------
    def joined_conversation(self) -> Conversation:
        if self.conversation is None:
            raise FrameError("not_joined", "Join a conversation first.")
        return self.conversation

    def frame_join(self, frame):
        if self.conversation is not None:
            raise FrameError("already_joined", "This socket already follows a conversation.")
        conversation = customer_conversation(
            widget=self.widget, token=frame["token"], auth_token=frame.get("auth_token")
        )
        # One of the visitor's WIDGET_SOCKETS_PER_VISITOR (else too_many_connections, closed).
        self.hold_visitor_socket(kind="chat", visitor_id=conversation.visitor_id)
        # Join the group before reading the backlog, so a message stored in between arrives as
        # an event (and is deduplicated by seq) instead of falling into the gap.
        self.join(conversation_group(conversation.pk))
        self.conversation = conversation
        #: the sender names the widget shows, in the widget's display language (I18N-1)
        self.language = self.widget.language or selectors.supported_language(conversation.language)
        self.last_seq = frame["after"]
        returned = customer_socket_join(conversation_id=conversation.pk, channel_name=self.channel_name)
        conversation = returned or conversation
        self.conversation.status = conversation.status
        reply = {"type": "joined", "conversation": str(conversation.public_id), "status": conversation.status}
        if "ref" in frame:
            reply["ref"] = frame["ref"]
        self.send_json(reply)
        self.send_stored(before=None)

    def frame_message_send(self, frame):
        conversation = self.joined_conversation()
        retry_after = customer_message_retry_after(conversation_id=conversation.pk)
        if retry_after is not None:
            raise FrameError(
                "rate_limited",
                _("Too many messages: at most %(limit)s a minute. Try again in %(seconds)s s.")
                % {"limit": settings.CUSTOMER_MESSAGES_PER_MINUTE, "seconds": retry_after},
                {"retry_after": retry_after},
            )
        message, _created = message_post(
            conversation_id=conversation.pk,
            sender=Message.Sender.CUSTOMER,
            text=frame["text"],
            client_id=frame.get("client_id"),
        )
        ack = {"type": "message.ack", "client_id": message.client_id, "seq": message.seq}
        if "ref" in frame:
            ack["ref"] = frame["ref"]
        self.send_json(ack)

    def frame_typing(self, frame):
        conversation = self.joined_conversation()
        # Relayed, never stored: nothing to repair if one is lost.
        publish_on_commit(
            conversation_group(conversation.pk),
            {
                "type": "conversation.typing",
                "conversation": conversation.pk,
                "sender": Message.Sender.CUSTOMER,
                "is_typing": frame["is_typing"],
            },
        )

    def frame_chat_end(self, frame):
        # LIVE-3; the service refuses it for persistent chat (PER-4). The status event follows.
        conversation_customer_end(conversation_id=self.joined_conversation().pk)

    # --- events out -----------------------------------------------------------------------
    def is_ours(self, event: dict[str, Any]) -> bool:
        return self.conversation is not None and event.get("conversation") == self.conversation.pk

    def send_message(self, event: dict[str, Any]) -> None:
        frame = {"type": "conversation.message", "conversation": str(self.conversation.public_id)}
        frame.update({name: event[name] for name in MESSAGE_FIELDS if name in event})
        # The widget holds no link rule and no naming rule of its own: it builds text nodes and
        # anchors from these parts, and shows this name (issue 11, SEC-2).
        frame["parts"] = message_parts(event["text"])
        with translation.override(self.language):
            frame["sender_name"] = message_sender_name(sender=event["sender"], agent_name=event.get("agent_name"))
        self.send_json(frame)
        self.last_seq = event["seq"]

    def send_stored(self, *, before: int | None) -> None:
        """Send the stored messages after :attr:`last_seq` (and before ``before``), in order."""
        messages = conversation_messages(conversation=self.conversation, after=self.last_seq).select_related(
            "sender_user__agent"  # the writing agent's name, in the same query
        )
        if before is not None:
            messages = messages.filter(seq__lt=before)
        for message in messages.iterator(chunk_size=200):
            self.send_message(message_event(message))

    def conversation_message(self, event):
        if not self.is_ours(event) or event["seq"] <= self.last_seq:
            return
        if event["seq"] > self.last_seq + 1:
            # Publishers race after commit, so an event may overtake an earlier one: fill the
            # gap from the store (it is committed) and drop the late event when it comes.
            self.send_stored(before=event["seq"])
        self.send_message(event)

    def conversation_typing(self, event):
        if self.is_ours(event) and event.get("sender") != Message.Sender.CUSTOMER:
            self.send_json(
                {
                    "type": "conversation.typing",
                    "conversation": str(self.conversation.public_id),
                    "sender": event.get("sender"),
                    "is_typing": bool(event.get("is_typing")),
                }
            )

    def conversation_status(self, event):
        if self.is_ours(event):
            self.conversation.status = event["status"]
            self.send_json(
                {
                    "type": "conversation.status",
                    "conversation": str(self.conversation.public_id),
                    "status": event["status"],
                    "previous": event.get("previous"),
                }
            )
