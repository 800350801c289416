"""Sending a file in a conversation (issue 16): an attachment is a message.

It takes the conversation's next sequence number, is stored (its file, then its message and
attachment rows in one transaction) before it is delivered, goes out on the sockets like any
message and is resumed like one (``after=N``).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from conversations.attachments import attachment_check, attachment_name, attachment_policy
from conversations.errors import ConversationError
from conversations.models import Attachment, Conversation, Message
from conversations.services import message_post
from core.errors import NotFound

#: Where files go both ways. The SMS and voice provider adapters send no media (no MMS).
CHAT_CHANNELS = (Conversation.Channel.LIVE_CHAT, Conversation.Channel.PERSISTENT_CHAT)


def message_attach(
    *,
    conversation_id: int,
    sender: str,
    upload: UploadedFile,
    sender_user: AbstractBaseUser | None = None,
    client_id: str | None = None,
    agent=None,
) -> tuple[Message, bool]:
    """Store ``upload`` as the conversation's next message, then publish it (CONV-2).

    The same ``client_id`` sent twice stores one message and one file: the repeat returns the
    stored message with ``created=False`` and keeps nothing of the second upload. The file's kind
    is read from its content and checked against the conversation's limits
    (:func:`~conversations.attachments.attachment_policy`); an agent sends files only in a chat
    (the SMS provider adapters send no media). With ``agent`` the same rules as
    :func:`~conversations.services.message_post` apply. A refusal changes nothing.
    """
    if client_id is not None:
        repeat = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).order_by().first()
        if repeat is not None:
            return repeat, False
    conversation = Conversation.objects.filter(pk=conversation_id).only("channel", "widget").first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    if conversation.channel not in CHAT_CHANNELS:
        raise ConversationError(_("Files can be sent only in a chat."), code="attachment_not_supported")
    sniffed, content = attachment_check(upload=upload, policy=attachment_policy(conversation))
    name = attachment_name(upload.name)
    key = uuid.uuid4()
    stored = default_storage.save(
        f"attachments/{conversation_id}/{key.hex}.{sniffed.extension}", ContentFile(content, name=name)
    )
    attachment = Attachment(
        key=key,
        file=stored,
        name=name,
        size=len(content),
        content_type=sniffed.content_type,
        is_image=sniffed.is_image,
    )
    try:
        message, created = message_post(
            conversation_id=conversation_id,
            sender=sender,
            text=name,  # what a reader without the file sees (the API's text, transcripts)
            sender_user=sender_user,
            client_id=client_id,
            agent=agent,
            attachment=attachment,
        )
    except BaseException:
        default_storage.delete(stored)
        raise
    if not created:  # stored meanwhile by a concurrent retry: keep the first file only
        default_storage.delete(stored)
    return message, created
