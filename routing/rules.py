"""Routing rules: which queue and skills a work item gets from what is known about it (ROU-2).

Pure evaluation over *facts*, so the same rules serve chat, SMS and cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from agents.models import Skill
from routing.models import Queue, RoutingRule, Workstream


@dataclass
class Facts:
    """What is known about a work item when it is routed.

    ``context`` holds only verified context values: the claims of a signed token (AUTH-2), what
    an authenticated API client (a bot) sent, what the server measured. ``context_claims`` holds
    every value, including what an anonymous page sent; a ``context_claim`` condition reads it,
    and the admin center marks such a rule as trusting an unverified value
    (:data:`~routing.models.RoutingRule.UNVERIFIED_SOURCES`).
    """

    context: dict[str, Any] = field(default_factory=dict)  # name → verified value (plain values)
    context_claims: dict[str, Any] = field(default_factory=dict)  # name → any value, verified or not
    prechat: dict[str, Any] = field(default_factory=dict)
    language: str = ""
    authenticated: bool = False
    url: str = ""
    sms_number: str = ""
    case: dict[str, Any] = field(default_factory=dict)

    def value(self, source: str, name: str | None) -> Any:
        if source == "context":
            return self.context.get(name)
        if source == "context_claim":
            return self.context[name] if name in self.context else self.context_claims.get(name)
        if source == "prechat":
            return self.prechat.get(name)
        if source == "case":
            return self.case.get(name)
        return {
            "language": self.language,
            "authenticated": self.authenticated,
            "url": self.url,
            "sms_number": self.sms_number,
        }.get(source)


@dataclass
class RouteDecision:
    queue: Queue
    skills: list[Skill]
    rule: RoutingRule | None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def condition_holds(condition: dict, facts: Facts) -> bool:
    actual = facts.value(condition["source"], condition.get("name"))
    operator, expected = condition["operator"], condition.get("value")
    if operator == "exists":
        return actual not in (None, "")
    if actual is None:
        return False
    text, wanted = _as_text(actual).casefold(), _as_text(expected).casefold()
    if operator == "equals":
        return text == wanted
    if operator == "not_equals":
        return text != wanted
    if operator == "contains":
        return wanted in text
    if operator == "starts_with":
        return text.startswith(wanted)
    if operator == "in":
        return text in {_as_text(item).casefold() for item in expected or []}
    if operator == "regex":
        return re.search(str(expected), _as_text(actual)) is not None
    return False


def queue_is_open(queue: Queue, at: datetime) -> bool:
    return queue.operating_hours is None or queue.operating_hours.is_open_at(at)


def route_evaluate(workstream: Workstream, facts: Facts, *, at: datetime | None = None) -> RouteDecision:
    """The first active rule, in order, whose conditions all hold; else the default queue (ROU-2).

    When that queue is closed at ``at`` and the workstream's fallback queue is open, the work
    goes to the fallback queue, with the same skills (ROU-1).
    """
    at = at or timezone.now()
    decision = RouteDecision(queue=workstream.default_queue, skills=[], rule=None)
    rules = workstream.routing_rules.filter(is_active=True, queue__is_active=True).select_related("queue")
    for rule in rules.prefetch_related("skills").order_by("order", "pk"):
        if all(condition_holds(condition, facts) for condition in rule.conditions or []):
            decision = RouteDecision(queue=rule.queue, skills=list(rule.skills.all()), rule=rule)
            break
    fallback = workstream.fallback_queue
    if (
        fallback is not None
        and fallback.is_active
        and not queue_is_open(decision.queue, at)
        and queue_is_open(fallback, at)
    ):
        decision.queue = fallback
    return decision
