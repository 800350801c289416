"""Reads of the agent workspace: who may use it, which conversations an agent was given, and the
read models of the dashboard and the conversation page (LIVE-2, NOT-4, SUM-6..13).

Pages and the workspace socket share these, so the access rule for a conversation lives here
once. Every builder fetches what its page shows in a fixed number of queries, whatever the
number of sessions or messages (SUM-17).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from agents.models import MAX_SESSIONS, AgentProfile, Presence
from agents.selectors import agent_for_user, oversees_all
from conversations.attachments import attachment_event, message_attachment
from conversations.canned import canned_replies
from conversations.channels.outbound import delivery_display, sms_opted_out
from conversations.channels.sms import phone_contact_candidates
from conversations.chat_settings import chat_settings_of
from conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationNote,
    ConversationParticipant,
    Message,
    Session,
)
from conversations.rendering import (
    customer_name,
    message_agent_name,
    message_markup,
    message_sender_name,
    message_time,
)
from conversations.selectors import conversations_visible_to
from conversations.wrap_up import wrap_up_codes_of
from core.errors import NotFound
from notifications import selectors as notification_selectors
from notifications.models import AgentBanner
from routing.models import Offer

#: The conversation page shows at most this many of the latest messages; the socket's resume
#: ("everything after N") starts from the last one shown.
HISTORY_LIMIT = 500


# --- Who may use the workspace ----------------------------------------------------------------
def workspace_agent(user: AbstractBaseUser | AnonymousUser) -> AgentProfile | None:
    """The signed-in user's agent profile: only agents (and supervisors) use the workspace."""
    return agent_for_user(user)


def conversations_given_to(user: AbstractBaseUser, agent: AgentProfile) -> QuerySet[Conversation]:
    """The conversations an agent may open in the workspace and join on the socket.

    Narrower than SEC-1 visibility: an agent works on a conversation they were given — they hold
    it or held it (it names them, an offer of it was accepted by them, or they had a session on
    it). Supervisors and admins may open any (ROU-15: they are brought in to consult).
    """
    conversations = Conversation.objects.all()
    if oversees_all(user):
        return conversations
    accepted = Offer.objects.filter(agent=agent, status=Offer.Status.ACCEPTED, work_item=OuterRef("work_item"))
    had_session = Session.objects.filter(agent=agent, conversation=OuterRef("pk"))
    consulted = ConversationParticipant.objects.filter(agent=agent, conversation=OuterRef("pk"))  # ROU-15
    return conversations.filter(Q(agent=agent) | Exists(accepted) | Exists(had_session) | Exists(consulted))


def access_workspace_conversation(user: AbstractBaseUser, agent: AgentProfile, conversation_id: int) -> Conversation:
    """One conversation the agent was given, or :class:`NotFound` (the same for missing and forbidden)."""
    try:
        return conversations_given_to(user, agent).get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound(_("No such conversation.")) from None


def conversations_readable_by(user: AbstractBaseUser, agent: AgentProfile) -> QuerySet[Conversation]:
    """The conversations an agent may open and follow in the workspace, read-only unless given.

    Every one SEC-1 lets them see (``conversations_visible_to``: their queues', the ones they
    hold; what the search returns, so every result opens) and every one they were given (a
    transfer to another queue leaves it readable to the agent who had it). Writing stays with
    the holder and consultants: the services check that, whatever opened the page."""
    return conversations_visible_to(user) | conversations_given_to(user, agent)


def access_readable_conversation(user: AbstractBaseUser, agent: AgentProfile, conversation_id: int) -> Conversation:
    """One conversation the agent may read, or :class:`NotFound` (the same for missing and forbidden)."""
    try:
        return conversations_readable_by(user, agent).get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound(_("No such conversation.")) from None


# --- Messages ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageRow:
    """A message as the workspace shows it: the history on the page and each live message on the
    socket are the same rows rendered by the same template (:func:`message_fragment`)."""

    seq: int
    sender: str
    sender_name: str
    markup: SafeString
    created_at: datetime
    #: An SMS reply's delivery as :func:`~conversations.channels.outbound.delivery_display` gives it (SMS-1).
    delivery: dict | None = None
    #: The file it carries, as :func:`~conversations.attachments.attachment_event` gives it (issue 16).
    attachment: dict | None = None
    #: "message", or "note": a private note, which only agents see (issue 15); ``note_id`` is its id.
    kind: str = "message"
    note_id: int | None = None

    @property
    def time(self) -> str:
        """The one format of live and stored times (conversations.rendering.message_time)."""
        return message_time(self.created_at)


