"""Every write of the conversations app: the state machine and messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from conversations.attachments import attachment_event, message_agent_avatar, message_attachment
from conversations.channels.models import PhoneChannel
from conversations.channels.outbound import delivery_display, sms_reply_check, sms_reply_queue
from conversations.chat_settings import chat_settings_of
from conversations.customer_links import conversation_customer_match
from conversations.errors import ConversationError, ConversationValidationError
from conversations.models import (
    MAX_CONTEXT_VARIABLES,
    MAX_MESSAGE_BYTES,
    Attachment,
    Conversation,
    ConversationEvent,
    Message,
    Session,
    WrapUpCode,
)
from conversations.read_markers import inbox_changed_on_commit
from conversations.rendering import message_agent_name
from conversations.selectors import is_consultant, queue_average_wait_minutes
from conversations.states import CONVERSATION
from conversations.wait_messages import customer_words, wait_message_texts
from core.errors import Forbidden, NotFound
from core.realtime import conversation_group, conversation_staff_group, publish_on_commit
from core.tasks_by_name import task_send_on_commit
from notifications.scenarios import Scenario
from routing import services as routing
from routing.models import WorkItem
from routing.rules import Facts, queue_is_open, route_evaluate
from routing.selectors import queue_can_serve_now
from routing.services import work_item_enqueue, work_item_lock
from routing.services.continuity import work_item_return

Actor = ConversationEvent.Actor

INACTIVE_NOTICE = gettext_noop("This conversation was closed after a long time without activity.")


def conversation_lock(conversation_id: int) -> Conversation:
    """The conversation, locked, or :class:`NotFound`. Called after locking its work item, its
    offers and agents, if the caller needs them (core.locks)."""
    try:
        return Conversation.objects.select_for_update(no_key=True).get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation.") from None


def conversation_lock_with_work(conversation_id: int) -> Conversation:
    """Lock the conversation's work item, then the conversation: the order of core.locks, so a
    customer ending the chat queues behind an agent's accept or a transfer instead of crossing it.

    For every conversation workflow that may go on to routing (ending, closing, parking). The
    link is the conversation's own column, set once when it is routed, so reading it unlocked
    is safe.
    """
    work_item_id = Conversation.objects.filter(pk=conversation_id).values_list("work_item_id", flat=True).first()
    work_item_lock(work_item_id=work_item_id)
    return conversation_lock(conversation_id)


@transaction.atomic
def conversation_transition(
    *,
    conversation_id: int,
    to: str,
    actor: str,
    actor_user: AbstractBaseUser | None = None,
    note: str = "",
) -> Conversation:
    """Move a conversation to ``to`` under its row lock and record who and when (CONV-1).

    An illegal move raises :class:`~core.errors.IllegalTransition` and changes nothing.
    Workflows that may run twice (auto-close, a customer leaving) check the state first.
    """
    conversation = conversation_lock(conversation_id)
    source = conversation.status
    CONVERSATION.check(source, to)
    now = timezone.now()
    conversation.status = to
    update = ["status"]
    if to == Conversation.Status.CLOSED:
        conversation.closed_at = now
        conversation.auto_close_at = None
        update += ["closed_at", "auto_close_at"]
    conversation.save(update_fields=update)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TRANSITION,
        from_status=source,
        to_status=to,
        actor=actor,
        actor_user=actor_user,
        note=note[:1000],
        created_at=now,
    )
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.status",
            "conversation": conversation.pk,
            "status": to,
            "previous": source,
            "actor": actor,
        },
    )
    return conversation


def message_validate_text(text: str) -> str:
    """Plain text, not blank, at most 28 KB in UTF-8 (CONV-2a, SEC-2)."""
    if not isinstance(text, str) or not text.strip():
        raise ConversationError("A message needs some text.", code="empty_message")
    if len(text.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise ConversationError(
            f"A message is at most {MAX_MESSAGE_BYTES // 1024} KB; this one is "
            f"{len(text.encode('utf-8')) / 1024:.1f} KB.",
            code="message_too_large",
        )
    return text


class _WorkItemFirst(Exception):
    """Rolls back a customer's message in a waiting conversation, to take the locks in order."""


class _RepeatedClientId(Exception):
    """The client id is stored already: this attempt's sequence bump is rolled back."""


