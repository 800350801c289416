"""Placeholders of canned responses: ``{customer_name}`` and its kind, filled from a conversation.

One syntax admins can read: a name in single braces. An unknown name is a form error when the
canned response is saved; a known one whose value the conversation lacks leaves a readable blank
("Hello {customer_name}, …" becomes "Hello, …"), never the placeholder itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: The names an admin may use, with what each stands for (shown in the admin form's help).
PLACEHOLDERS: dict[str, str] = {
    "customer_name": gettext_lazy("the customer's name"),
    "customer_email": gettext_lazy("the customer's email address"),
    "agent_name": gettext_lazy("the agent's display name"),
    "queue": gettext_lazy("the conversation's queue"),
    "workstream": gettext_lazy("the conversation's workstream"),
}
#: ``{name}``: a word in single braces. Anything else with braces stays text.
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


def placeholders_check(text: str) -> None:
    """Raise :class:`ValidationError` naming every unknown placeholder in ``text``."""
    unknown = sorted({match.group(1) for match in PLACEHOLDER.finditer(text)} - PLACEHOLDERS.keys())
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(unknown)s. Use one of: %(known)s.")
            % {
                "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                "known": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            },
            code="unknown_placeholder",
        )


def placeholders_fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced by its value; a missing one leaves a readable blank.

    The blank takes the space before it and a space left before punctuation ("Hi {x}, …" → "Hi, …"),
    so the agent edits a sentence, not a hole.
    """
    filled = PLACEHOLDER.sub(lambda match: (values.get(match.group(1)) or "").strip() or "\x00", text)
    filled = re.sub(r"[ \t]*\x00[ \t]*(?=[,.;:!?)])", "", filled)  # "Hi {x}, " → "Hi, "
    filled = re.sub(r"[ \t]*\x00", "", filled)  # "Dear {x} " → "Dear "
    filled = filled.replace("\x00", "")
    return re.sub(r"[ \t]{2,}", " ", filled)
