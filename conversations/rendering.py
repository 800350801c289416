"""How a message reads, for every client, in one place (issue 11): which parts of its text are
links, whose name stands beside it, and when it was written.

The workspace renders ``templates/conversations/_message.html`` from these, for the history on
the page and for live messages on the socket alike; the widget, which runs on the customer's
site, gets the same :func:`message_parts` and sender name in its frames and only builds text
nodes and anchors from them (SEC-2). No client holds a link rule of its own.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.encoding import iri_to_uri
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from conversations.models import Conversation, Message

#: A web link starts at a word boundary with http:// or https:// and runs to white space or to a
#: character that cannot be part of a URL typed in a chat (quotes, angle brackets, back-ticks).
LINK = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
#: Punctuation that ends a sentence rather than a link ("see https://x.example/a.").
TRAILING = ".,;:!?*"
#: A closing bracket belongs to the link only when the link opened it (Wikipedia's "Foo_(bar)").
BRACKETS = {")": "(", "]": "[", "}": "{"}


def link_trim(candidate: str) -> str:
    """The link without the sentence's punctuation after it."""
    while candidate:
        last = candidate[-1]
        if last in TRAILING or (last in BRACKETS and candidate.count(last) > candidate.count(BRACKETS[last])):
            candidate = candidate[:-1]
            continue
        break
    return candidate


def link_href(url: str) -> str | None:
    """The address a link opens, or None when the text must stay text.

    Only http(s) with a host; never a link carrying a user name ("https://bank.example@evil.example"
    reads as the bank); an international domain name is opened by its ASCII (punycode) form, so the
    address bar shows what the browser really goes to.
    """
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    if split.scheme.lower() not in ("http", "https") or not split.hostname or "@" in split.netloc:
        return None
    try:
        host = split.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return iri_to_uri(urlunsplit((split.scheme.lower(), netloc, split.path, split.query, split.fragment)))


def message_parts(text: str) -> list[dict[str, str]]:
    """A message's text cut into plain parts and links: ``[{"text"}, {"link", "text"}, …]`` (SEC-2).

    The one link rule of the product. ``text`` is what to show (as typed); ``link`` is the
    address to open. E-mail addresses and other schemes (``javascript:``, ``mailto:``) stay text.
    """
    parts: list[dict[str, str]] = []
    plain = ""
    position = 0
    for match in LINK.finditer(text):
        candidate = link_trim(match.group(0))
        href = link_href(candidate)
        if href is None:
            continue
        plain += text[position : match.start()]
        if plain:
            parts.append({"text": plain})
            plain = ""
        parts.append({"link": href, "text": candidate})
        position = match.start() + len(candidate)
    plain += text[position:]
    if plain:
        parts.append({"text": plain})
    return parts


def attachment_parts(attachment: dict) -> list[dict[str, str]]:
    """A file's parts for the widget, in the active language (issue 16): an image
    (``{"image", "text"}``: its link opens it full size, ``text`` labels it) or a named file with
    its size (``{"file", "text", "size"}``). ``attachment`` is what a message event says of it."""
    if attachment["image"]:
        return [{"image": attachment["url"], "text": _("Open %(name)s full size") % {"name": attachment["name"]}}]
    return [{"file": attachment["url"], "text": attachment["name"], "size": str(filesizeformat(attachment["size"]))}]


def message_markup(text: str) -> SafeString:
    """The message as escaped HTML, its links opened in a new tab without opener or referrer (SEC-2)."""
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html(
                    '<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>', p["link"], p["text"]
                )
                if "link" in p
                else p["text"],
            )
            for p in message_parts(text)
        ),
    )


def message_agent_name(message: Message) -> str | None:
    """The display name of the agent who wrote ``message``, else None.

    Select ``sender_user__agent`` with the message to read it without a query.
    """
    if message.sender != Message.Sender.AGENT or not message.sender_user_id:
        return None
    agent = getattr(message.sender_user, "agent", None)
    return agent.display_name if agent is not None else None


def message_sender_name(*, sender: str, agent_name: str | None) -> str:
    """The name shown beside a message, in the active language: the writing agent's display name
    (a consultant's too, ROU-15), else what wrote it (Customer, System, Bot)."""
    if sender == Message.Sender.AGENT:
        return agent_name or _("Agent")
    try:
        return str(Message.Sender(sender).label)
    except ValueError:
        return sender


def message_time(created_at: datetime) -> str:
    """The one time format of the thread (a message's and a note's), live and stored alike: the
    active language's ``TIME_FORMAT`` in the current time zone — "7:01 PM" in English, "19:01" in
    French, "19.01" in Indonesian (issue 17, I18N-1; ``omnichannel/formats``). The page renders
    under the reader's language and the socket under its page's (``WorkspaceConsumer.language``),
    so a live message and the same one after a reload read the same. Templates put it in
    ``<time datetime>`` so scripts and screen readers have the exact instant."""
    return formats.time_format(timezone.localtime(created_at), "TIME_FORMAT")


def customer_name(conversation: Conversation) -> str:
    """The customer's name as known: the linked contact's, else the pre-chat one, else ""."""
    if conversation.contact_id and conversation.contact.full_name:
        return conversation.contact.full_name
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    for key in ("name", "customerName", "full_name"):
        value = answers.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return ""