@functools.cache
def _message_post_sql(*, customer: bool) -> tuple[str, str]:
    """The hot path's two statements, named from the models' own tables and columns.

    The UPDATE takes the conversation's row lock and the next sequence number at once and
    returns only what the checks read (no JSON field, no join); the INSERT stores the message
    unless its client id is stored already, which the partial unique constraint decides.
    """
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    seq = column(Conversation, "last_message_seq")
    sets = [f"{seq} = {seq} + 1"]
    if customer:  # writing from another tab too: the customer is here (LIVE-3)
        sets += [f"{column(Conversation, 'last_customer_activity_at')} = %s"]
        sets += [f"{column(Conversation, 'customer_left_at')} = NULL"]
    returned = ", ".join(column(Conversation, name) for name in MESSAGE_POST_READS)
    update = (
        f"UPDATE {quote(Conversation._meta.db_table)} SET {', '.join(sets)} "
        f"WHERE {column(Conversation, 'id')} = %s RETURNING {seq}, {returned}"
    )
    conversation_id, client_id = column(Message, "conversation"), column(Message, "client_id")
    stored = ("conversation", "seq", "sender", "sender_user", "text", "client_id", "created_at")
    insert = (
        f"INSERT INTO {quote(Message._meta.db_table)} ({', '.join(column(Message, name) for name in stored)}) "
        f"VALUES ({', '.join(['%s'] * len(stored))}) "
        f"ON CONFLICT ({conversation_id}, {client_id}) WHERE {client_id} IS NOT NULL DO NOTHING "
        f"RETURNING {column(Message, 'id')}"
    )
    return update, insert


#: What ``message_post`` reads of the conversation it locks: its checks need no more.
MESSAGE_POST_READS = ("status", "agent", "phone_channel", "channel")


def message_post(
    *,
    conversation_id: int,
    sender: str,
    text: str,
    sender_user: AbstractBaseUser | None = None,
    client_id: str | None = None,
    agent=None,
    attachment: Attachment | None = None,
) -> tuple[Message, bool]:
    """Store a message with the conversation's next sequence number, then publish it (CONV-2).

    The message is stored before it is delivered: the event goes out on commit. The same
    ``client_id`` sent twice stores one message; the second call returns it with ``created=False``
    (also once the conversation has ended). With ``agent``, the agent must hold the conversation
    and it must be active (checked under the lock). A refused message changes nothing.

    A chat message costs two statements (PERF-1): ``UPDATE … RETURNING`` takes the row lock and
    the next number, ``INSERT … ON CONFLICT DO NOTHING`` stores it unless the client id is
    stored already. A repeat or a refusal rolls the transaction (or its savepoint) back, so the
    number taken is given back too and the sequence has no gaps.

    ``attachment`` (unsaved, its file in storage) is stored with the message, in its transaction
    (``conversations.attachment_services.message_attach``, issue 16).
    """
    text = message_validate_text(text)
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 64):
        raise ConversationError("A client id is 1 to 64 characters.", code="bad_client_id")
    store = functools.partial(
        _message_store,
        conversation_id=conversation_id,
        sender=sender,
        text=text,
        sender_user=sender_user,
        client_id=client_id,
        agent=agent,
        attachment=attachment,
    )
    try:
        try:
            with transaction.atomic():
                return store()
        except _WorkItemFirst:
            # The customer writes in a waiting chat, which goes back to routing (PER-6): start
            # again with its work item locked before the conversation (core.locks order).
            with transaction.atomic():
                conversation_lock_with_work(conversation_id)
                return store(work_locked=True)
    except (_RepeatedClientId, ConversationError) as refused:
        # Rare paths, after the rollback: a repeat is answered with the stored message even where
        # a new one would be refused (a retry after the chat ended still gets its ack).
        if client_id is not None:
            existing = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).order_by().first()
            if existing is not None:
                return existing, False
        if isinstance(refused, _RepeatedClientId):  # its message was deleted in between
            raise ConversationError("This message could not be stored; send it again.", code="retry") from None
        raise


