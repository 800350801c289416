"""Reading a workstream's chat settings (``ChatSettings``, LIVE-1, LIVE-3, CONV-1, SUM-7, SUM-12, SUM-13)."""

from __future__ import annotations

from conversations.models import ChatSettings
from routing.models import Workstream


def chat_settings_of(workstream: Workstream) -> ChatSettings:
    """The workstream's chat settings; the defaults (not stored) when it has no row.

    Reads ``workstream.chat_settings``, so a queryset that ``select_related("chat_settings")``
    costs no query here.
    """
    try:
        return workstream.chat_settings
    except ChatSettings.DoesNotExist:
        return ChatSettings(workstream=workstream)
