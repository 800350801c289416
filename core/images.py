"""Reading an image's real format from its content (Pillow), for every app that takes images
from people: attachments (conversations) and agents' avatars (agents)."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

#: The image formats a browser may show inline (never SVG: it is markup that runs scripts).
INLINE_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "GIF": ("image/gif", "gif"),
                  "WEBP": ("image/webp", "webp")}  # fmt: skip


def image_format(content: bytes) -> str | None:
    """The Pillow format name of ``content`` when it is an intact image, else None."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return found


def image_is_valid(content: bytes, image_format_name: str) -> bool:
    """Pillow reads ``content`` as an image of ``image_format_name`` and finds its structure intact."""
    return image_format(content) == image_format_name