def _message_store(
    *,
    conversation_id: int,
    sender: str,
    text: str,
    sender_user,
    client_id: str | None,
    agent,
    attachment=None,
    work_locked=False,
) -> tuple[Message, bool]:
    """:func:`message_post`'s transaction. Raises :class:`_RepeatedClientId` on a stored client id,
    and :class:`_WorkItemFirst` when the customer writes in a waiting conversation unless the
    caller locked its work item first (``work_locked``)."""
    customer = sender == Message.Sender.CUSTOMER
    update, insert = _message_post_sql(customer=customer)
    now = timezone.now()
    with connection.cursor() as cursor:
        stamp = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(update, [stamp, conversation_id] if customer else [conversation_id])
        row = cursor.fetchone()
        if row is None:
            raise NotFound("No such conversation.")
        seq, status, agent_id, phone_channel_id, channel = row
        if customer and status == Conversation.Status.WAITING and not work_locked:
            raise _WorkItemFirst
        if status == Conversation.Status.CLOSED and sender != Message.Sender.SYSTEM:
            raise ConversationError("This conversation has ended.", code="conversation_closed")
        if agent is not None:  # an agent writes only in a conversation they hold (or consult in) while it is active
            if agent_id != agent.pk and not is_consultant(conversation_id=conversation_id, agent=agent):
                raise ConversationError(
                    "Only the agent who holds this conversation can write in it.", code="not_holder"
                )
            if status != Conversation.Status.ACTIVE:
                raise ConversationError(
                    f"This conversation is {Conversation.Status(status).label.lower()}; "
                    "messages can be sent only while it is active.",
                    code="conversation_not_active",
                )
        # The phone channels (SMS, voice) read and write more of the conversation: off the chat path.
        conversation = Conversation.objects.get(pk=conversation_id) if phone_channel_id is not None else None
        sms = conversation is not None and channel == Conversation.Channel.SMS
        sms_reply = sms and sender == Message.Sender.AGENT
        if sms_reply:
            sms_reply_check(conversation=conversation)  # STOP: nothing is stored (SMS-1)
        if sms and sender in (Message.Sender.CUSTOMER, Message.Sender.AGENT):
            moved = _inactivity_deadline_move(conversation, now=now)
            if moved:
                conversation.save(update_fields=moved)
        # The row lock taken by the UPDATE serialises senders, so the number is free.
        sender_user_id = sender_user.pk if sender_user is not None else None
        cursor.execute(insert, [conversation_id, seq, sender, sender_user_id, text, client_id, stamp])
        inserted = cursor.fetchone()
    if inserted is None:
        raise _RepeatedClientId
    message = Message(
        pk=inserted[0],
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        sender_user_id=sender_user_id,
        text=text,
        client_id=client_id,
        created_at=now,
    )
    message._state.adding, message._state.db = False, connection.alias
    if attachment is not None:
        attachment.message = message
        attachment.save(force_insert=True)
    Message.attachment.related.set_cached_value(message, attachment)  # message_event reads it: no query
    event = message_event(message)
    if sms_reply:
        outbound = sms_reply_queue(message=message, conversation=conversation)  # sent by a task after commit
        event["delivery"] = delivery_display(status=outbound.status)
    publish_on_commit(conversation_group(conversation_id), event)
    if customer and agent_id is not None:  # the holder's inbox counts it unread (issue 15)
        inbox_changed_on_commit(agent_id=agent_id, reason="customer_message", conversation_id=conversation_id)
    if customer and status == Conversation.Status.WAITING:
        conversation_customer_back(conversation_id=conversation_id)  # PER-6: the customer is back
    return message, True


def conversation_started_publish(conversation: Conversation) -> None:
    """Tell whoever follows it (outbound webhooks, API-2) that a conversation started, on commit,
    before anything else of it. Called by every service that creates a conversation."""
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.started",
            "conversation": conversation.pk,
            "channel": conversation.channel,
            "origin": conversation.origin,
            "workstream": conversation.workstream_id,
            "queue": conversation.queue_id,
            "status": conversation.status,
            "created_at": conversation.created_at.isoformat(),
        },
    )


def message_event(message: Message) -> dict:
    """The realtime event (and frame) for a stored message.

    ``agent_name`` is the writing agent's display name (None for anyone else), so each socket
    names the sender without a query, in its reader's language (conversations.rendering).
    Select ``sender_user__agent`` (and ``attachment``: its file, issue 16) with the message to
    build it without one either.
    """
    event = {
        "type": "conversation.message",
        "conversation": message.conversation_id,
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        "client_id": message.client_id,
        "created_at": message.created_at.isoformat(),
        "agent_name": message_agent_name(message),
    }
    avatar = message_agent_avatar(message)
    if avatar is not None:  # the writing agent's picture (issue 16), a signed link
        event["agent_avatar"] = avatar
    attachment = message_attachment(message)
    if attachment is not None:  # a file (issue 16): its name, size, type and a signed link
        event["attachment"] = attachment_event(attachment)
    return event


# --- starting a chat (LIVE-1, LIVE-4, WID-6, WID-11, WID-13) ----------------------------------------


def prechat_answers_validate(*, widget, answers) -> dict[str, str]:
    """Check the answers against the widget's questions; return them cleaned (WID-11).

    Raises :class:`ConversationValidationError` with ``errors = {"prechat": {name: [message]}}``.
    """
    if not isinstance(answers, dict):
        raise ConversationValidationError(
            "The pre-chat answers are malformed.", errors={"prechat": ["Send an object."]}
        )
    problems: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    questions = list(widget.prechat_questions.all())
    known = {question.name for question in questions}
    for name in answers:
        if name not in known:
            problems[str(name)[:64]] = ["This question is not part of the survey."]
    for question in questions:
        raw = answers.get(question.name)
        if question.kind == "consent":
            value = "yes" if raw in (True, "true", "yes", "on", "1") else ""
        elif raw is None:
            value = ""
        elif not isinstance(raw, str | int | float) or isinstance(raw, bool):
            problems[question.name] = ["Give a text answer."]
            continue
        else:
            value = str(raw).strip()
        if len(value) > 4000:
            problems[question.name] = ["Keep the answer under 4000 characters."]
        elif question.required and not value:
            problems[question.name] = [
                "Please give your consent to continue." if question.kind == "consent" else "This answer is required."
            ]
        elif question.kind == "option_set" and value and value not in question.choices:
            problems[question.name] = ["Choose one of the options."]
        elif value:
            cleaned[question.name] = value
    if problems:
        raise ConversationValidationError("Some pre-chat answers need attention.", errors={"prechat": problems})
    return cleaned


