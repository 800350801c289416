"""What a waiting live-chat customer reads about their place and the wait (LIVE-1).

Sent only when somebody can pick the chat up now (``routing.selectors.queue_can_serve_now``): a
customer nobody can answer is told so by the widget instead (LIVE-4), never "number 1 in the
queue" while nobody is there. The product's own sentences are plural-aware (``ngettext``: "1
minute", "2 minutes") and in the conversation's language; a workstream's own wording (its
chat settings' ``queue_position_message`` / ``average_wait_message`` changed in the admin center) is used as
written, with its placeholders filled.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import get_supported_language_variant, gettext, ngettext

from conversations.chat_settings import chat_settings_of
from conversations.models import ChatSettings
from routing.models import Workstream


def _product_wording(field: str, value: str) -> bool:
    return value == ChatSettings._meta.get_field(field).default


def customer_language(tag: str) -> str:
    """The shipped language a customer reads for their conversation's ``tag`` ("fr-FR" → "fr"),
    the product's default for one we do not ship — never the agent's who happened to act."""
    try:
        return get_supported_language_variant(tag or "")
    except LookupError:
        return settings.LANGUAGE_CODE


_language = customer_language


def customer_words(language: str, text: str, **values: object) -> str:
    """A system message a customer receives (agent joined, chat ended, …), in their conversation's
    ``language`` (I18N-1): ``text`` is the English sentence marked with ``gettext_noop``, so the
    stored message says it once, in the customer's words, for the live and the later reader."""
    with translation.override(customer_language(language)):
        sentence = gettext(text)
    return sentence % values if values else sentence


def wait_message_texts(*, workstream: Workstream, position: int, minutes: int, language: str) -> list[str]:
    """The system messages for a chat that waits at ``position`` with about ``minutes`` to wait."""
    texts = []
    chat = chat_settings_of(workstream)
    with translation.override(_language(language)):
        template = chat.queue_position_message
        if _product_wording("queue_position_message", template):
            texts.append(gettext("You are number %(position)d in the queue.") % {"position": position})
        elif template:
            texts.append(template.format(position=position))
        template = chat.average_wait_message
        if _product_wording("average_wait_message", template):
            texts.append(
                ngettext(
                    "The average wait is about %(minutes)d minute.",
                    "The average wait is about %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes}
            )
        elif template:
            texts.append(template.format(minutes=minutes))
    return texts
