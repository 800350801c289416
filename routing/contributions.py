"""What apps above routing contribute to routing's own rules and admin pages.

Routing sits below the widget and conversation apps, so it never imports them. Where a
workstream's rules need their words or their rows, the higher app registers them here from its
``AppConfig.ready()``: the kinds of self-service action a workstream may show in the customer
summary (SUM-12), and the checks a change of channel or chat mode must pass for the rows that
use the workstream (a chat widget on it: PER-2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: (value, label) pairs, in the order the admin lists them.
_self_service_kinds: list[tuple[str, str]] = []

#: check(workstream_id=, channel=, chat_mode=) → {field name: message}; empty when it holds.
WorkstreamCheck = Callable[..., dict[str, str]]
_workstream_checks: list[WorkstreamCheck] = []


def self_service_kinds_register(choices: Sequence[tuple[str, str]]) -> None:
    """Name the self-service action kinds a workstream may choose to show (SUM-12)."""
    _self_service_kinds[:] = list(choices)


def self_service_kind_choices() -> list[tuple[str, str]]:
    """The registered self-service action kinds, (value, label); empty when no app registered any."""
    return list(_self_service_kinds)


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