def context_variables_validate(variables) -> dict[str, dict]:
    """``{name: {value, isDisplayable}}``, at most 100 (WID-6); plain values are accepted too."""
    if variables in (None, ""):
        return {}
    if not isinstance(variables, dict):
        raise ConversationValidationError("Context must be an object.", errors={"context": ["Send an object."]})
    if len(variables) > MAX_CONTEXT_VARIABLES:
        raise ConversationValidationError(
            f"At most {MAX_CONTEXT_VARIABLES} context variables are allowed.",
            errors={"context": [f"At most {MAX_CONTEXT_VARIABLES} context variables; got {len(variables)}."]},
        )
    cleaned = {}
    for name, variable in variables.items():
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise ConversationValidationError("Bad context variable name.", errors={"context": [f"Bad name {name!r}."]})
        if isinstance(variable, dict):
            value, displayable = variable.get("value"), variable.get("isDisplayable", False)
        else:
            value, displayable = variable, False
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise ConversationValidationError(
                "Context values are text, numbers or booleans.", errors={"context": {name: ["Use a plain value."]}}
            )
        if isinstance(value, str) and len(value) > 2000:
            raise ConversationValidationError("Context value too long.", errors={"context": {name: ["Too long."]}})
        cleaned[name] = {"value": value, "isDisplayable": bool(displayable)}
    return cleaned


#: Told of each chat :func:`conversation_start` stores, inside its transaction: apps above this
#: one that keep rows about the visitor attach them (the widget app's self-service actions,
#: SUM-12). Registered from their ``AppConfig.ready()``.
_chat_started_listeners: list[Callable[[Conversation], None]] = []


def register_chat_started_listener(listener: Callable[[Conversation], None]) -> None:
    """Have ``listener(conversation)`` called in the transaction that stores each new chat."""
    if listener not in _chat_started_listeners:
        _chat_started_listeners.append(listener)


@transaction.atomic
def conversation_start(
    *,
    widget,
    visitor,
    prechat_answers=None,
    context_variables=None,
    page_url: str = "",
    language: str = "",
    user_agent: str = "",
    browser: str = "",
    operating_system: str = "",
    device: str = "",
    location: str = "",
    origin: str = Conversation.Origin.WIDGET,
    authenticated: bool = False,
    auth_subject: str = "",
    verified_context=None,
    verified_email: str = "",
) -> Conversation:
    """A customer starts a chat from a widget: store it, tell them where they stand, route it.

    Pre-chat answers and context variables are validated first; a refusal creates nothing.
    What the page sends and the customer types are claims; ``verified_context`` (the claims of
    the signed token, AUTH-2) and ``verified_email`` (the token's email) come from a verified
    token only. Verified context variables are stored with ``"verified": true`` and win over a
    page's value of the same name; routing rules on ``context`` see only them (ROU-2), and only
    verified details link a contact automatically (SUM-5).
    Inside the queue's hours the conversation is queued and the customer gets the queue
    position and average wait (LIVE-1; not for persistent chat, PER-5). Outside them a live chat
    gets the queue's out-of-hours message and is closed (LIVE-4).
    """
    if widget.workstream.is_persistent and not authenticated:
        raise Forbidden(
            "Sign in on this site to start a conversation with us.", code="authentication_required"
        )  # PER-2
    answers = prechat_answers_validate(widget=widget, answers=prechat_answers or {})
    variables = context_variables_validate(context_variables)
    for name, answer in answers.items():  # WID-10: each answer is also a context variable
        variables.setdefault(name, {"value": answer, "isDisplayable": False})
    for name, variable in (verified_context or {}).items():
        variables[name] = {"value": variable["value"], "isDisplayable": variable["isDisplayable"], "verified": True}
    workstream = widget.workstream
    decision = route_evaluate(
        workstream,
        Facts(
            context={name: variable["value"] for name, variable in variables.items() if variable.get("verified")},
            context_claims={name: variable["value"] for name, variable in variables.items()},
            prechat=answers,
            language=language,
            authenticated=authenticated,
            url=page_url,
        ),
    )
    conversation = Conversation.objects.create(
        channel=Conversation.Channel.PERSISTENT_CHAT if workstream.is_persistent else Conversation.Channel.LIVE_CHAT,
        origin=origin,
        workstream=workstream,
        queue=decision.queue,
        widget=widget,
        visitor=visitor,
        # The visitor's contact comes from a sign-in; it is this chat's only if this chat is signed in.
        contact=visitor.contact if visitor.contact_id and authenticated else None,
        prechat_answers=answers,
        context_variables=variables,
        language=language[:16],
        authenticated=authenticated,
        auth_subject=auth_subject,
        browser=browser[:100],
        operating_system=operating_system[:100],
        device=device[:100],
        location=location[:200],
        page_url=page_url[:2000],
        last_customer_activity_at=timezone.now(),
    )
    if decision.skills:
        conversation.skills.set(decision.skills)
    for listener in _chat_started_listeners:
        listener(conversation)
    conversation_customer_match(
        conversation_id=conversation.pk, created=conversation, verified_email=verified_email if authenticated else ""
    )  # SUM-5
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.TRANSITION,
        from_status="",
        to_status=Conversation.Status.OPEN,
        actor=Actor.CUSTOMER,
        data={"rule": decision.rule.name if decision.rule else None, "queue": decision.queue.name},
    )
    conversation_started_publish(conversation)
    if not workstream.is_persistent and not queue_is_open(decision.queue, timezone.now()):
        message_post(
            conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=decision.queue.out_of_hours_message
        )
        return conversation_transition(
            conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=Actor.SYSTEM, note="Out of hours"
        )
    work_item = conversation_enqueue(conversation, workstream=workstream, queue=decision.queue, skills=decision.skills)
    # LIVE-1, LIVE-4: where they stand only when somebody can pick the chat up now; otherwise
    # the widget already told them nobody can answer, and they chose to wait.
    if not workstream.is_persistent and queue_can_serve_now(decision.queue, workstream):
        for text in wait_message_texts(
            workstream=workstream,
            position=routing.queue_position(work_item),
            minutes=queue_average_wait_minutes(decision.queue),
            language=conversation.language,
        ):
            message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=text)
    return conversation


