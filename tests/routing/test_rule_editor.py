"""The routing-rule editor: conditions as rows validated one by one, and the "try these rules" box
(issue 14). # spec: ROU-2, ADM-1"""

import pytest
from django.urls import reverse

from routing.models import RoutingRule
from routing.rule_fields import condition_from_row, rule_fields_for
from tests.admin_helpers import add_inline_rows, admin_form_data, inline_errors, inline_prefix
from tests.routing.factories import QueueFactory, WorkstreamFactory
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory, PreChatQuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workstream():
    """A chat workstream whose widget asks a topic (Billing or Orders), an order number and a
    consent, and whose sign-in setting declares a ``tier`` claim."""
    workstream = WorkstreamFactory(name="Support chat")
    widget = ChatWidgetFactory(
        workstream=workstream, authentication=AuthenticationSettingFactory(context_claims=["tier"])
    )
    PreChatQuestionFactory(widget=widget, name="topic", label="Topic", kind="option_set", choices=["Billing", "Orders"])
    PreChatQuestionFactory(widget=widget, name="order_id", label="Order number")
    PreChatQuestionFactory(
        widget=widget, name="terms", label="Terms", kind="consent", consent_url="https://shop.example.com/terms"
    )
    return workstream


def _post_rule(admin_client, workstream, rows, *, queue=None):
    url = reverse("admin:routing_workstream_change", args=[workstream.pk])
    response = admin_client.get(url)
    data = admin_form_data(response)
    rule = {
        "order": "1",
        "name": "Billing first",
        "is_active": "on",
        "queue": str((queue or workstream.default_queue).pk),
    }
    for index, (field, operator, value) in enumerate(rows):
        rule |= {f"conditions-{index}-field": field, f"conditions-{index}-operator": operator}
        rule[f"conditions-{index}-value"] = value
    add_inline_rows(data, inline_prefix(response, RoutingRule), [rule])
    return admin_client.post(url, data)


def test_the_editor_offers_the_widgets_questions_and_declared_claims(admin_client, workstream):
    keys = [field.key for field in rule_fields_for(workstream.pk)]
    assert keys == [
        "language",
        "authenticated",
        "url",
        "sms_number",
        "prechat:topic",
        "prechat:order_id",
        "prechat:terms",
        "context:tier",
        "context_claim:tier",
    ]
    body = admin_client.get(reverse("admin:routing_workstream_change", args=[workstream.pk])).content.decode()
    assert '<option value="prechat:topic" data-kind="choice"' in body
    assert 'aria-label="Condition 1: value to test"' in body
    assert "routing/rule_editor.js" in body
    assert '"[{' not in body  # no JSON for the admin to type


def test_a_rule_made_of_rows_is_saved_as_conditions_and_posts_back_unchanged(admin_client, workstream):
    billing = QueueFactory(name="Billing")
    response = _post_rule(
        admin_client,
        workstream,
        [("prechat:topic", "equals", "billing"), ("context:tier", "in", "gold, silver"), ("url", "exists", "")],
        queue=billing,
    )
    assert response.status_code == 302, inline_errors(response, RoutingRule) if response.context else None
    rule = RoutingRule.objects.get()
    assert rule.conditions == [
        {"source": "prechat", "operator": "equals", "name": "topic", "value": "Billing"},  # the choice's spelling
        {"source": "context", "operator": "in", "name": "tier", "value": ["gold", "silver"]},
        {"source": "url", "operator": "exists"},
    ]
    url = reverse("admin:routing_workstream_change", args=[workstream.pk])
    response = admin_client.post(url, admin_form_data(admin_client.get(url)))
    assert response.status_code == 302
    assert RoutingRule.objects.get().conditions == rule.conditions


@pytest.mark.parametrize(
    "row, message",
    [
        (
            ("prechat:colour", "equals", "red"),
            "Condition 1: “colour” is not a value this workstream's conversations carry; choose one from the list.",
        ),
        (
            ("prechat:topic", "contains", "Bill"),
            "Condition 1: “contains” does not fit Pre-chat: Topic; use “is”, “is not”, “is one of (comma-separated)”, "
            "“has any value”.",
        ),
        (
            ("authenticated", "starts_with", "t"),
            "Condition 1: “starts with” does not fit The customer signed in; use “is”.",
        ),
        (
            ("prechat:topic", "equals", "Refunds"),
            "Condition 1: Refunds is not one of the choices of Pre-chat: Topic: Billing, Orders.",
        ),
        (
            ("prechat:topic", "in", "Billing, Refunds, Gifts"),
            "Condition 1: Refunds, Gifts is not one of the choices of Pre-chat: Topic: Billing, Orders.",
        ),
        (("prechat:terms", "equals", "maybe"), "Condition 1: Pre-chat: Terms is yes or no."),
        (("language", "equals", "xx"), None),
        (("prechat:order_id", "equals", "x" * 301), "Condition 1: Keep the value under 300 characters."),
        (("prechat:order_id", "equals", "  "), "Condition 1: Enter the value to compare Pre-chat: Order number with."),
        (("url", "regex", "("), None),
        (("url", "sounds_like", "x"), None),
    ],
    ids=[
        "unknown-field",
        "operator-not-for-choice",
        "operator-not-for-yes-no",
        "value-not-a-choice",
        "list-value-not-choices",
        "yes-no-value",
        "unknown-language",
        "too-long",
        "blank",
        "bad-regex",
        "unknown-operator",
    ],
)
def test_a_row_that_does_not_fit_its_field_is_refused_with_its_reason(admin_client, workstream, row, message):
    response = _post_rule(admin_client, workstream, [("url", "contains", "/shop"), row])
    assert response.status_code == 200
    [errors] = inline_errors(response, RoutingRule)
    [error] = errors["conditions"]
    if message is None:
        assert error.startswith("Condition 2: "), error
    else:
        assert error == message.replace("Condition 1", "Condition 2")
    assert not RoutingRule.objects.exists()
    # The rows come back as typed, for the admin to correct.
    body = response.content.decode()
    assert 'value="/shop"' in body


