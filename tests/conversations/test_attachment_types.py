"""What a file really is, read from its content (issue 16): the kinds a widget may allow are
recognised, and markup, archives and programs are never a kind, whatever they are called."""

import io
import zipfile

import pytest
from PIL import Image

from conversations.attachments import attachment_name, attachment_sniff
from tests.conversations.attachment_files import HTML_WITH_SCRIPT, PDF, SVG_WITH_SCRIPT, png_bytes

pytestmark = pytest.mark.embedded


def image(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buffer, format=image_format)
    return buffer.getvalue()


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "kind", "content_type"),
    [
        (png_bytes(), "png", "image/png"),
        (image("JPEG"), "jpeg", "image/jpeg"),
        (image("GIF"), "gif", "image/gif"),
        (image("WEBP"), "webp", "image/webp"),
        (PDF, "pdf", "application/pdf"),
        ("Bonjour, voilà ma facture.\r\n\tMerci".encode(), "text", "text/plain; charset=utf-8"),
        (
            zipped("[Content_Types].xml", "word/document.xml"),
            "office",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf", "text", "docx"],
)
def test_the_allowed_kinds_are_recognised_from_their_content(content, kind, content_type):
    sniffed = attachment_sniff(content)
    assert (sniffed.kind, sniffed.content_type) == (kind, content_type)


@pytest.mark.parametrize(
    "content",
    [
        HTML_WITH_SCRIPT,
        SVG_WITH_SCRIPT,
        b"  \n<svg onload=alert(1)>",
        b"Hello <script>alert(1)</script>",
        "\ufeff<html><body>hi</body></html>".encode(),
        zipped("evil.exe"),
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
        b"text with a NUL \x00 byte",
        b"\xff\xfe not utf-8",
        png_bytes()[:24],  # a PNG header and nothing of the image
    ],
    ids=[
        "html",
        "svg",
        "svg-after-space",
        "script-in-text",
        "html-after-bom",
        "zip",
        "exe",
        "elf",
        "nul",
        "latin",
        "cut-png",
    ],
)
def test_markup_archives_programs_and_broken_images_are_no_kind(content):
    assert attachment_sniff(content) is None


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("C:\\Users\\ana\\photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("invoice\u202egnp.pdf", "invoicegnp.pdf"),  # no right-to-left override to disguise the extension
        ("", "file"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_a_files_name_is_its_last_part_without_control_characters(sent, shown):
    assert attachment_name(sent) == shown
