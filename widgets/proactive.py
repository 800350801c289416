"""Which proactive rule, if any, invites a visitor now (PRO-2, PRO-3, PRO-7a).

Pure reads: the matching of one rule against a visitor, their page visit and the clock, and the
choice of the first matching rule by order. The write (the invitation) is
:func:`widgets.services.page_visit_heartbeat`'s. Everything here is decided by the server from
what it stored: the page reports only that it is still open, never how long it has been.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from widgets.models import PageVisit, ProactiveRule, Visitor


@dataclass(frozen=True)
class PastInvitation:
    """What the cap and the once-per-visit rule need to know of an earlier invitation."""

    rule_id: int | None
    page_visit_id: int | None
    shown_at: datetime


@dataclass(frozen=True)
class Decision:
    """The rule that invites now (or None), and in how many seconds a rule could next match
    because the visitor will by then have been on the page long enough (None: no rule waits)."""

    rule: ProactiveRule | None
    wait_seconds: float | None


def primary_language(tag: str) -> str:
    return (tag or "").lower().replace("_", "-").split("-")[0]


def audience_matches(rule: ProactiveRule, visitor: Visitor) -> bool:
    """PRO-2's target audience: who the visitor is, and optionally which language they speak."""
    authenticated = bool(visitor.contact_id or visitor.auth_subject)
    audience = {
        ProactiveRule.Audience.ALL: True,
        ProactiveRule.Audience.AUTHENTICATED: authenticated,
        ProactiveRule.Audience.ANONYMOUS: not authenticated,
        ProactiveRule.Audience.NEW: not visitor.is_returning,
        ProactiveRule.Audience.RETURNING: visitor.is_returning,
    }.get(rule.audience, False)
    if not audience:
        return False
    return not rule.audience_language or primary_language(visitor.language) == primary_language(rule.audience_language)


def local_time(rule: ProactiveRule, now: datetime) -> datetime:
    return now.astimezone(zoneinfo.ZoneInfo(rule.time_zone))


def time_frame_matches(rule: ProactiveRule, now: datetime) -> bool:
    """PRO-2's time frame, read on the wall clock of the rule's time zone.

    Dates are inclusive. Hours are a half-open window ``[start, end)``; an end before the start
    is a window across midnight (22:00–06:00), whose early hours belong to the day they fall on.
    """
    local = local_time(rule, now)
    today = local.date()
    if rule.starts_on and today < rule.starts_on:
        return False
    if rule.ends_on and today > rule.ends_on:
        return False
    if rule.days_of_week and today.weekday() not in rule.days_of_week:
        return False
    if rule.start_time is None or rule.end_time is None:
        return True
    clock = local.time().replace(tzinfo=None)
    if rule.start_time < rule.end_time:
        return rule.start_time <= clock < rule.end_time
    return clock >= rule.start_time or clock < rule.end_time


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:  # a row saved around the admin's validation matches nothing
        return None


def location_matches(rule: ProactiveRule, url: str) -> bool:
    """PRO-2's target location: the page's full URL against the rule's pattern (case-sensitive)."""
    kind, pattern = rule.location_match, rule.location_pattern
    if kind == ProactiveRule.LocationMatch.ANY:
        return True
    if not pattern or not url:
        return False
    if kind == ProactiveRule.LocationMatch.CONTAINS:
        return pattern in url
    if kind == ProactiveRule.LocationMatch.STARTS_WITH:
        return url.startswith(pattern)
    if kind == ProactiveRule.LocationMatch.EXACT:
        return url == pattern
    if kind == ProactiveRule.LocationMatch.REGEX:
        compiled = _compiled(pattern)
        return compiled is not None and compiled.search(url) is not None
    return False


def seconds_on_page(page_visit: PageVisit, now: datetime) -> float:
    """How long the visitor has been on the page, by the server's clock, from the page load."""
    return max(0.0, (now - page_visit.started_at).total_seconds())


def local_day_start(rule: ProactiveRule, now: datetime) -> datetime:
    """Midnight of today in the rule's time zone: the per-day cap counts from there (PRO-3)."""
    zone = zoneinfo.ZoneInfo(rule.time_zone)
    today: date = local_time(rule, now).date()
    return datetime.combine(today, datetime.min.time(), zone)


def under_daily_cap(rule: ProactiveRule, history: Iterable[PastInvitation], now: datetime) -> bool:
    """The visitor has had fewer rule invitations today than the rule allows (PRO-3).

    Counts every rule's invitations to this visitor since local midnight, not only this rule's:
    the cap protects the visitor from being asked too often, whichever rule asks.
    """
    if rule.daily_cap_per_visitor is None:
        return True
    since = local_day_start(rule, now)
    shown_today = sum(1 for past in history if past.rule_id is not None and past.shown_at >= since)
    return shown_today < rule.daily_cap_per_visitor


#: How far back the history must reach for any time zone's "today" (UTC-12 … UTC+14).
HISTORY_WINDOW = timedelta(hours=50)


def first_matching_rule(
    rules: Iterable[ProactiveRule],
    *,
    visitor: Visitor,
    page_visit: PageVisit,
    history: list[PastInvitation],
    now: datetime,
    agent_available: Callable[[], bool],
) -> Decision:
    """The first rule by order that matches now (PRO-2), skipping rules that already invited on
    this page visit (PRO-3). ``agent_available`` is asked only for a rule that needs it (PRO-7a)
    and otherwise matches, at most once."""
    used = {past.rule_id for past in history if past.page_visit_id == page_visit.pk}
    on_page = seconds_on_page(page_visit, now)
    wait: float | None = None
    availability: bool | None = None
    for rule in rules:
        if not rule.is_active or rule.pk in used:
            continue
        if not (
            audience_matches(rule, visitor)
            and location_matches(rule, page_visit.url)
            and time_frame_matches(rule, now)
            and under_daily_cap(rule, history, now)
        ):
            continue
        if on_page < rule.time_on_page_seconds:
            remaining = rule.time_on_page_seconds - on_page
            wait = remaining if wait is None else min(wait, remaining)
            continue
        if rule.require_available_agent:
            if availability is None:
                availability = agent_available()
            if not availability:
                continue
        return Decision(rule=rule, wait_seconds=None)
    return Decision(rule=None, wait_seconds=wait)


def rule_message(rule: ProactiveRule, language: str) -> str:
    """The trigger message in the visitor's language when the rule has one, else its own (PRO-2).
    Reads ``rule.messages.all()`` (prefetch it)."""
    wanted = primary_language(language)
    for message in rule.messages.all():
        if primary_language(message.language) == wanted:
            return message.text
    return rule.trigger_message