def test_every_problem_row_is_named_at_once(admin_client, workstream):
    response = _post_rule(
        admin_client, workstream, [("prechat:colour", "equals", "red"), ("authenticated", "equals", "?")]
    )
    [errors] = inline_errors(response, RoutingRule)
    assert [error.split(":")[0] for error in errors["conditions"]] == ["Condition 1", "Condition 2"]


def test_a_condition_row_is_checked_without_the_admin():
    fields = {field.key: field for field in rule_fields_for(None)}
    assert condition_from_row(field_key="authenticated", operator="equals", value="Yes", fields=fields) == {
        "source": "authenticated",
        "operator": "equals",
        "value": "true",
    }
    with pytest.raises(ValueError, match="not one of the choices"):
        condition_from_row(field_key="language", operator="in", value="en, tlh", fields=fields)


def test_the_workstream_page_asks_a_bounded_number_of_queries(admin_client, workstream, django_assert_max_num_queries):
    for order in range(8):
        RoutingRule.objects.create(
            workstream=workstream,
            order=order,
            name=f"Rule {order}",
            queue=QueueFactory(),
            conditions=[{"source": "prechat", "name": "topic", "operator": "equals", "value": "Billing"}],
        )
    with django_assert_max_num_queries(60):
        response = admin_client.get(reverse("admin:routing_workstream_change", args=[workstream.pk]))
    assert response.status_code == 200


# --- Try these rules ----------------------------------------------------------------------------


def _rules(workstream):
    billing, gold = QueueFactory(name="Billing"), QueueFactory(name="Gold desk")
    RoutingRule.objects.create(
        workstream=workstream,
        order=1,
        name="Gold customers",
        queue=gold,
        conditions=[{"source": "context", "name": "tier", "operator": "equals", "value": "gold"}],
    )
    RoutingRule.objects.create(
        workstream=workstream,
        order=2,
        name="Billing questions",
        queue=billing,
        conditions=[{"source": "prechat", "name": "topic", "operator": "equals", "value": "Billing"}],
    )


def test_try_says_which_queue_wins_and_why(admin_client, workstream, django_assert_max_num_queries):
    _rules(workstream)
    url = reverse("admin:routing_workstream_try_rules", args=[workstream.pk])
    with django_assert_max_num_queries(16):
        response = admin_client.get(url, {"sample-prechat:topic": "Billing", "partial": "1"})
    trial = response.context["trial"]
    assert (trial.queue_name, trial.rule.name) == ("Billing", "Billing questions")
    assert trial.explanation == (
        "Rule “Billing questions” is the first whose conditions all hold, so the chat goes to Billing."
    )
    assert [(trace.rule.name, trace.checks) for trace in trial.traces] == [
        ("Gold customers", [("Signed-in: tier is gold", False)]),
        ("Billing questions", [("Pre-chat: Topic is Billing", True)]),
    ]
    assert "Goes to: Billing" in response.content.decode()


def test_try_with_no_matching_rule_names_the_default_queue(admin_client, workstream):
    _rules(workstream)
    url = reverse("admin:routing_workstream_try_rules", args=[workstream.pk])
    response = admin_client.get(url, {"sample-prechat:topic": "Orders"})
    assert response.status_code == 200
    assert response.context["trial"].explanation == (
        f"No rule matches, so the chat goes to the default queue, {workstream.default_queue.name}."
    )
    assert "Try these rules" in response.content.decode()  # a whole page without the script


def test_the_try_box_is_on_the_workstream_page(admin_client, workstream):
    body = admin_client.get(reverse("admin:routing_workstream_change", args=[workstream.pk])).content.decode()
    assert reverse("admin:routing_workstream_try_rules", args=[workstream.pk]) in body
    assert 'name="sample-prechat:topic"' in body