def message_row(message: Message) -> MessageRow:
    """The row of a stored message (select ``sender_user__agent``, ``outbound_sms`` and ``attachment``
    with it: no query)."""
    return MessageRow(
        seq=message.seq,
        sender=message.sender,
        sender_name=message_sender_name(sender=message.sender, agent_name=message_agent_name(message)),
        markup=message_markup(message.text),
        created_at=message.created_at,
        delivery=_delivery(message),
        attachment=attachment_event(attachment) if (attachment := message_attachment(message)) else None,
    )


def message_row_from_event(event: dict) -> MessageRow:
    """The row of a ``conversation.message`` event (services.message_event): no query at all.

    A delivery the event carries is worded again here, in the reader's language, not the publisher's.
    """
    delivery = event.get("delivery")
    if isinstance(delivery, dict):
        delivery = delivery_display(
            status=delivery["status"], code=delivery.get("code", ""), message=delivery.get("reason", "")
        )
    return MessageRow(
        seq=event["seq"],
        sender=event["sender"],
        sender_name=message_sender_name(sender=event["sender"], agent_name=event.get("agent_name")),
        markup=message_markup(event["text"]),
        created_at=datetime.fromisoformat(event["created_at"]),
        delivery=delivery,
        attachment=event.get("attachment"),
    )


def note_row(note: ConversationNote) -> MessageRow:
    """The row of a private note (select ``author`` with it: no query)."""
    return MessageRow(
        seq=0,
        sender="note",
        sender_name=note.author.display_name if note.author_id else _("Agent"),
        markup=message_markup(note.text),
        created_at=note.created_at,
        kind="note",
        note_id=note.pk,
    )


def note_row_from_event(event: dict) -> MessageRow:
    """The row of a ``conversation.note`` event (conversations.notes.note_event): no query."""
    return MessageRow(
        seq=0,
        sender="note",
        sender_name=event.get("author_name") or _("Agent"),
        markup=message_markup(event["text"]),
        created_at=datetime.fromisoformat(event["created_at"]),
        kind="note",
        note_id=event["note"],
    )


def thread_rows(conversation: Conversation) -> tuple[list[MessageRow], int]:
    """The page's thread: the latest messages and the notes written since the first of them, in
    time order, and the id of the last note (0 if none). Two queries."""
    messages = message_rows(conversation)
    notes = ConversationNote.objects.filter(conversation=conversation).select_related("author").order_by("pk")
    if messages and messages[0].seq > 1:
        notes = notes.filter(created_at__gte=messages[0].created_at)
    note_rows = [note_row(note) for note in notes]
    last_note = note_rows[-1].note_id if note_rows else 0
    return sorted([*messages, *note_rows], key=lambda row: row.created_at), last_note


def message_fragment(row: MessageRow) -> str:
    """One message's HTML, as the conversation page renders it in its history (LIVE-2, SEC-2)."""
    return render_to_string("conversations/_message.html", {"message": row}).strip()


def survey_fragment(event: dict) -> str:
    """The post-chat survey's answers as the conversation page shows them (issue 16), from the
    ``conversation.survey`` event, so a page open when the customer answers shows them too."""
    return render_to_string("conversations/_survey.html", {"survey": event}).strip()


def message_rows(conversation: Conversation, *, limit: int = HISTORY_LIMIT) -> list[MessageRow]:
    """The latest ``limit`` messages in sequence order, with the writing agent's name (one query)."""
    latest = list(
        Message.objects.filter(conversation=conversation)
        .select_related("sender_user__agent", "outbound_sms", "attachment")
        .order_by("-seq")[:limit]
    )
    latest.reverse()
    return [message_row(message) for message in latest]


def _delivery(message: Message) -> dict | None:
    outbound = getattr(message, "outbound_sms", None)  # selected with the message: no query
    if outbound is None:
        return None
    return delivery_display(status=outbound.status, code=outbound.error_code, message=outbound.error_message)


# --- Notifications ----------------------------------------------------------------------------
def pending_notifications(agent: AgentProfile) -> list[dict]:
    """Notifications still waiting for the agent, oldest first, as ``notification.raised`` carries them,
    so a page loaded now shows them too (NOT-4, NOT-6). Two queries whatever their number."""
    return notification_selectors.pending_notification_payloads(agent_id=agent.pk)


# --- The dashboard ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRow:
    session_id: int
    conversation_id: int | None
    customer: str
    channel: str
    status: str
    status_label: str
    queue: str
    opened_at: datetime


@dataclass(frozen=True)
class Dashboard:
    agent: AgentProfile
    presences: list[Presence]
    sessions: list[SessionRow]
    banners: list[AgentBanner]
    capacity_used: int
    capacity: int
    session_count: int
    max_sessions: int = MAX_SESSIONS
    notifications: list[dict] = field(default_factory=list)

    @property
    def capacity_percent(self) -> int:
        return min(round(100 * self.capacity_used / self.capacity), 100) if self.capacity else 100


