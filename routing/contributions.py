"""What apps above routing contribute to routing's own rules and admin pages.

Routing sits below the widget and conversation apps, so it never imports them. Where a
workstream's pages need their words or their rows, the higher app registers them here from its
``AppConfig.ready()``: the checks a change of channel or chat mode must pass for the rows that
use the workstream (a chat widget on it: PER-2), and the settings of its own that it keeps per
workstream, edited on the workstream's admin page and shown in the workstream API (the
conversation app's chat settings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: check(workstream_id=, channel=, chat_mode=) → {field name: message}; empty when it holds.
WorkstreamCheck = Callable[..., dict[str, str]]
_workstream_checks: list[WorkstreamCheck] = []


def workstream_check_register(check: WorkstreamCheck) -> None:
    """Have ``check`` judge each change of a workstream's channel or chat mode; twice keeps one."""
    if check not in _workstream_checks:
        _workstream_checks.append(check)


def workstream_change_problems(*, workstream_id: int | None, channel: str, chat_mode: str) -> dict[str, str]:
    """What the registered checks say against giving the workstream this channel and chat mode.

    A workstream not stored yet (``workstream_id`` None) has nothing using it.
    """
    if workstream_id is None:
        return {}
    problems: dict[str, str] = {}
    for check in _workstream_checks:
        for name, message in check(workstream_id=workstream_id, channel=channel, chat_mode=chat_mode).items():
            problems.setdefault(name, message)
    return problems


#: Admin inline classes edited on the workstream's page, after its own fields.
_workstream_inlines: list[type] = []
#: fields() → {name: serializer field reading a workstream}, and the relations they read.
_workstream_api_fields: list[Callable[[], dict[str, Any]]] = []
_workstream_api_related: list[str] = []


def workstream_inline_register(inline: type) -> None:
    """Edit ``inline`` (an admin inline of a model keyed by workstream) on the workstream's page; twice keeps one."""
    if inline not in _workstream_inlines:
        _workstream_inlines.append(inline)


def workstream_inlines() -> list[type]:
    return list(_workstream_inlines)


def workstream_api_fields_register(fields: Callable[[], dict[str, Any]], *, select_related: Sequence[str]) -> None:
    """Show the fields ``fields()`` builds (fresh ones each call) in the workstream API, read-only.

    ``select_related`` names the relations they read, so a list costs no query per workstream.
    Twice keeps one.
    """
    if fields not in _workstream_api_fields:
        _workstream_api_fields.append(fields)
        _workstream_api_related.extend(name for name in select_related if name not in _workstream_api_related)


def workstream_api_fields() -> dict[str, Any]:
    """The registered workstream API fields, new instances, in the order they were registered."""
    return {name: field for fields in _workstream_api_fields for name, field in fields().items()}


def workstream_api_related() -> list[str]:
    return list(_workstream_api_related)
