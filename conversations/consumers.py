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
from core.consumers import AsyncFrameConsumer, FrameError, db_hop
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


class WorkspaceConsumer(AsyncFrameConsumer):
    """Joins the agent's group and passes on what happens to their work.

    Only a signed-in agent, from a page of this site, may connect. A page joins the
    conversations it shows with ``conversation.join``; the consumer then sends every stored
    message after the page's last one and the live ones, each once and in order (CONV-2).

    On the event loop (PERF-1): a frame makes at most one database hop (:func:`db_hop` around
    one function that calls its service; a join makes two, its groups joined in between), and a
    live message goes out without one — rendered on the loop, which reads nothing for it. Channels
    hands a consumer its messages one at a time, so the state below is never touched by two at once.
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

    agent = None
    follows_inbox = False

    async def connect(self):
        agent = await db_hop(self.socket_agent)()
        if agent is None:
            await self.close(code=4403)
            return
        self.agent = agent
        self.user = agent.user  # the real user object (scope["user"] is a lazy proxy)
        #: messages go out as HTML fragments in the page's language (their names, time, delivery)
        self.language = scope_language(self.scope)
        #: joined conversation id → the last message seq this socket has sent for it
        self.last_sent: dict[int, int] = {}
        #: joined conversation id → the last private note id sent (issue 15)
        self.last_note: dict[int, int] = {}
        await self.accept()
        await self.join(agent_group(agent.pk))
        # ROU-8: this open page makes the agent reachable (and restores a presence lost minutes ago).
        await db_hop(agent_connect)(agent_id=agent.pk, channel_name=self.channel_name)
        await self.send_json({"type": "hello", "agent": agent.pk})

    def socket_agent(self):
        """The signed-in agent of a page of this site, or ``None`` (the socket is refused)."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not product_origin_allowed(self.scope):
            return None
        agent = getattr(user, "agent", None)
        if agent is not None:
            agent.user  # noqa: B018 - read here, on the hop, not on the loop
        return agent

    async def disconnect(self, code):
        await super().disconnect(code)
        if self.agent is not None:
            await db_hop(agent_disconnect)(channel_name=self.channel_name)

    async def reply(self, frame: dict, answer: dict) -> None:
        """Send the answer to a frame, carrying its ``ref`` back."""
        if "ref" in frame:
            answer["ref"] = frame["ref"]
        await self.send_json(answer)

    async def ack(self, frame: dict, **fields) -> None:
        await self.reply(frame, {"type": "ack", "frame": frame["type"], **fields})

    async def send_all(self, frames: list[dict]) -> None:
        for frame in frames:
            await self.send_json(frame)

    # --- presence and notifications -------------------------------------------------------
    async def frame_ping(self, frame):
        await self.reply(frame, {"type": "pong"})

    async def frame_heartbeat(self, frame):
        # ROU-8: the page is still open; a server process that dies stops these.
        await db_hop(agent_heartbeat)(agent_id=self.agent.pk, channel_name=self.channel_name)
        await self.ack(frame)

    async def frame_presence_set(self, frame):
        await self.ack(frame, presence=await db_hop(self.presence_store)(frame["presence"]))

    def presence_store(self, presence_id: int) -> int:
        presence = Presence.objects.filter(pk=presence_id).first()
        if presence is None:
            raise NotFound("No such presence.")
        return agent_presence_set(agent_id=self.agent.pk, presence=presence, by=self.user).presence_id

    async def frame_notification_displayed(self, frame):
        # NOT-8: the page showed it, so the agent is really there.
        await db_hop(notification_display)(notification_id=frame["notification"], agent=self.agent)
        await self.ack(frame, notification=frame["notification"])

    async def frame_offer_accept(self, frame):
        await self.reply(frame, await db_hop(self.offer_accept_store)(frame["offer"]))

    def offer_accept_store(self, offer_id: int) -> dict:
        offer = offer_accept(offer_id=offer_id, agent=self.agent)
        conversation_id = offer.work_item.references.get("conversation")
        url = (
            reverse("conversations:conversation", args=[conversation_id])
            if conversation_id
            else reverse("conversations:dashboard")
        )
        return {"type": "offer.accepted", "offer": offer.pk, "conversation": conversation_id, "url": url}

    async def frame_offer_reject(self, frame):
        offer = await db_hop(offer_reject)(offer_id=frame["offer"], agent=self.agent)
        await self.reply(frame, {"type": "offer.rejected", "offer": offer.pk})

    # --- conversations --------------------------------------------------------------------
    async def frame_conversation_join(self, frame):
        conversation_id = frame["conversation"]
        # Refused (not_found) before any group is joined: nothing of it reaches this socket. An
        # agent follows what they may read (SEC-1, read-only unless given); typing needs more.
        await db_hop(workspace.access_readable_conversation)(self.user, self.agent, conversation_id)
        if conversation_id not in self.last_sent:
            # Join the group first, then read: a message stored from now on arrives live or in
            # the backlog (or both — the seq check drops the second copy).
            await self.join(conversation_group(conversation_id))
            await self.join(conversation_staff_group(conversation_id))  # private notes (issue 15)
        await self.send_all(await db_hop(self.join_frames)(frame))

    def join_frames(self, frame: dict) -> list[dict]:
        """What a join sends, in order: ``conversation.joined``, the stored messages after the
        page's last one, the private notes it asked for, and where each SMS reply's delivery stands."""
        conversation_id = frame["conversation"]
        status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True).first()
        joined = {"type": "conversation.joined", "conversation": conversation_id, "status": status}
        if "ref" in frame:
            joined["ref"] = frame["ref"]
        self.last_sent[conversation_id] = frame["after"]
        frames = [joined, *self.backlog_frames(conversation_id)]
        notes_after = frame.get("notes_after")
        if notes_after is not None or conversation_id not in self.last_note:
            self.last_note[conversation_id] = notes_after if notes_after is not None else -1
        if notes_after is not None:
            frames.extend(self.note_frames(conversation_id))
        # SMS-1: where each reply's delivery stands now, moves this page may have missed included.
        frames.extend(sms_delivery_events(conversation_id=conversation_id))
        return frames

    def backlog_frames(self, conversation_id: int, *, up_to: int | None = None) -> list[dict]:
        """The stored messages after the last one sent, in order (to ``up_to`` inclusive), as
        frames; they count as sent."""
        messages = Message.objects.filter(
            conversation_id=conversation_id, seq__gt=self.last_sent[conversation_id]
        ).select_related("sender_user__agent", "attachment")  # the agent's name and the file, in the same query
        if up_to is not None:
            messages = messages.filter(seq__lte=up_to)
        frames = []
        for message in messages.order_by("seq").iterator(chunk_size=500):
            frames.append(self.message_frame(message_event(message)))
            self.last_sent[conversation_id] = message.seq
        return frames

    def message_frame(self, event: dict) -> dict:
        """The ``conversation.message`` frame: the event, the name to show and the message's HTML,
        rendered by the template of the page's history, so live and reloaded read the same (issue 11)."""
        with translation.override(self.language):
            row = workspace.message_row_from_event(event)
            return {**event, "sender_name": row.sender_name, "html": workspace.message_fragment(row)}

    async def conversation_message(self, event):
        """A message stored in a joined conversation: send it once, in sequence order (CONV-2)."""
        conversation_id = event.get("conversation")
        last = self.last_sent.get(conversation_id)
        if last is None or event["seq"] <= last:
            return  # not joined here, or already sent from the backlog
        if event["seq"] == last + 1:
            self.last_sent[conversation_id] = event["seq"]
            await self.send_json(self.message_frame(event))  # the event carries all it shows: no read
            return
        # Events of two senders may arrive out of order; the stored messages never are.
        await self.send_all(await db_hop(self.backlog_frames)(conversation_id, up_to=event["seq"]))

    async def conversation_survey(self, event):
        """The customer answered the post-chat survey (issue 16): a page showing the conversation
        gets the answers with their HTML, rendered as the page renders them on load."""
        if event.get("conversation") not in self.last_sent:
            return
        with translation.override(self.language):
            frame = {**event, "html": workspace.survey_fragment(event)}
        await self.send_json(frame)

    def note_frames(self, conversation_id: int) -> list[dict]:
        """The private notes after the last one sent, in order, as frames (issue 15)."""
        frames = []
        for note in conversation_notes(conversation_id=conversation_id, after=self.last_note[conversation_id]):
            author = note.author.display_name if note.author_id else None
            frames.append(self.note_frame(note_event(note, author_name=author)))
            self.last_note[conversation_id] = note.pk
        return frames

    def note_frame(self, event: dict) -> dict:
        """The ``conversation.note`` frame: the event and its HTML from the thread's one renderer."""
        with translation.override(self.language):
            return {**event, "html": workspace.message_fragment(workspace.note_row_from_event(event))}

    async def conversation_note(self, event):
        """A private note in a joined conversation: once, whether it came from the resume or live."""
        conversation_id = event.get("conversation")
        last = self.last_note.get(conversation_id)
        if last is None or (last >= 0 and event["note"] <= last):
            return
        self.last_note[conversation_id] = event["note"]
        await self.send_json(self.note_frame(event))

    async def conversation_wrap_up_code(self, event):
        if event.get("conversation") in self.last_sent:
            await self.send_json(event)

    async def conversation_tags(self, event):
        # Issue 15: a tag was put on or taken off a joined conversation; the page redraws its tags.
        if event.get("conversation") in self.last_sent:
            await self.send_json(event)

    async def conversation_typing(self, event):
        if event.get("conversation") not in self.last_sent or event.get("agent") == self.agent.pk:
            return  # the agent's own typing is not echoed back to them
        await self.send_json(event)

    async def conversation_delivery(self, event):
        # SMS-1: the delivery status of an agent's SMS reply, shown on that message.
        if event.get("conversation") in self.last_sent:
            await self.send_json(event)

    def joined_conversation(self, conversation_id: int) -> int:
        if conversation_id not in self.last_sent:
            raise FrameError("not_joined", "Join the conversation first (conversation.join).")
        return conversation_id

    async def frame_message_send(self, frame):
        conversation_id = self.joined_conversation(frame["conversation"])
        message = await db_hop(self.message_store)(conversation_id, frame)
        await self.reply(
            frame,
            {
                "type": "message.ack",
                "conversation": conversation_id,
                "client_id": message.client_id,
                "seq": message.seq,
            },
        )

    def message_store(self, conversation_id: int, frame: dict) -> Message:
        message, _created = message_post(
            conversation_id=conversation_id,
            sender=Message.Sender.AGENT,
            text=frame["text"],
            sender_user=self.user,
            client_id=frame.get("client_id"),
            agent=self.agent,
        )
        return message

    async def frame_typing(self, frame):
        conversation_id = self.joined_conversation(frame["conversation"])
        await db_hop(self.typing_publish)(conversation_id, frame["is_typing"])

    def typing_publish(self, conversation_id: int, is_typing: bool) -> None:
        # The customer sees it: only an agent who was given the conversation may be typing in it.
        workspace.access_workspace_conversation(self.user, self.agent, conversation_id)
        # Typing is not stored: it only goes to whoever is in the conversation now (LIVE-2).
        publish_on_commit(
            conversation_group(conversation_id),
            {
                "type": "conversation.typing",
                "conversation": conversation_id,
                "sender": Message.Sender.AGENT,
                "is_typing": is_typing,
                "agent": self.agent.pk,
            },
        )

    async def frame_conversation_end(self, frame):
        await self.ack(frame, **await db_hop(self.end_store)(frame, conversation_agent_end))

    async def frame_conversation_close(self, frame):
        await self.ack(frame, **await db_hop(self.end_store)(frame, conversation_wrap_up_close))

    def end_store(self, frame: dict, service) -> dict:
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = service(
            conversation_id=frame["conversation"], agent=self.agent, wrap_up_code_id=frame.get("wrap_up_code")
        )
        return {"conversation": conversation.pk, "status": conversation.status}

    async def frame_conversation_wrap_up_code(self, frame):
        await self.ack(frame, **await db_hop(self.wrap_up_code_set)(frame))

    def wrap_up_code_set(self, frame: dict) -> dict:
        # Issue 15: the disposition, chosen while the conversation is handled or in wrap-up.
        workspace.access_workspace_conversation(self.user, self.agent, frame["conversation"])
        conversation = conversation_wrap_up_code_set(
            conversation_id=frame["conversation"], agent=self.agent, code_id=frame["wrap_up_code"]
        )
        return {"conversation": conversation.pk, "wrap_up_code": conversation.wrap_up_code_id}

    async def frame_note_post(self, frame):
        # Issue 15: a private note; it comes back to every joined page as conversation.note.
        conversation_id = self.joined_conversation(frame["conversation"])
        note = await db_hop(note_post)(conversation_id=conversation_id, agent=self.agent, text=frame["text"])
        await self.ack(frame, conversation=conversation_id, note=note.pk)

    async def frame_conversation_park(self, frame):
        await self.ack(frame, **await db_hop(self.park_store)(frame["conversation"]))

    def park_store(self, conversation_id: int) -> dict:
        # PER-6: the ✖ of a persistent chat — active → waiting, the capacity and session released.
        workspace.access_workspace_conversation(self.user, self.agent, conversation_id)
        conversation = conversation_park(conversation_id=conversation_id, agent=self.agent)
        return {"conversation": conversation.pk, "status": conversation.status}

    # --- the inbox (issue 15) ---------------------------------------------------------------
    def counts_frame(self, **fields) -> dict:
        return {"type": "inbox.counts", "counts": inbox_counts(self.agent), **fields}

    async def frame_inbox_counts(self, frame):
        """The counts now; from then on this socket follows the inbox (a page without one does not)."""
        self.follows_inbox = True
        await self.reply(frame, await db_hop(self.counts_frame)())

    async def inbox_changed(self, event):
        """Something in the agent's inbox changed: send the counts (one database hop), with why."""
        if self.follows_inbox:
            frame = await db_hop(self.counts_frame)(reason=event.get("reason"), conversation=event.get("conversation"))
            await self.send_json(frame)

    async def frame_conversation_read(self, frame):
        await db_hop(self.read_store)(frame["conversation"], frame["seq"])
        await self.ack(frame, conversation=frame["conversation"])

    def read_store(self, conversation_id: int, seq: int) -> None:
        workspace.access_readable_conversation(self.user, self.agent, conversation_id)
        conversation_mark_read(agent=self.agent, conversation_id=conversation_id, seq=seq)
