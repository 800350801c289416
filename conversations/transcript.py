"""The customer's transcript of their conversation, as plain text (issue 16).

Only what the customer saw: their messages, the agents', the bot's and the system's, in sequence
order. Any other kind of entry (an internal note, should one be stored with the messages) is
left out by the list below, never by a filter that might miss a new kind.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext, ngettext

from conversations.errors import ConversationError
from conversations.models import Conversation, Message
from conversations.rendering import message_agent_name, message_sender_name
from core.tasks_by_name import task_send_on_commit

CUSTOMER_VISIBLE = (Message.Sender.CUSTOMER, Message.Sender.AGENT, Message.Sender.BOT, Message.Sender.SYSTEM)


def conversation_transcript_text(conversation: Conversation, *, language: str) -> str:
    """The transcript, one line a message: ``[YYYY-MM-DD HH:MM UTC] Name: text``. One query; the
    caller has checked that the reader is the conversation's customer (SEC-1)."""
    messages = (
        Message.objects.filter(conversation=conversation, sender__in=CUSTOMER_VISIBLE)
        .select_related("sender_user__agent")
        .order_by("seq")
    )
    lines = []
    with translation.override(language):
        for message in messages.iterator(chunk_size=500):
            name = message_sender_name(sender=message.sender, agent_name=message_agent_name(message))
            when = message.created_at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(f"[{when}] {name}: {message.text}")
    return "\n".join(lines) + "\n"


def conversation_transcript_email(*, conversation: Conversation, to: str, language: str) -> None:
    """Email the transcript to the address the customer typed, at most once per conversation in
    ``TRANSCRIPT_EMAIL_INTERVAL_SECONDS`` (a second ask in that time is refused, nothing sent).
    Refused where the product has no outbound mail (``OUTBOUND_MAIL``). The mail goes out from the
    ``conversations.transcript_email`` task once the current transaction commits, which retries
    while the mail server cannot be reached. The caller has checked that the asker is the
    conversation's customer (SEC-1)."""
    if not settings.OUTBOUND_MAIL:
        raise ConversationError(gettext("Transcripts cannot be sent by email here."), code="mail_off")
    interval = settings.TRANSCRIPT_EMAIL_INTERVAL_SECONDS
    if not cache.add(f"transcript-email:{conversation.public_id}", 1, interval):
        minutes = max(1, -(-interval // 60))
        raise ConversationError(
            ngettext(
                "The transcript was sent a moment ago; ask again in %(count)d minute.",
                "The transcript was sent a moment ago; ask again in %(count)d minutes.",
                minutes,
            )
            % {"count": minutes},
            code="throttled",
        )
    task_send_on_commit("conversations.transcript_email", conversation.pk, to, language)


def conversation_transcript_send(*, conversation_id: int, to: str, language: str) -> None:
    """Build and send the transcript mail now (the task's body). Writes nothing; a conversation
    gone since the ask sends nothing. Mail errors (``SMTPException``, ``OSError``) propagate, for
    the task to retry."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return
    text = conversation_transcript_text(conversation, language=language)
    with translation.override(language):
        subject = gettext("Your chat transcript")
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
