"""Files and images in a conversation (issue 16): which kinds may be sent, what a file really is,
and the signed, expiring links that are the only way to fetch one.

The type of a file is read from its content (``filetype``'s magic numbers, then Pillow for
images), never from its name or the browser's claim. Markup (HTML, SVG, XML) is never a kind,
whatever the file is called. A link is signed with :class:`~django.core.signing.TimestampSigner`
and names the attachment's random key; only readers who may see the conversation are given one
(the conversation's customer on their socket, agents through the SEC-1 selectors).

Limits are per widget: the widgets app registers where a conversation's limits come from
(:func:`register_attachment_policy`); without one, :data:`DEFAULT_POLICY` applies.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.models import AgentProfile
from conversations.errors import ConversationError
from conversations.models import Attachment, Conversation, Message
from core.errors import NotFound
from core.images import image_is_valid

MEGABYTE = 1024 * 1024


class AttachmentKind(models.TextChoices):
    """What an administrator may allow a widget's conversations to carry."""

    PNG = "png", gettext_lazy("PNG images")
    JPEG = "jpeg", gettext_lazy("JPEG images")
    GIF = "gif", gettext_lazy("GIF images")
    WEBP = "webp", gettext_lazy("WebP images")
    PDF = "pdf", gettext_lazy("PDF documents")
    TEXT = "text", gettext_lazy("Plain text")
    OFFICE = "office", gettext_lazy("Office documents (Word, Excel, PowerPoint, OpenDocument)")


#: The content type a kind is served with, from what the content's magic numbers say it is.
CONTENT_TYPES: dict[str, str] = {
    "image/png": AttachmentKind.PNG,
    "image/apng": AttachmentKind.PNG,
    "image/jpeg": AttachmentKind.JPEG,
    "image/gif": AttachmentKind.GIF,
    "image/webp": AttachmentKind.WEBP,
    "application/pdf": AttachmentKind.PDF,
    "application/msword": AttachmentKind.OFFICE,
    "application/vnd.ms-excel": AttachmentKind.OFFICE,
    "application/vnd.ms-powerpoint": AttachmentKind.OFFICE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": AttachmentKind.OFFICE,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": AttachmentKind.OFFICE,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": AttachmentKind.OFFICE,
    "application/vnd.oasis.opendocument.text": AttachmentKind.OFFICE,
    "application/vnd.oasis.opendocument.spreadsheet": AttachmentKind.OFFICE,
    "application/vnd.oasis.opendocument.presentation": AttachmentKind.OFFICE,
}
#: The images a browser may show inline (never SVG): Pillow must read them as this format too.
IMAGE_FORMATS = {
    AttachmentKind.PNG: "PNG",
    AttachmentKind.JPEG: "JPEG",
    AttachmentKind.GIF: "GIF",
    AttachmentKind.WEBP: "WEBP",
}
#: How markup starts, after white space and a byte-order mark: a text file that is HTML, SVG or
#: XML is refused, whatever it is called (a browser sniffing it would run its scripts).
MARKUP_MARKERS = (b"<script", b"<svg", b"<html", b"<!doctype", b"<?xml", b"<body", b"<iframe", b"<head")
#: Control characters plain text does not hold (tab, line feed, form feed and carriage return it may).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class AttachmentPolicy:
    """What a conversation may carry: the allowed kinds and the largest file, in bytes."""

    kinds: frozenset[str]
    max_bytes: int


DEFAULT_KINDS: tuple[str, ...] = tuple(AttachmentKind.values)
DEFAULT_MAX_BYTES = 10 * MEGABYTE
DEFAULT_POLICY = AttachmentPolicy(kinds=frozenset(DEFAULT_KINDS), max_bytes=DEFAULT_MAX_BYTES)

_policy_source: Callable[[Conversation], AttachmentPolicy | None] | None = None


def register_attachment_policy(source: Callable[[Conversation], AttachmentPolicy | None]) -> None:
    """Called by the widgets app in ``ready()``: a conversation's limits are its widget's."""
    global _policy_source
    _policy_source = source


def attachment_policy(conversation: Conversation) -> AttachmentPolicy:
    """The limits that apply to files sent in ``conversation`` (its widget's, else the defaults)."""
    policy = _policy_source(conversation) if _policy_source is not None else None
    return policy or DEFAULT_POLICY


@dataclass(frozen=True)
class Sniffed:
    """What a file really is."""

    kind: str
    content_type: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.kind in IMAGE_FORMATS


def attachment_refused(message: str, code: str) -> ConversationError:
    return ConversationError(message, code=code)


def attachment_sniff(content: bytes) -> Sniffed | None:
    """The kind of ``content`` read from the content itself, or None for anything we never accept.

    Images are opened by Pillow as well: a PNG header in front of something else is refused.
    """
    guess = filetype.guess(content)
    if guess is not None:
        kind = CONTENT_TYPES.get(guess.mime)
        if kind is None:
            return None
        content_type = "image/png" if guess.mime == "image/apng" else guess.mime
        if kind in IMAGE_FORMATS and not image_is_valid(content, IMAGE_FORMATS[kind]):
            return None
        return Sniffed(kind=kind, content_type=content_type, extension=guess.extension.replace("apng", "png"))
    if text_is_plain(content):
        return Sniffed(kind=AttachmentKind.TEXT, content_type="text/plain; charset=utf-8", extension="txt")
    return None


