"""The agent workspace socket: one per open workspace page (docs/live-chat-protocol.md).

Frames in are validated by an exact schema each (core.frames) and handed to one service; what happens to the
agent's work (offers, notifications, presence) and to the conversations the page joined comes
back as events on the agent's and the conversations' groups and goes out as frames.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from pydantic import Field

from agents.models import Presence
from agents.services import agent_presence_set
from agents.services.presence import agent_connect, agent_disconnect, agent_heartbeat
from conversations import workspace
from conversations.channels.outbound import sms_delivery_events
from conversations.inbox import inbox_counts
from conversations.models import Conversation, Message
from conversations.notes import conversation_notes, note_event, note_post
from conversations.persistent import conversation_park
from conversations.read_markers import conversation_mark_read
from conversations.services import conversation_agent_end, conversation_wrap_up_close, message_event, message_post
from conversations.wrap_up import conversation_wrap_up_code_set
from core.consumers import FrameConsumer, FrameError
from core.errors import NotFound
from core.frames import Frame, Id, Ref, Seq, Text
from core.realtime import agent_group, conversation_group, conversation_staff_group, publish_on_commit
from core.security import product_origin_allowed
from notifications.services import notification_display
from routing.services import offer_accept, offer_reject


def scope_language(scope) -> str:
    """The language of the page that opened the socket: it says so in the socket's URL
    (``?lang=``, from the page's own ``LANGUAGE_CODE``), else the site's default."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])[0]
    try:
        return translation.get_supported_language_variant(asked) if asked else settings.LANGUAGE_CODE
    except LookupError:
        return settings.LANGUAGE_CODE


class PingFrame(Frame):
    pass


class PresenceSetFrame(Frame):
    presence: Id


class NotificationDisplayedFrame(Frame):
    notification: Id


class OfferFrame(Frame):
    offer: Id


class ConversationFrame(Frame):
    conversation: Id


class ConversationJoinFrame(ConversationFrame):
    after: Seq = 0
    #: The last private note the page shows: later ones follow the backlog (issue 15). Without
    #: it, none are sent: a page that renders the thread has them.
    notes_after: Seq | None = None

    omit_unset = frozenset({"ref", "notes_after"})


class NotePostFrame(ConversationFrame):
    text: Text


class ConversationEndFrame(ConversationFrame):
    #: The wrap-up code chosen with the end or the close (issue 15).
    wrap_up_code: Id | None = None

    omit_unset = frozenset({"ref", "wrap_up_code"})


class WrapUpCodeFrame(ConversationFrame):
    wrap_up_code: Id


class MessageSendFrame(ConversationFrame):
    # Size is the service's rule (CONV-2a: 28 KB in UTF-8) so it answers message_too_large.
    text: Text
    client_id: Annotated[Ref, Field(min_length=1)] | None = None

    omit_unset = frozenset({"ref", "client_id"})


class TypingFrame(ConversationFrame):
    is_typing: bool


class ConversationReadFrame(ConversationFrame):
    seq: Id  # a message's number: 1 or more


class WorkspaceConsumer(FrameConsumer):
    """Joins the agent's group and passes on what happens to their work.

    Only a signed-in agent, from a page of this site, may connect. A page joins the
    conversations it shows with ``conversation.join``; the consumer then sends every stored
    message after the page's last one and the live ones, each once and in order (CONV-2).
    """

    frames = {
        "ping": PingFrame,
        "heartbeat": PingFrame,
        "presence.set": PresenceSetFrame,
        "notification.displayed": NotificationDisplayedFrame,
        "offer.accept": OfferFrame,
        "offer.reject": OfferFrame,
        "conversation.join": ConversationJoinFrame,
        "message.send": MessageSendFrame,
        "typing": TypingFrame,
        "conversation.end": ConversationEndFrame,
        "conversation.close": ConversationEndFrame,
        "conversation.wrap_up_code": WrapUpCodeFrame,
        "note.post": NotePostFrame,
        "conversation.park": ConversationFrame,
        "inbox.counts": PingFrame,  # issue 15: the inbox's counts now, and follow them
        "conversation.read": ConversationReadFrame,  # issue 15: the page showed messages up to seq
    }
    # conversation.message, conversation.typing and conversation.survey have handlers of their own below.
    forwarded_events = frozenset(
        {
            "offer.created",
            "offer.withdrawn",
            "offer.accepted",
            "offer.timed_out",
            "notification.raised",
            "notification.closed",
            "presence.changed",
            "banner.raised",
            "banner.cleared",
            "conversation.status",
            "summary.changed",  # SUM-9: the page re-reads its customer summary
            "queue.items_changed",  # ROU-13: the open-items list re-reads itself
            "conversation.transferred",  # ROU-14
            "conversation.opt_out",  # SMS-1: the customer texted STOP / START
        }
    )

    def connect(self):
        user = self.scope.get("user")
        agent = getattr(user, "agent", None) if user is not None and user.is_authenticated else None
        if agent is None or not product_origin_allowed(self.scope):
            self.close(code=4403)
            return
        self.agent = agent
        self.user = agent.user  # the real user object (scope["user"] is a lazy proxy)
        #: messages go out as HTML fragments in the page's language (their names, time, delivery)
        self.language = scope_language(self.scope)
        #: joined conversation id → the last message seq this socket has sent for it
        self.last_sent: dict[int, int] = {}
        #: joined conversation id → the last private note id sent (issue 15)
        self.last_note: dict[int, int] = {}
        self.accept()
        self.join(agent_group(agent.pk))
        # ROU-8: this open page makes the agent reachable (and restores a presence lost minutes ago).
        agent_connect(agent_id=agent.pk, channel_name=self.channel_name)
        self.send_json({"type": "hello", "agent": agent.pk})

    def disconnect(self, code):
        super().disconnect(code)
        if getattr(self, "agent", None) is not None:
            agent_disconnect(channel_name=self.channel_name)

    def reply(self, frame: dict, answer: dict) -> None:
        """Send the answer to a frame, carrying its ``ref`` back."""
        if "ref" in frame:
            answer["ref"] = frame["ref"]
        self.send_json(answer)

    def ack(self, frame: dict, **fields) -> None:
        self.reply(frame, {"type": "ack", "frame": frame["type"], **fields})

    # --- presence and notifications -------------------------------------------------------
    def frame_ping(self, frame):
        self.reply(frame, {"type": "pong"})

    def frame_heartbeat(self, frame):
        # ROU-8: the page is still open; a server process that dies stops these.
        agent_heartbeat(agent_id=self.agent.pk, channel_name=self.channel_name)
        self.ack(frame)

    def frame_presence_set(self, frame):
        presence = Presence.objects.filter(pk=frame["presence"]).first()
        if presence is None:
            raise NotFound("No such presence.")
        agent = agent_presence_set(agent_id=self.agent.pk, presence=presence, by=self.user)
        self.ack(frame, presence=agent.presence_id)

    def frame_notification_displayed(self, frame):
        # NOT-8: the page showed it, so the agent is really there.
        notification_display(notification_id=frame["notification"], agent=self.agent)
        self.ack(frame, notification=frame["notification"])

    def frame_offer_accept(self, frame):
        offer = offer_accept(offer_id=frame["offer"], agent=self.agent)
        conversation_id = offer.work_item.references.get("conversation")
        url = (
            reverse("conversations:conversation", args=[conversation_id])
            if conversation_id
            else reverse("conversations:dashboard")
        )
        self.reply(frame, {"type": "offer.accepted", "offer": offer.pk, "conversation": conversation_id, "url": url})

    def frame_offer_reject(self, frame):
        offer = offer_reject(offer_id=frame["offer"], agent=self.agent)
        self.reply(frame, {"type": "offer.rejected", "offer": offer.pk})

    # --- conversations --------------------------------------------------------------------
    def frame_conversation_join(self, frame):
        conversation_id = frame["conversation"]
        # Refused (not_found) before any group is joined: nothing of it reaches this socket. An
        # agent follows what they may read (SEC-1, read-only unless given); typing needs more.
        workspace.access_readable_conversation(self.user, self.agent, conversation_id)
        if conversation_id not in self.last_sent:
            # Join the group first, then read: a message stored from now on arrives live or in
            # the backlog (or both — the seq check below drops the second copy).
            self.join(conversation_group(conversation_id))
            self.join(conversation_staff_group(conversation_id))  # private notes (issue 15)
        status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True).first()
        self.reply(frame, {"type": "conversation.joined", "conversation": conversation_id, "status": status})
        self.last_sent[conversation_id] = frame["after"]
        self.send_backlog(conversation_id)
        notes_after = frame.get("notes_after")
        if notes_after is not None or conversation_id not in self.last_note:
            self.last_note[conversation_id] = notes_after if notes_after is not None else -1
        if notes_after is not None:
            self.send_notes(conversation_id)
        # SMS-1: where each reply's delivery stands now, moves this page may have missed included.
        for event in sms_delivery_events(conversation_id=conversation_id):
            self.send_json(event)

    def send_backlog(self, conversation_id: int, *, up_to: int | None = None) -> None:
        """Send the stored messages after the last one sent, in order (to ``up_to`` inclusive)."""
        messages = Message.objects.filter(
            conversation_id=conversation_id, seq__gt=self.last_sent[conversation_id]
        ).select_related("sender_user__agent", "attachment")  # the agent's name and the file, in the same query
        if up_to is not None:
            messages = messages.filter(seq__lte=up_to)
        for message in messages.order_by("seq").iterator(chunk_size=500):
            self.send_json(self.message_frame(message_event(message)))
            self.last_sent[conversation_id] = message.seq

    def message_frame(self, event: dict) -> dict:
        """The ``conversation.message`` frame: the event, the name to show and the message's HTML,
        rendered by the template of the page's history, so live and reloaded read the same (issue 11)."""
        with translation.override(self.language):
            row = workspace.message_row_from_event(event)
            return {**event, "sender_name": row.sender_name, "html": workspace.message_fragment(row)}

    def conversation_message(self, event):
        """A message stored in a joined conversation: send it once, in sequence order (CONV-2)."""
        conversation_id = event.get("conversation")
        last = self.last_sent.get(conversation_id)
        if last is None or event["seq"] <= last:
            return  # not joined here, or already sent from the backlog
        if event["seq"] == last + 1:
            self.send_json(self.message_frame(event))
            self.last_sent[conversation_id] = event["seq"]
            return
        # Events of two senders may arrive out of order; the stored messages never are.
        self.send_backlog(conversation_id, up_to=event["seq"])

    def conversation_survey(self, event):
        """The customer answered the post-chat survey (issue 16): a page showing the conversation
        gets the answers with their HTML, rendered as the page renders them on load."""
        if event.get("conversation") not in self.last_sent:
            return
        with translation.override(self.language):
            self.send_json({**event, "html": workspace.survey_fragment(event)})

    def send_notes(self, conversation_id: int) -> None:
        """Send the private notes after the last one sent, in order (issue 15)."""
        for note in conversation_notes(conversation_id=conversation_id, after=self.last_note[conversation_id]):
            author = note.author.display_name if note.author_id else None
            self.send_json(self.note_frame(note_event(note, author_name=author)))
            self.last_note[conversation_id] = note.pk

    def note_frame(self, event: dict) -> dict:
        """The ``conversation.note`` frame: the event and its HTML from the thread's one renderer."""
        with translation.override(self.language):
            return {**event, "html": workspace.message_fragment(workspace.note_row_from_event(event))}

    def conversation_note(self, event):
        """A private note in a joined conversation: once, whether it came from the resume or live."""
        conversation_id = event.get("conversation")
        last = self.last_note.get(conversation_id)
        if last is None or (last >= 0 and event["note"] <= last):
            return
        self.send_json(self.note_frame(event))
        self.last_note[conversation_id] = event["note"]

    def conversation_wrap_up_code(self, event):
        if event.get("conversation") in self.last_sent:
            self.send_json(event)

    def conversation_tags(self, event):
        # Issue 15: a tag was put on or taken off a joined conversation; the page redraws its tags.
        if event.get("conversation") in self.last_sent:
            self.send_json(event)

    def conversation_typing(self, event):
        if event.get("conversation") not in self.last_sent or event.get("agent") == self.agent.pk:
            return  # the agent's own typing is not echoed back to them
        self.send_json(event)

    def conversation_delivery(self, event):
        # SMS-1: the delivery status of an agent's SMS reply, shown on that message.
        if event.get("conversation") in self.last_sent:
            self.send_json(event)

    def joined_conversation(self, conversation_id: int) -> int:
        if conversation_id not in self.last_sent:
            raise FrameError("not_joined", "Join the conversation first (conversation.join).")
        return conversation_id

    def frame_message_send(self, frame):
        conversation_id = self.joined_conversation(frame["conversation"])
        message, _created = message_post(
            conversation_id=conversation_id,
            sender=Message.Sender.AGENT,
            text=frame["text"],
            sender_user=self.user,
            client_id=frame.get("client_id"),
            agent=self.agent,
        )
        self.reply(
            frame,
            {
                "type": "message.ack",
                "conversation": conversation_id,
                "client_id": message.client_id,
                "seq": message.seq,
            },
        )

    def frame_typing(self, frame):
        conversation_id = self.joined_conversation(frame["conversation"])
        # The customer sees it: only an agent who was given the conversation may be typing in it.
        workspace.access_workspace_conversation(self.user, self.agent, conversation_id)
        # Typing is not stored: it only goes to whoever is in the conversation now (LIVE-2).
        publish_on_commit(
            conversation_group(conversation_id),
            {
                "type": "conversation.typing",
                "conversation": conversation_id,
                "sender": Message.Sender.AGENT,
                "is_typing": frame["is_typing"],
                "agent": self.agent.pk,
            },
        )

    def frame_conversation_end(self, frame):
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = conversation_agent_end(
            conversation_id=frame["conversation"], agent=self.agent, wrap_up_code_id=frame.get("wrap_up_code")
        )
        self.ack(frame, conversation=conversation.pk, status=conversation.status)

    def frame_conversation_close(self, frame):
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = conversation_wrap_up_close(
            conversation_id=frame["conversation"], agent=self.agent, wrap_up_code_id=frame.get("wrap_up_code")
        )
        self.ack(frame, conversation=conversation.pk, status=conversation.status)

    def frame_conversation_wrap_up_code(self, frame):
        # Issue 15: the disposition, chosen while the conversation is handled or in wrap-up.
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = conversation_wrap_up_code_set(
            conversation_id=frame["conversation"], agent=self.agent, code_id=frame["wrap_up_code"]
        )
        self.ack(frame, conversation=conversation.pk, wrap_up_code=conversation.wrap_up_code_id)

    def frame_note_post(self, frame):
        # Issue 15: a private note; it comes back to every joined page as conversation.note.
        conversation_id = self.joined_conversation(frame["conversation"])
        note = note_post(conversation_id=conversation_id, agent=self.agent, text=frame["text"])
        self.ack(frame, conversation=conversation_id, note=note.pk)

    def frame_conversation_park(self, frame):
        # PER-6: the ✖ of a persistent chat — active → waiting, the capacity and session released.
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = conversation_park(conversation_id=frame["conversation"], agent=self.agent)
        self.ack(frame, conversation=conversation.pk, status=conversation.status)

    # --- the inbox (issue 15) ---------------------------------------------------------------
    def counts_frame(self, **fields) -> dict:
        return {"type": "inbox.counts", "counts": inbox_counts(self.agent), **fields}

    def frame_inbox_counts(self, frame):
        """The counts now; from then on this socket follows the inbox (a page without one does not)."""
        self.follows_inbox = True
        self.reply(frame, self.counts_frame())

    def inbox_changed(self, event):
        """Something in the agent's inbox changed: send the counts (one database hop), with why."""
        if getattr(self, "follows_inbox", False):
            self.send_json(self.counts_frame(reason=event.get("reason"), conversation=event.get("conversation")))

    def frame_conversation_read(self, frame):
        workspace.access_readable_conversation(self.user, self.agent, frame["conversation"])
        conversation_mark_read(agent=self.agent, conversation_id=frame["conversation"], seq=frame["seq"])
        self.ack(frame, conversation=frame["conversation"])