# --- assignment and ending (CONV-1, LIVE-3) ------------------------------------------------------------


def conversation_assign(*, conversation_id: int, agent, work_item) -> Conversation:
    """Routing gave the conversation to ``agent``: it becomes active and a session opens (CONV-3).

    Called by routing (``ConversationWork.assigned``) inside its transaction, which holds the
    work item's and the agent's row locks.
    """
    conversation = conversation_lock(conversation_id)
    now = timezone.now()
    conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.ACTIVE, actor=Actor.AGENT, actor_user=agent.user
    )
    conversation.refresh_from_db()
    conversation.agent = agent
    conversation.queue_id = work_item.queue_id
    update = ["agent", "queue"]
    if conversation.first_assigned_at is None:
        conversation.first_assigned_at = now
        update.append("first_assigned_at")
    conversation.save(update_fields=update)
    Session.objects.create(agent=agent, work_item=work_item, conversation=conversation, opened_at=now)
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.ASSIGNED,
        actor=Actor.AGENT,
        actor_user=agent.user,
        data={"agent": agent.pk, "queue": work_item.queue_id},
    )
    message_post(
        conversation_id=conversation.pk,
        sender=Message.Sender.SYSTEM,
        text=customer_words(conversation.language, gettext_noop("%(name)s joined the chat."), name=agent.display_name),
    )
    return conversation


def conversation_work_item_id(conversation: Conversation) -> int | None:
    """The id of the conversation's work item (none before it was routed, e.g. a bot's)."""
    return conversation.work_item_id


def conversation_scenario(conversation: Conversation) -> str:
    """How the conversation's offers are announced (NOT-1): a bot's hand-over (ROU-15), an SMS
    or a call (NOT-15), else an incoming chat — by the workstream's channel."""
    if conversation.origin == Conversation.Origin.BOT:
        return Scenario.BOT_ESCALATION
    channel = conversation.workstream.channel
    return {"sms": Scenario.INCOMING_SMS, "voice": Scenario.INCOMING_VOICE}.get(channel, Scenario.INCOMING_CHAT)


def conversation_work_facts(conversation: Conversation) -> dict:
    """What routing and notifications show of the conversation: the snapshot its work item carries
    (``routing.models.FACTS``), taken when it is routed."""
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    values = {}
    for name, variable in (conversation.context_variables or {}).items():
        values[name] = str(variable.get("value", "")) if isinstance(variable, dict) else str(variable)
    for name, answer in answers.items():
        values[name] = str(answer)
    contact = conversation.contact if conversation.contact_id else None
    suggested = conversation.suggested_contact if conversation.suggested_contact_id and contact is None else None
    return {
        "refs": {"conversation": conversation.pk},
        "url": f"/workspace/conversations/{conversation.pk}/",
        "customer_name": (contact.full_name if contact else "")
        or str(answers.get("name", ""))
        or conversation.customer_phone  # SMS and voice: the caller's number (NOT-15)
        or "Visitor",
        "channel": str(conversation.get_channel_display()),
        "language": conversation.language,
        "device": " on ".join(p for p in (conversation.browser, conversation.operating_system) if p),
        "started_at": conversation.created_at.isoformat(),
        "proactive": conversation.origin == Conversation.Origin.PROACTIVE,
        "possible_match": suggested.full_name if suggested is not None else "",
        "values": values,
    }