def text_is_plain(content: bytes) -> bool:
    """UTF-8 text without control characters that is not markup (HTML, SVG, XML)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if CONTROL_CHARACTERS.search(text):
        return False
    lowered = content.lower()
    return not (text.lstrip().startswith("<") or any(marker in lowered for marker in MARKUP_MARKERS))


def attachment_name(name: object) -> str:
    """The name shown for a file: its last path part, without control or format characters."""
    name = os.path.basename(str(name or "").replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, extension = os.path.splitext(name)
        name = stem[: MAX_NAME_LENGTH - len(extension[:20])] + extension[:20]
    return name or _("file")


def attachment_check(*, upload: UploadedFile, policy: AttachmentPolicy) -> tuple[Sniffed, bytes]:
    """The upload's real kind and content, or a :class:`ConversationError` a person can read.

    Refused: over the policy's size, empty, a kind the policy does not allow, and anything that is
    not one of :class:`AttachmentKind` (markup, programs, archives) whatever its name says.
    """
    if upload.size is None or upload.size > policy.max_bytes:
        raise attachment_refused(
            _("This file is too large: files up to %(size)s can be sent.") % {"size": size_label(policy.max_bytes)},
            "attachment_too_large",
        )
    if upload.size == 0:
        raise attachment_refused(_("This file is empty."), "attachment_empty")
    upload.seek(0)
    content = upload.read(policy.max_bytes + 1)
    if len(content) > policy.max_bytes:
        raise attachment_refused(
            _("This file is too large: files up to %(size)s can be sent.") % {"size": size_label(policy.max_bytes)},
            "attachment_too_large",
        )
    sniffed = attachment_sniff(content)
    if sniffed is None or sniffed.kind not in policy.kinds:
        allowed = ", ".join(str(AttachmentKind(kind).label) for kind in AttachmentKind.values if kind in policy.kinds)
        raise attachment_refused(
            _("This type of file can't be sent here. Allowed: %(kinds)s.") % {"kinds": allowed},
            "attachment_type_not_allowed",
        )
    return sniffed, content


def size_label(size: int) -> str:
    """A size in the active language (``1,5 MB`` in French)."""
    return str(filesizeformat(size))


# --- Links ------------------------------------------------------------------------------------
LINK_SALT = "conversations.attachment"


def attachment_url(attachment: Attachment) -> str:
    """The attachment's download path, signed now: it works for ``ATTACHMENT_LINK_MAX_AGE`` seconds."""
    token = signing.TimestampSigner(salt=LINK_SALT).sign(attachment.key.hex)
    return reverse("conversations:attachment_download", kwargs={"token": token})


def attachment_for_link(token: str) -> Attachment:
    """The attachment a link names, or :class:`NotFound` when its signature is wrong or it expired."""
    try:
        key = signing.TimestampSigner(salt=LINK_SALT).unsign(token, max_age=settings.ATTACHMENT_LINK_MAX_AGE)
        return Attachment.objects.get(key=key)
    except (signing.BadSignature, ValueError, Attachment.DoesNotExist):
        raise NotFound(_("No such file.")) from None


AVATAR_SALT = "conversations.agent_avatar"


def avatar_digest(name: str) -> str:
    """Names the stored picture in a link without revealing where it is stored."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def agent_avatar_url(agent: AgentProfile | None) -> str | None:
    """The agent's avatar (agents.avatars) as a download path signed now, like an attachment's:
    it works for ``ATTACHMENT_LINK_MAX_AGE`` seconds and only for the picture of now (a new one
    gets new links). None when the agent has none. No query."""
    if agent is None or not agent.avatar:
        return None
    token = signing.TimestampSigner(salt=AVATAR_SALT).sign(f"{agent.pk}.{avatar_digest(agent.avatar.name)}")
    return reverse("conversations:agent_avatar", kwargs={"token": token})


def agent_for_avatar_link(token: str) -> AgentProfile:
    """The agent whose current avatar a link names, or :class:`NotFound` (a wrong signature, an
    expired link, a picture replaced or removed since)."""
    try:
        value = signing.TimestampSigner(salt=AVATAR_SALT).unsign(token, max_age=settings.ATTACHMENT_LINK_MAX_AGE)
        agent_id, digest = value.split(".")
        agent = AgentProfile.objects.only("avatar").get(pk=int(agent_id))
    except (signing.BadSignature, ValueError, AgentProfile.DoesNotExist):
        raise NotFound(_("No such file.")) from None
    if not agent.avatar or avatar_digest(agent.avatar.name) != digest:
        raise NotFound(_("No such file."))
    return agent


def message_agent_avatar(message: Message) -> str | None:
    """The signed avatar link of the agent who wrote ``message``, else None (select
    ``sender_user__agent`` with the message: no query)."""
    if message.sender != Message.Sender.AGENT or not message.sender_user_id:
        return None
    return agent_avatar_url(getattr(message.sender_user, "agent", None))


def message_attachment(message: Message) -> Attachment | None:
    """The message's attachment, if it has one (select ``attachment`` with the message: no query)."""
    try:
        return message.attachment
    except ObjectDoesNotExist:
        return None


def attachment_event(attachment: Attachment) -> dict:
    """What a message event says of its file: the readers of the conversation get a fresh link."""
    return {
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "image": attachment.is_image,
        "url": attachment_url(attachment),
    }
