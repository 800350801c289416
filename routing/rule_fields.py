"""What a routing-rule condition can look at, in an administrator's words, and whether a row fits.

The routing app knows the facts it evaluates (``routing.rules.Facts``) but not where named
values come from: pre-chat questions and sign-in claims belong to the widgets app, case fields
to the customers app, both above routing. Those apps register a *field source* here in their
``AppConfig.ready()``; the rule editor asks every source which fields a workstream offers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

TEXT = "text"
BOOLEAN = "boolean"
CHOICE = "choice"

#: The operators each kind of field accepts; the evaluator (routing.rules) knows them all.
OPERATORS_BY_KIND = {
    TEXT: ("equals", "not_equals", "contains", "starts_with", "regex", "in", "exists"),
    CHOICE: ("equals", "not_equals", "in", "exists"),
    BOOLEAN: ("equals",),
}
OPERATOR_LABELS = {
    "equals": _("is"),
    "not_equals": _("is not"),
    "contains": _("contains"),
    "starts_with": _("starts with"),
    "regex": _("matches the pattern"),
    "in": _("is one of (comma-separated)"),
    "exists": _("has any value"),
}
MAX_VALUE_LENGTH = 300
BOOLEAN_VALUES = {"true": True, "false": False, "yes": True, "no": False}


@dataclass(frozen=True)
class RuleField:
    """One value a condition can test: its source in the facts, its name there, how to show it."""

    source: str
    name: str | None
    label: str | Promise
    kind: str = TEXT
    choices: tuple[str, ...] = field(default=())
    group: str | Promise = _("The conversation")

    @property
    def key(self) -> str:
        """The editor's value for this field: ``source`` or ``source:name``."""
        return f"{self.source}:{self.name}" if self.name else self.source


FieldSource = Callable[[int | None], list[RuleField]]
_field_sources: list[FieldSource] = []


def register_rule_field_source(source: FieldSource) -> None:
    """Called by a higher app's ``AppConfig.ready()``: ``source(workstream_id)`` lists the named
    values that app puts in the facts of that workstream's work (``None``: a workstream not yet
    saved)."""
    if source not in _field_sources:
        _field_sources.append(source)


def built_in_fields() -> list[RuleField]:
    languages = tuple(code for code, _name in settings.LANGUAGES)
    return [
        RuleField("language", None, _("The customer's language"), CHOICE, languages),
        RuleField("authenticated", None, _("The customer signed in"), BOOLEAN),
        RuleField("url", None, _("The page address (URL)")),
        RuleField("sms_number", None, _("The SMS number written to")),
    ]


def rule_fields_for(workstream_id: int | None) -> list[RuleField]:
    """Every field a condition of this workstream's rules may test, each key once."""
    fields: dict[str, RuleField] = {}
    for candidate in [*built_in_fields(), *(f for source in _field_sources for f in source(workstream_id))]:
        fields.setdefault(candidate.key, candidate)
    return list(fields.values())


def condition_from_row(*, field_key: str, operator: str, value: str, fields: dict[str, RuleField]) -> dict:
    """A condition as routing.rules evaluates it, from one editor row; raises ValueError with the
    message the admin reads when the row does not fit its field."""
    rule_field = fields.get(field_key)
    if rule_field is None:
        raise ValueError(
            _t("“%(field)s” is not a value this workstream's conversations carry; choose one from the list.")
            % {"field": field_key.split(":", 1)[-1]}
        )
    allowed = OPERATORS_BY_KIND[rule_field.kind]
    if operator not in allowed:
        raise ValueError(
            _t("“%(operator)s” does not fit %(field)s; use %(allowed)s.")
            % {
                "operator": OPERATOR_LABELS.get(operator, operator),
                "field": rule_field.label,
                "allowed": ", ".join(f"“{OPERATOR_LABELS[name]}”" for name in allowed),
            }
        )
    condition: dict = {"source": rule_field.source, "operator": operator}
    if rule_field.name:
        condition["name"] = rule_field.name
    if operator == "exists":
        return condition
    value = value.strip()
    if not value:
        raise ValueError(_t("Enter the value to compare %(field)s with.") % {"field": rule_field.label})
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(_t("Keep the value under %(max)d characters.") % {"max": MAX_VALUE_LENGTH})
    if rule_field.kind == BOOLEAN:
        if value.casefold() not in BOOLEAN_VALUES:
            raise ValueError(_t("%(field)s is yes or no.") % {"field": rule_field.label})
        condition["value"] = "true" if BOOLEAN_VALUES[value.casefold()] else "false"
        return condition
    values = [item.strip() for item in value.split(",") if item.strip()] if operator == "in" else [value]
    if operator == "in" and not values:
        raise ValueError(_t("List the values, separated by commas."))
    if rule_field.kind == CHOICE:
        by_fold = {choice.casefold(): choice for choice in rule_field.choices}
        wrong = [item for item in values if item.casefold() not in by_fold]
        if wrong:
            raise ValueError(
                _t("%(value)s is not one of the choices of %(field)s: %(choices)s.")
                % {"value": ", ".join(wrong), "field": rule_field.label, "choices": ", ".join(rule_field.choices)}
            )
        values = [by_fold[item.casefold()] for item in values]
    if operator == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(
                _t("The pattern is not a valid regular expression (%(error)s).") % {"error": exc}
            ) from None
    condition["value"] = values if operator == "in" else values[0]
    return condition


def row_from_condition(condition: dict) -> dict[str, str]:
    """The editor row showing a stored condition (the inverse of :func:`condition_from_row`)."""
    if not isinstance(condition, dict):
        return {"field": "", "operator": "", "value": ""}
    source, name = condition.get("source") or "", condition.get("name")
    value = condition.get("value")
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return {
        "field": f"{source}:{name}" if name else str(source),
        "operator": str(condition.get("operator") or ""),
        "value": "" if value is None else str(value),
    }