def conversation_enqueue(conversation: Conversation, *, workstream, queue, skills) -> WorkItem:
    """Route the conversation: a work item in ``queue``, owned by the conversation (its
    ``work_item``), with its scenario and facts. In the caller's transaction, which holds the
    conversation's row or just created it (the work item is new: no lock to take before it)."""
    work_item = work_item_enqueue(
        workstream=workstream,
        queue=queue,
        skills=skills,
        kind=WorkItem.Kind.CONVERSATION,
        scenario=conversation_scenario(conversation),
        facts=conversation_work_facts(conversation),
    )
    conversation.work_item = work_item
    conversation.save(update_fields=["work_item"])
    return work_item


class ConversationWork:
    """The conversation as routing's work subject (``routing.subjects``), registered in
    ``ConversationsConfig.ready()``."""

    def assigned(self, *, work_item: WorkItem, agent) -> None:
        conversation_id = Conversation.objects.filter(work_item=work_item).values_list("pk", flat=True).first()
        if conversation_id is not None:
            conversation_assign(conversation_id=conversation_id, agent=agent, work_item=work_item)


def _end(conversation: Conversation, *, actor: str, actor_user=None, notice: str) -> Conversation:
    """Open → closed (nobody took it yet), active/waiting → wrap-up (the agent finishes)."""
    work_item_id = conversation_work_item_id(conversation)
    if conversation.status == Conversation.Status.OPEN:
        conversation = conversation_transition(
            conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=actor, actor_user=actor_user
        )
        if work_item_id:
            routing.work_item_cancel(work_item_id=work_item_id)
    else:
        conversation = conversation_transition(
            conversation_id=conversation.pk, to=Conversation.Status.WRAP_UP, actor=actor, actor_user=actor_user
        )
        seconds = chat_settings_of(conversation.workstream).auto_close_wrap_up_seconds
        conversation.auto_close_at = timezone.now() + timedelta(seconds=seconds) if seconds else None
        conversation.customer_left_at = None
        conversation.save(update_fields=["auto_close_at", "customer_left_at"])
        if work_item_id:
            routing.work_item_wrap_up(work_item_id=work_item_id)
    message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text=notice)
    return conversation


@transaction.atomic
def conversation_customer_end(*, conversation_id: int, note: str = "") -> Conversation:
    """The customer ends a live chat (LIVE-3). Persistent chat is ended by agents only (PER-4).

    Ending an ended conversation changes nothing.
    """
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.is_persistent:
        raise ConversationError("Only an agent can end a persistent conversation.", code="end_not_allowed")
    if conversation.status not in (Conversation.Status.OPEN, Conversation.Status.ACTIVE):
        return conversation
    return _end(
        conversation,
        actor=Actor.CUSTOMER,
        notice=note or customer_words(conversation.language, gettext_noop("The customer ended the chat.")),
    )


@transaction.atomic
def conversation_agent_end(*, conversation_id: int, agent, wrap_up_code_id: int | None = None) -> Conversation:
    """The agent ends the conversation: it goes to wrap-up and the customer sees it ended (CONV-1).
    With ``wrap_up_code_id``, the agent chooses its wrap-up code at once (issue 15)."""
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.agent_id != agent.pk:
        raise ConversationError("Only the agent who holds this conversation can end it.", code="not_yours")
    if conversation.status not in (Conversation.Status.ACTIVE, Conversation.Status.WAITING):
        raise ConversationError("This conversation is not active.", code="not_active")
    if wrap_up_code_id is not None and wrap_up_code_id != conversation.wrap_up_code_id:
        wrap_up_code_apply(conversation, code_id=wrap_up_code_id, actor_user=agent.user)
    return _end(
        conversation,
        actor=Actor.AGENT,
        actor_user=agent.user,
        notice=customer_words(conversation.language, gettext_noop("%(name)s ended the chat."), name=agent.display_name),
    )


def _close_after_wrap_up(conversation: Conversation, *, actor: str, actor_user=None) -> Conversation:
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=actor, actor_user=actor_user
    )
    Session.objects.filter(conversation=conversation, closed_at__isnull=True).update(closed_at=timezone.now())
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        routing.work_item_complete(work_item_id=work_item_id)
    return conversation


def wrap_up_code_apply(conversation: Conversation, *, code_id: int, actor_user=None) -> None:
    """Record ``code_id`` as the conversation's wrap-up code, with its audit row, and tell its
    agents on commit. Called holding the conversation's row lock; a code of another workstream,
    or a retired one, is refused and changes nothing (issue 15)."""
    code = WrapUpCode.objects.filter(
        pk=code_id, settings__workstream_id=conversation.workstream_id, is_active=True
    ).first()
    if code is None:
        raise ConversationError(
            "This wrap-up code is not one of this conversation's workstream.", code="bad_wrap_up_code"
        )
    conversation.wrap_up_code = code
    conversation.save(update_fields=["wrap_up_code"])
    ConversationEvent.objects.create(
        conversation=conversation,
        kind=ConversationEvent.Kind.WRAP_UP_CODE,
        from_status=conversation.status,
        to_status=conversation.status,
        actor=Actor.AGENT,
        actor_user=actor_user,
        note=code.name,
        data={"wrap_up_code": code.pk},
    )
    publish_on_commit(
        conversation_staff_group(conversation.pk),
        {
            "type": "conversation.wrap_up_code",
            "conversation": conversation.pk,
            "wrap_up_code": code.pk,
            "name": code.name,
        },
    )


