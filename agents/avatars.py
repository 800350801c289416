"""An agent's avatar (issue 16): the picture the customer sees beside the agent's name once the
agent joins. Admins upload it in the admin center; it is checked from its content (an intact PNG,
JPEG, GIF or WebP image, never SVG or anything named like an image) and limited in size. It is
stored under a random name, so a new picture gets new links, and served only through signed,
expiring links (conversations.attachments.agent_avatar_url), never from the media URL.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image

from core.images import INLINE_FORMATS, image_format

#: The longest side an avatar may have, in pixels (it is shown at 28 px; a photo needs no more).
MAX_AVATAR_SIDE = 2048


def avatar_content_type(name: str) -> str | None:
    """The content type of a stored avatar, from the extension :func:`avatar_check` gave it."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((kind for kind, ext in INLINE_FORMATS.values() if ext == extension), None)


def avatar_check(upload: UploadedFile) -> UploadedFile:
    """The upload, renamed ``<random>.<its real extension>``, or a :class:`ValidationError` a
    person can read: over ``AGENT_AVATAR_MAX_BYTES``, not an intact image of an inline format
    (whatever its name or claimed type), or larger than :data:`MAX_AVATAR_SIDE` on a side."""
    limit = settings.AGENT_AVATAR_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            _("This picture is too large: pictures up to %(size)s can be used.") % {"size": filesizeformat(limit)},
            code="avatar_too_large",
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    upload.seek(0)
    found = image_format(content) if len(content) <= limit else None
    if found not in INLINE_FORMATS:
        raise ValidationError(_("Use a PNG, JPEG, GIF or WebP picture."), code="avatar_not_an_image")
    with Image.open(upload) as image:  # the size from the header only
        width, height = image.size
    upload.seek(0)
    if max(width, height) > MAX_AVATAR_SIDE:
        raise ValidationError(
            _("This picture is too large: at most %(side)s pixels a side.") % {"side": MAX_AVATAR_SIDE},
            code="avatar_too_large",
        )
    upload.name = f"{uuid.uuid4().hex}.{INLINE_FORMATS[found][1]}"
    return upload


def avatar_discard_on_commit(name: str) -> None:
    """Delete a replaced or removed picture's file once the change is committed (never before:
    a rolled-back change keeps pointing at it)."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