def customer_label(conversation: Conversation) -> str:
    """How the workspace names the customer: the linked contact, the pre-chat name, else the channel."""
    return customer_name(conversation) or _("Visitor %(number)s") % {"number": conversation.pk}


def presences_for(agent: AgentProfile) -> list[Presence]:
    """The presences the agent may choose, plus their current one even when the system set it."""
    presences = list(Presence.objects.filter(Q(agent_selectable=True) | Q(pk=agent.presence_id)).order_by("order"))
    return presences


def dashboard(agent: AgentProfile) -> Dashboard:
    """The agent's dashboard: presence, open sessions (≤ 10), banners, capacity. Its inbox (parked
    and closed conversations among them) is ``conversations.inbox``."""
    sessions = (
        Session.objects.filter(agent=agent, closed_at__isnull=True)
        .select_related("conversation__queue", "conversation__contact")
        .order_by("-opened_at", "-pk")[:MAX_SESSIONS]
    )
    return Dashboard(
        agent=agent,
        presences=presences_for(agent),
        sessions=[_session_row(session) for session in sessions],
        banners=list(AgentBanner.objects.filter(agent=agent, cleared_at__isnull=True).order_by("-created_at")),
        capacity_used=agent.capacity_used,
        capacity=agent.capacity,
        session_count=agent.session_count,
        notifications=pending_notifications(agent),
    )


def _session_row(session: Session) -> SessionRow:
    conversation = session.conversation
    if conversation is None:  # a case work item: no conversation page yet
        return SessionRow(session.pk, None, _("Case work item"), "", "", "", "", session.opened_at)
    return SessionRow(
        session_id=session.pk,
        conversation_id=conversation.pk,
        customer=customer_label(conversation),
        channel=conversation.get_channel_display(),
        status=conversation.status,
        status_label=conversation.get_status_display(),
        queue=conversation.queue.name if conversation.queue_id else "",
        opened_at=session.opened_at,
    )


# --- The conversation page --------------------------------------------------------------------
@dataclass(frozen=True)
class Detail:
    name: str
    label: str
    value: str


@dataclass(frozen=True)
class ConversationPage:
    conversation: Conversation
    customer: str
    holds_it: bool
    messages: list[MessageRow]
    last_seq: int
    earlier_hidden: bool
    customer_ended: bool
    # SUM-6
    channel: str
    wait: str
    skills: list[str]
    queue: str
    started_at: datetime
    # SUM-10, SUM-11, SUM-13
    prechat: list[Detail]
    visitor: list[Detail]
    additional: list[Detail]
    show_additional: bool
    notifications: list[dict] = field(default_factory=list)
    # ROU-14, ROU-15: the holder or a consultant writes; transfer and consult notes are shown.
    can_write: bool = False
    handovers: list[ConversationEvent] = field(default_factory=list)
    # SMS-1: the customer texted STOP; the composer says so and replies are refused.
    sms_opted_out: bool = False
    # SMS-2: several contacts have the caller's number; the agent links one.
    contact_candidates: list = field(default_factory=list)
    # Issue 15: the last private note shown (the socket resumes after it), the agent's canned
    # replies filled for this conversation (for the page's script, as JSON), and the workstream's
    # wrap-up codes.
    last_note: int = 0
    canned_replies: list = field(default_factory=list)
    wrap_up_codes: list = field(default_factory=list)
    wrap_up_code_required: bool = False


def format_wait(seconds: float | None) -> str:
    """Wait time for people: "45 s", "3 min 05 s", "1 h 02 min" (SUM-6)."""
    if seconds is None:
        return _("Not assigned yet")
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}