def wrap_up_code_missing(conversation: Conversation) -> bool:
    """Whether the conversation's workstream requires a wrap-up code and it has none yet. A
    workstream that requires one but offers none to choose does not lock its conversations open."""
    if conversation.wrap_up_code_id is not None:
        return False
    return WrapUpCode.objects.filter(
        settings__workstream_id=conversation.workstream_id, settings__code_required=True, is_active=True
    ).exists()


@transaction.atomic
def conversation_wrap_up_close(*, conversation_id: int, agent, wrap_up_code_id: int | None = None) -> Conversation:
    """The agent finishes wrap-up: the conversation closes, its session and capacity are released.

    With ``wrap_up_code_id`` the code is chosen in the same transaction. Where the workstream
    requires a code (issue 15) and none is chosen, the close is refused and nothing changes.
    """
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.agent_id != agent.pk:
        raise ConversationError("Only the agent who holds this conversation can close it.", code="not_yours")
    if conversation.status != Conversation.Status.WRAP_UP:
        raise ConversationError("End the conversation before closing it.", code="not_in_wrap_up")
    if wrap_up_code_id is not None and wrap_up_code_id != conversation.wrap_up_code_id:
        wrap_up_code_apply(conversation, code_id=wrap_up_code_id, actor_user=agent.user)
    if wrap_up_code_missing(conversation):
        raise ConversationError("Choose a wrap-up code before closing this conversation.", code="wrap_up_code_required")
    return _close_after_wrap_up(conversation, actor=Actor.AGENT, actor_user=agent.user)


@transaction.atomic
def conversation_auto_close(*, conversation_id: int) -> Conversation | None:
    """Close a conversation whose auto-close moment has passed (CONV-1). Safe to call twice."""
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.auto_close_at is None or conversation.auto_close_at > timezone.now():
        return conversation
    if conversation.status == Conversation.Status.WRAP_UP:
        return _close_after_wrap_up(conversation, actor=Actor.SYSTEM)
    if conversation.status == Conversation.Status.WAITING:
        return conversation_waiting_auto_close(conversation=conversation)
    return conversation


def _inactivity_deadline_move(conversation: Conversation, *, now) -> list[str]:
    """SMS: a message from either side moves the inactivity deadline (design.md, "Time"): written
    with the message, a task scheduled for it after commit, the sweep for a lost task."""
    if (
        conversation.channel != Conversation.Channel.SMS
        or conversation.phone_channel_id is None
        or conversation.status not in (Conversation.Status.OPEN, Conversation.Status.ACTIVE)
    ):
        return []

    seconds = (
        PhoneChannel.objects.filter(pk=conversation.phone_channel_id)
        .values_list("inactivity_auto_close_seconds", flat=True)
        .first()
    )
    if not seconds:
        return []
    conversation.inactive_close_at = now + timedelta(seconds=seconds)
    task_send_on_commit("conversations.inactive_close", conversation.pk, eta=conversation.inactive_close_at)
    return ["inactive_close_at"]


@transaction.atomic
def conversation_inactive_close(*, conversation_id: int) -> Conversation | None:
    """End an SMS conversation nobody wrote in before its inactivity deadline (the channel's
    inactivity auto-close). Called by the task scheduled for the deadline and by the sweep;
    early (the deadline moved: a later message scheduled its own task) or repeated calls
    change nothing, so it ends once."""
    conversation = conversation_lock_with_work(conversation_id)
    deadline = conversation.inactive_close_at
    if deadline is None or deadline > timezone.now():
        return conversation
    conversation.inactive_close_at = None
    conversation.save(update_fields=["inactive_close_at"])
    if conversation.status not in (Conversation.Status.OPEN, Conversation.Status.ACTIVE):
        return conversation
    return _end(
        conversation,
        actor=Actor.SYSTEM,
        notice=customer_words(
            conversation.language, gettext_noop("The conversation was closed after a period of inactivity.")
        ),
    )


