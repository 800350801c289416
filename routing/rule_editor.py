"""The routing-rule editor: conditions as rows instead of JSON, and the "try these rules" box.

The rows post as ``<name>-<n>-field``, ``<name>-<n>-operator`` and ``<name>-<n>-value``; the
field turns them into the conditions ``routing.rules`` evaluates, refusing each row that does
not fit its field with a message naming the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from routing.models import RoutingRule, Workstream
from routing.rule_fields import (
    OPERATOR_LABELS,
    OPERATORS_BY_KIND,
    RuleField,
    condition_from_row,
    row_from_condition,
    rule_fields_for,
)
from routing.rules import Facts, condition_holds, route_evaluate

#: Rows the editor reads at most; a rule with more conditions than this is no longer a rule
#: anybody can read.
MAX_CONDITION_ROWS = 20
EMPTY_ROWS = 2


def _choice_list_id(field: RuleField) -> str:
    return "rule-choices-" + slugify(field.key)


def _is_condition_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) and "field" not in item for item in value)


class ConditionRowsWidget(forms.Widget):
    template_name = "admin/routing/condition_rows.html"

    class Media:
        js = ["routing/rule_editor.js"]

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.rule_fields: list[RuleField] = []

    def rows_for(self, value) -> list[dict[str, str]]:
        if _is_condition_list(value):
            return [row_from_condition(condition) for condition in value]
        if isinstance(value, list):  # rows posted back after an error
            return [row for row in value if isinstance(row, dict)]
        return []

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = self.rows_for(value)
        known = {field.key for field in self.rule_fields}
        unknown = sorted({row["field"] for row in rows if row["field"] and row["field"] not in known})
        groups: dict[str, list[tuple[str, str, str, str]]] = {}
        for field in self.rule_fields:
            groups.setdefault(str(field.group), []).append(
                (field.key, str(field.label), field.kind, _choice_list_id(field) if field.choices else "")
            )
        if unknown:
            groups[_t("Not offered any more")] = [(key, key, "", "") for key in unknown]
        context["widget"].update(
            {
                "rows": [*rows, *([{"field": "", "operator": "", "value": ""}] * EMPTY_ROWS)][:MAX_CONDITION_ROWS],
                "field_groups": list(groups.items()),
                "operators": [(key, str(label)) for key, label in OPERATOR_LABELS.items()],
                "choice_lists": [
                    (_choice_list_id(field), field.choices) for field in self.rule_fields if field.choices
                ],
                "operators_by_kind": json.dumps(OPERATORS_BY_KIND),
            }
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates/ folder, which the default form renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_from_datadict(self, data, files, name):
        rows = []
        for index in range(MAX_CONDITION_ROWS):
            key = f"{name}-{index}-field"
            if key not in data:
                continue
            rows.append(
                {
                    "field": (data.get(key) or "").strip(),
                    "operator": (data.get(f"{name}-{index}-operator") or "").strip(),
                    "value": data.get(f"{name}-{index}-value") or "",
                }
            )
        return rows

    def value_omitted_from_data(self, data, files, name):
        return not any(key.startswith(f"{name}-") for key in data)

    def as_post_data(self, name, value) -> dict[str, str]:
        """What a browser posts for ``value``: tests post a page back with it."""
        data = {}
        for index, row in enumerate(self.rows_for(value)):
            for part in ("field", "operator", "value"):
                data[f"{name}-{index}-{part}"] = row[part]
        return data


class ConditionRowsField(forms.Field):
    widget = ConditionRowsWidget
    default_error_messages = {"too_many": _("A rule has at most %(max)d conditions.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.rule_fields: list[RuleField] = []

    def offer(self, rule_fields: list[RuleField]) -> None:
        self.rule_fields = rule_fields
        self.widget.rule_fields = rule_fields

    def to_python(self, value):
        if value in (None, ""):
            return []
        if _is_condition_list(value):
            return value
        fields = {field.key: field for field in self.rule_fields}
        conditions, problems = [], []
        rows = [row for row in value if row.get("field")]
        if len(rows) > MAX_CONDITION_ROWS:
            raise ValidationError(self.error_messages["too_many"], params={"max": MAX_CONDITION_ROWS})
        for number, row in enumerate(rows, start=1):
            try:
                conditions.append(
                    condition_from_row(
                        field_key=row["field"], operator=row["operator"], value=row["value"], fields=fields
                    )
                )
            except ValueError as error:
                problems.append(
                    ValidationError(
                        _("Condition %(number)d: %(problem)s"),
                        code="condition",
                        params={"number": number, "problem": str(error)},
                    )
                )
        if problems:
            raise ValidationError(problems)
        return conditions

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class RoutingRuleForm(forms.ModelForm):
    conditions = ConditionRowsField(
        label=_("When"),
        help_text=_(
            "Every condition must hold for the rule to apply; no condition means the rule always applies. "
            "Pre-chat answers, the page address and the language are what the customer chooses: sort "
            "work by them, never grant a privilege."
        ),
    )

    class Meta:
        model = RoutingRule
        fields = "__all__"

    #: Set by the inline for all its forms at once, so a page with many rules asks once.
    rule_fields: list[RuleField] | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = self.rule_fields if self.rule_fields is not None else rule_fields_for(self.instance.workstream_id)
        self.fields["conditions"].offer(offered)


# --- Try these rules ----------------------------------------------------------------------------


@dataclass
class RuleTrace:
    rule: RoutingRule
    checks: list[tuple[str, bool]]

    @property
    def holds(self) -> bool:
        return all(holds for _text, holds in self.checks)


@dataclass
class RuleTrial:
    queue_name: str
    rule: RoutingRule | None
    traces: list[RuleTrace]
    explanation: str


def _describe(condition: dict, labels: dict[str, str]) -> str:
    row = row_from_condition(condition)
    label = labels.get(row["field"], row["field"])
    operator = str(OPERATOR_LABELS.get(row["operator"], row["operator"]))
    return f"{label} {operator} {row['value']}".strip()


def facts_from_samples(samples: dict[str, str], rule_fields: list[RuleField]) -> Facts:
    """The facts a conversation with these sample values would carry. Sample context values
    count as verified: the admin is asking what a signed-in customer with them would get."""
    facts = Facts()
    for field in rule_fields:
        value = (samples.get(field.key) or "").strip()
        if not value:
            continue
        if field.source == "authenticated":
            facts.authenticated = value.casefold() in {"true", "yes"}
        elif field.source in {"language", "url", "sms_number"}:
            setattr(facts, field.source, value)
        elif field.source == "context":
            facts.context[field.name] = value
            facts.context_claims[field.name] = value
        elif field.source == "context_claim":
            facts.context_claims[field.name] = value
        elif field.source == "prechat":
            facts.prechat[field.name] = value
        elif field.source == "case":
            facts.case[field.name] = value
    return facts


def workstream_rules_try(*, workstream: Workstream, samples: dict[str, str]) -> RuleTrial:
    """Which queue the workstream's saved rules pick for these sample values, and why. Reads only."""
    rule_fields = rule_fields_for(workstream.pk)
    labels = {field.key: str(field.label) for field in rule_fields}
    facts = facts_from_samples(samples, rule_fields)
    decision = route_evaluate(workstream, facts)
    traces = []
    rules = workstream.routing_rules.filter(is_active=True, queue__is_active=True).order_by("order", "pk")
    for rule in rules:
        conditions = rule.conditions if isinstance(rule.conditions, list) else []
        traces.append(RuleTrace(rule, [(_describe(c, labels), condition_holds(c, facts)) for c in conditions]))
        if traces[-1].holds:
            break
    if decision.rule is not None:
        explanation = _t("Rule “%(rule)s” is the first whose conditions all hold, so the chat goes to %(queue)s.") % {
            "rule": decision.rule.name,
            "queue": decision.queue.name,
        }
    else:
        explanation = _t("No rule matches, so the chat goes to the default queue, %(queue)s.") % {
            "queue": decision.queue.name
        }
    picked = decision.rule.queue if decision.rule is not None else workstream.default_queue
    if decision.queue != picked:
        explanation += " " + _t("%(queue)s is closed now, so the fallback queue %(fallback)s takes it.") % {
            "queue": picked.name,
            "fallback": decision.queue.name,
        }
    return RuleTrial(queue_name=decision.queue.name, rule=decision.rule, traces=traces, explanation=explanation)