def _display(value) -> str:
    """A stored answer or context value as text (lists joined, booleans as Yes/No)."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return ", ".join(_display(item) for item in value)
    if value is None:
        return ""
    return str(value)


def prechat_details(conversation: Conversation) -> list[Detail]:
    """The customer's pre-chat answers, labelled with their widget's questions, in its order (SUM-10)."""
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    if not answers:
        return []
    questions = list(conversation.widget.prechat_questions.order_by("order", "pk")) if conversation.widget_id else []
    details = [
        Detail(question.name, question.label, _display(answers[question.name]))
        for question in questions
        if question.name in answers
    ]
    asked = {question.name for question in questions}
    details += [Detail(name, name, _display(value)) for name, value in answers.items() if name not in asked]
    return details


def visitor_details(conversation: Conversation) -> list[Detail]:
    """SUM-11: authenticated (Yes only for a verified token), browser, OS, location, language."""
    return [
        Detail("authenticated", _("Authenticated"), _("Yes") if conversation.authenticated else _("No")),
        Detail("browser", _("Browser"), conversation.browser or "—"),
        Detail("operating_system", _("Operating system"), conversation.operating_system or "—"),
        Detail("location", _("Location"), conversation.location or "—"),
        Detail("language", _("Language"), conversation.language or "—"),
    ]


def additional_details(conversation: Conversation) -> list[Detail]:
    """Context variables the host page marked ``isDisplayable`` (WID-6, SUM-13)."""
    variables = conversation.context_variables if isinstance(conversation.context_variables, dict) else {}
    return [
        Detail(name, name, _display(variable.get("value")))
        for name, variable in variables.items()
        if isinstance(variable, dict) and variable.get("isDisplayable") is True
    ]


def customer_ended(conversation: Conversation) -> bool:
    """Whether the customer (or their leaving) ended this conversation (LIVE-3)."""
    if conversation.status not in (Conversation.Status.WRAP_UP, Conversation.Status.CLOSED):
        return False
    ending = (
        ConversationEvent.objects.filter(
            conversation=conversation,
            kind=ConversationEvent.Kind.TRANSITION,
            from_status__in=[Conversation.Status.ACTIVE, Conversation.Status.WAITING],
            to_status=Conversation.Status.WRAP_UP,
        )
        .order_by("-created_at", "-pk")
        .values_list("actor", flat=True)
        .first()
    )
    # A system end from active is the customer's grace period running out (LIVE-3).
    return ending in (ConversationEvent.Actor.CUSTOMER, ConversationEvent.Actor.SYSTEM)


def conversation_page(user: AbstractBaseUser, agent: AgentProfile, conversation_id: int) -> ConversationPage:
    """The conversation page of an agent who may read it (``conversations_readable_by``, else
    :class:`NotFound`); only the holder and consultants get the composer (``can_write``)."""
    consulting = ConversationParticipant.objects.filter(agent=agent, conversation=OuterRef("pk"), left_at__isnull=True)
    conversation = (
        conversations_readable_by(user, agent)
        .select_related("queue", "contact", "widget", "workstream__chat_settings", "wrap_up_code", "survey")
        .prefetch_related("skills")
        .annotate(consulting=Exists(consulting))
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound(_("No such conversation."))
    thread, last_note = thread_rows(conversation)
    messages = [row for row in thread if row.kind == "message"]
    additional = additional_details(conversation)
    can_write = conversation.agent_id == agent.pk or conversation.consulting
    codes, code_required = wrap_up_codes_of(conversation.workstream_id)
    return ConversationPage(
        conversation=conversation,
        customer=customer_label(conversation),
        holds_it=conversation.agent_id == agent.pk,
        messages=thread,
        last_seq=messages[-1].seq if messages else 0,
        last_note=last_note,
        earlier_hidden=bool(messages) and messages[0].seq > 1,
        customer_ended=customer_ended(conversation),
        channel=conversation.get_channel_display(),
        wait=format_wait(conversation.wait_seconds),
        skills=[skill.name for skill in conversation.skills.all()],
        queue=conversation.queue.name if conversation.queue_id else "",
        started_at=conversation.created_at,
        prechat=prechat_details(conversation),
        visitor=visitor_details(conversation),
        additional=additional,
        show_additional=chat_settings_of(conversation.workstream).summary_show_additional_details and bool(additional),
        notifications=pending_notifications(agent),
        can_write=can_write,
        canned_replies=[asdict(reply) for reply in canned_replies(conversation, agent)] if can_write else [],
        wrap_up_codes=codes,
        wrap_up_code_required=code_required,
        handovers=handover_events(conversation),
        sms_opted_out=_sms_opted_out(conversation),
        contact_candidates=phone_contact_candidates(conversation),
    )


def _sms_opted_out(conversation: Conversation) -> bool:
    if conversation.channel != Conversation.Channel.SMS or conversation.phone_channel_id is None:
        return False
    return sms_opted_out(channel_id=conversation.phone_channel_id, phone_number=conversation.customer_phone)


def handover_events(conversation: Conversation) -> list[ConversationEvent]:
    """Transfers and consults of the conversation with their notes, oldest first (ROU-14, ROU-15). One query."""
    return list(
        ConversationEvent.objects.filter(
            conversation=conversation,
            kind__in=[ConversationEvent.Kind.TRANSFERRED, ConversationEvent.Kind.ESCALATED],
        )
        .select_related("actor_user__agent")
        .order_by("created_at", "pk")
    )
