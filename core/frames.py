"""Exact schemas for the frames clients send on our sockets (REL-3, docs/live-chat-protocol.md).

Each frame type is a pydantic model in strict mode: a field takes exactly its JSON type — a
string is not a number, ``true`` is not ``1``, ``5.0`` is not ``5``, ``"yes"`` is not ``true`` —
and a field the frame does not define is refused (``extra="forbid"``), so a client's typo or an
attacker's extra key is answered instead of silently ignored. Strings are text a person could
have typed: no NUL character and no unpaired surrogate (neither can be stored in PostgreSQL or
encoded as UTF-8). Ids are positive 64-bit integers, the range of our primary keys.

:func:`frame_errors` turns a :class:`pydantic.ValidationError` into the ``details`` of an error
frame, ``{field: [message, …]}`` with translated messages, the shape clients know from DRF.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from django.utils.translation import gettext as _
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

MAX_DETAILS = 20  # fields named in one error frame
MAX_ID = 2**63 - 1  # bigint: a larger number cannot name a row, and the database would refuse it


def _plain_text(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("plain_text", "NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate, e.g. from a JSON "\ud800"
        raise PydanticCustomError("plain_text", "unpaired surrogate") from None
    return value


#: Any string of a frame: exact type, plain text.
Text = Annotated[str, AfterValidator(_plain_text)]
#: A database id.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A sequence number or position (0 = from the start).
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]
#: The client's correlation id, carried back on the answer.
Ref = Annotated[Text, Field(max_length=64)]


class Frame(BaseModel):
    """A client frame without fields of its own (``ping``, ``heartbeat``, ``chat.end``…)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    type: Text
    ref: Ref | None = None

    #: optional fields that are absent from :meth:`data` when the client did not send them
    #: (handlers test ``"ref" in frame``); any other field is always there, with its default.
    omit_unset: ClassVar[frozenset[str]] = frozenset({"ref"})

    def data(self) -> dict[str, Any]:
        unset = {name for name in self.omit_unset if name not in self.model_fields_set}
        return self.model_dump(exclude=unset)


def _message(error: dict[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not part of this frame.")
    if kind == "string_type":
        return _("Must be a string.")
    if kind in {"int_type", "int_from_float"}:
        return _("Must be an integer (not a string, a boolean or a decimal number).")
    if kind == "bool_type":
        return _("Must be true or false.")
    if kind == "greater_than_equal":
        return _("Must be at least %(limit)s.") % {"limit": ctx.get("ge")}
    if kind == "less_than_equal":
        return _("Must be at most %(limit)s.") % {"limit": ctx.get("le")}
    if kind == "string_too_long":
        return _("Must be at most %(limit)s characters long.") % {"limit": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("Must not be empty.")
    if kind == "plain_text":
        return _("Must not contain NUL characters or unpaired surrogates.")
    return _("Invalid value.")


def frame_errors(exc: ValidationError) -> dict[str, list[str]]:
    """``{field: [message, …]}``: the field is the top-level key of the frame (nested keys dotted)."""
    details: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        # A client may send any key: what is echoed back stays small.
        field = (".".join(str(part) for part in error["loc"]) or "frame")[:64]
        if field not in details and len(details) >= MAX_DETAILS:
            break
        details.setdefault(field, []).append(_message(error))
    return details
