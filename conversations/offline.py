"""A customer nobody could answer leaves a message (LIVE-4, issue 16).

The widget offers an offline form when its queue is out of hours or no agent could take a chat
(``ChatWidget.when_unavailable``). What the customer sends becomes a case, for a new contact made
of the name and email they typed, and a closed conversation in the widget's queue that holds
their message: the queue's agents reach the case through it (SEC-1,
``customers.selectors.records_visible_to``) and the customer's history shows it. The name and
email are claims, so they are never matched to an existing contact here (SUM-5); an agent merges
or links them as for any suggestion.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from conversations.models import Conversation, Message
from conversations.services import Actor, conversation_transition, message_post, message_validate_text
from customers.models import Case
from customers.services import case_create, contact_create


@transaction.atomic
def conversation_offline_message_record(
    *, widget, visitor, name: str, email: str, text: str, language: str = "", page_url: str = ""
) -> Conversation:
    """Store the offline message as a case and a closed conversation; one transaction.

    Bad input (blank or over-long text, an invalid email) raises before anything is written.
    """
    text = message_validate_text(text)
    contact = contact_create(last_name=name.strip(), email=email.strip().lower())
    case = case_create(
        title=(gettext("Offline message from %(name)s") % {"name": name.strip()})[:200],
        description=text,
        contact=contact,
        origin=Case.Origin.CHAT,
    )
    conversation = Conversation.objects.create(
        channel=Conversation.Channel.LIVE_CHAT,
        origin=Conversation.Origin.WIDGET,
        workstream=widget.workstream,
        queue=widget.workstream.default_queue,
        widget=widget,
        visitor=visitor,
        contact=contact,
        case=case,
        language=language[:16],
        page_url=page_url[:2000],
    )
    message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text=text)
    return conversation_transition(
        conversation_id=conversation.pk, to=Conversation.Status.CLOSED, actor=Actor.CUSTOMER, note="Offline message"
    )
