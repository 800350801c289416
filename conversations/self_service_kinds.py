"""The kinds of self-service action a workstream's customer summary may show (SUM-12).

The widget app records the actions and sits above this one, so it names their kinds here from
its ``AppConfig.ready()``; the chat settings' form and validation read them.
"""

from __future__ import annotations

from collections.abc import Sequence

#: (value, label) pairs, in the order the admin lists them.
_kinds: list[tuple[str, str]] = []


def self_service_kinds_register(choices: Sequence[tuple[str, str]]) -> None:
    """Name the self-service action kinds a workstream may choose to show; a second call replaces the first."""
    _kinds[:] = list(choices)


def self_service_kind_choices() -> list[tuple[str, str]]:
    """The registered self-service action kinds, (value, label); empty when no app registered any."""
    return list(_kinds)