@transaction.atomic
def conversation_customer_left(*, conversation_id: int, left_at: datetime | None = None) -> Conversation | None:
    """The customer's last socket closed: the grace period starts (LIVE-3).

    ``left_at`` is when they were last seen (a socket whose server process died), now by
    default. Callers decide that no other socket of the customer is live:
    :func:`conversations.customer_presence.customer_socket_leave` does, under this row's lock.
    """
    conversation = Conversation.objects.select_for_update(no_key=True).filter(pk=conversation_id).first()
    if (
        conversation is None
        or conversation.is_persistent
        or conversation.status not in (Conversation.Status.OPEN, Conversation.Status.ACTIVE)
        or conversation.customer_left_at is not None
    ):
        return conversation
    conversation.customer_left_at = left_at or timezone.now()
    conversation.save(update_fields=["customer_left_at"])
    eta = conversation.customer_left_at + timedelta(
        seconds=chat_settings_of(conversation.workstream).customer_grace_seconds
    )
    task_send_on_commit("conversations.end_if_customer_gone", conversation.pk, eta=eta)
    return conversation


@transaction.atomic
def conversation_customer_returned(*, conversation_id: int) -> Conversation | None:
    """The customer is back within the grace period: the chat goes on (LIVE-3)."""
    conversation = Conversation.objects.select_for_update(no_key=True).filter(pk=conversation_id).first()
    if conversation is not None and conversation.customer_left_at is not None:
        conversation.customer_left_at = None
        conversation.save(update_fields=["customer_left_at"])
    return conversation


@transaction.atomic
def conversation_end_if_customer_gone(*, conversation_id: int) -> Conversation | None:
    """End a live chat whose customer left and did not come back in time (LIVE-3). Safe to call twice."""
    if not Conversation.objects.filter(pk=conversation_id).exists():
        return None
    conversation = conversation_lock_with_work(conversation_id)
    if conversation.customer_left_at is None:
        return conversation
    grace = timedelta(seconds=chat_settings_of(conversation.workstream).customer_grace_seconds)
    if conversation.customer_left_at + grace > timezone.now():
        return conversation
    if conversation.status not in (Conversation.Status.OPEN, Conversation.Status.ACTIVE):
        return conversation
    return _end(
        conversation,
        actor=Actor.SYSTEM,
        notice=customer_words(conversation.language, gettext_noop("The customer left the chat.")),
    )


def conversations_apply_overdue_deadlines(*, limit: int = 500) -> dict[str, int]:
    """Apply grace-period ends and auto-closes whose tasks were lost (REL-2)."""
    now = timezone.now()
    gone = 0
    for conversation in (
        Conversation.objects.filter(customer_left_at__isnull=False, status__in=["open", "active"])
        .select_related("workstream__chat_settings")
        .only("pk", "customer_left_at", "workstream__chat_settings__customer_grace_seconds")[:limit]
    ):
        grace = chat_settings_of(conversation.workstream).customer_grace_seconds
        if conversation.customer_left_at + timedelta(seconds=grace) <= now:
            ended = conversation_end_if_customer_gone(conversation_id=conversation.pk)
            gone += ended is not None and ended.customer_left_at is None
    closed = 0
    for conversation_id in Conversation.objects.filter(auto_close_at__lte=now).values_list("pk", flat=True)[:limit]:
        result = conversation_auto_close(conversation_id=conversation_id)
        closed += result is not None and result.status == Conversation.Status.CLOSED
    inactive = 0
    for conversation_id in (
        Conversation.objects.filter(inactive_close_at__lte=now).order_by().values_list("pk", flat=True)[:limit]
    ):
        before = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True).first()
        result = conversation_inactive_close(conversation_id=conversation_id)
        inactive += result is not None and result.status != before
    return {"customers_gone": gone, "auto_closed": closed, "inactive_closed": inactive}


# --- Persistent chat's way out of the waiting stage (PER-6, PER-8, CONV-1) ---------------------


def conversation_customer_back(*, conversation_id: int) -> Conversation:
    """The customer wrote in a waiting conversation: it reopens and goes back to its agent (PER-6, PER-8).

    Runs inside ``message_post``'s transaction (the message is stored first). Waiting → open, the
    waiting auto-close is cancelled and the parked work item returns to its queue, offered to
    the previous agent first (ROU-12) — during the queue's operating hours (PER-7).
    """
    # Inside message_post, which holds the conversation's lock already (its work item is parked,
    # so no accept or transfer can hold that item meanwhile).
    conversation = conversation_lock(conversation_id)
    if conversation.status != Conversation.Status.WAITING:
        return conversation
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.OPEN, actor=Actor.CUSTOMER, note="Customer wrote"
    )
    conversation.auto_close_at = None
    conversation.save(update_fields=["auto_close_at"])
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        work_item_return(work_item_id=work_item_id)
    return conversation


def conversation_waiting_auto_close(*, conversation: Conversation) -> Conversation:
    """Close a locked conversation left waiting past its deadline (CONV-1); the caller checked the deadline."""
    message_post(
        conversation_id=conversation.pk,
        sender=Message.Sender.SYSTEM,
        text=customer_words(conversation.language, INACTIVE_NOTICE),
    )
    conversation = conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=Actor.SYSTEM, note="Inactive"
    )
    work_item_id = conversation_work_item_id(conversation)
    if work_item_id:
        routing.work_item_complete(work_item_id=work_item_id)
    return conversation
