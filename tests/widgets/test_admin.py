"""Admin center for widgets: script tag, allowed domains, pre-chat survey, authentication, proactive rules."""

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.urls import reverse
from django.utils.html import escape

from tests.admin_helpers import (
    add_inline_rows,
    admin_form_data,
    field_errors,
    inline_errors,
    inline_prefix,
)
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import WorkstreamFactory
from tests.widgets.factories import (
    AuthenticationSettingFactory,
    ChatWidgetFactory,
    InvitationFactory,
    PageVisitFactory,
    PreChatQuestionFactory,
    ProactiveRuleFactory,
    VisitorFactory,
)
from widgets.models import (
    AllowedDomain,
    AuthenticationSetting,
    ChatWidget,
    Invitation,
    PreChatQuestion,
    ProactiveRule,
    ProactiveRuleMessage,
    SelfServiceAction,
)
from widgets.selectors import widget_script_tag

pytestmark = pytest.mark.django_db


def _public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _several_rows():
    auth = AuthenticationSettingFactory()
    widgets = [ChatWidgetFactory(authentication=auth if n % 2 else None) for n in range(5)]
    for widget in widgets:
        PreChatQuestionFactory(widget=widget)
        rule = ProactiveRuleFactory(widget=widget)
        visitor = VisitorFactory(widget=widget)
        visit = PageVisitFactory(visitor=visitor)
        SelfServiceAction.objects.create(
            visitor=visitor, conversation=ConversationFactory(), kind="page_visited", title="Checkout"
        )
        InvitationFactory(visitor=visitor, rule=rule, page_visit=visit)


# --- Every page answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, queries",
    [
        ("authenticationsetting", 6),
        ("chatwidget", 8),
        ("proactiverule", 7),
        ("visitor", 10),
        ("pagevisit", 9),
        ("selfserviceaction", 8),
        ("invitation", 10),
    ],
)
def test_every_changelist_answers_with_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, model, queries
):
    # spec: ADM-1
    _several_rows()  # five rows of each: one query a row would break the bound
    url = reverse(f"admin:widgets_{model}_changelist")
    with django_assert_max_num_queries(queries):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert admin_client.get(url, {"q": "shop"}).status_code == 200


@pytest.mark.parametrize("model", ["authenticationsetting", "chatwidget", "proactiverule"])
def test_every_add_page_answers(admin_client, model):
    # spec: ADM-1
    assert admin_client.get(reverse(f"admin:widgets_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", ["visitor", "pagevisit", "selfserviceaction", "invitation"])
def test_what_the_widget_learns_is_read_only(admin_client, model):
    # spec: ADM-1
    _several_rows()
    record = {
        "visitor": lambda: VisitorFactory._meta.model.objects.first(),
        "pagevisit": lambda: PageVisitFactory._meta.model.objects.first(),
        "selfserviceaction": lambda: SelfServiceAction.objects.first(),
        "invitation": lambda: Invitation.objects.first(),
    }[model]()
    assert admin_client.get(reverse(f"admin:widgets_{model}_add")).status_code == 403
    change = reverse(f"admin:widgets_{model}_change", args=[record.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {}).status_code == 403
    assert admin_client.get(reverse(f"admin:widgets_{model}_delete", args=[record.pk])).status_code == 403


def test_an_invitations_status_cannot_be_changed(admin_client):
    # spec: ADM-1, PRO-4
    invitation = InvitationFactory()
    url = reverse("admin:widgets_invitation_change", args=[invitation.pk])
    assert admin_client.post(url, {"status": "accepted", "message": "Hi"}).status_code == 403
    invitation.refresh_from_db()
    assert (invitation.status, invitation.message) == ("shown", "Need a hand? Chat with us.")


# --- Widgets and their script tag (WID-1) ---------------------------------------------------


def _widget_add(admin_client, **changes):
    response = admin_client.get(reverse("admin:widgets_chatwidget_add"))
    data = admin_form_data(response)
    data.update({"name": "Shop", "workstream": str(WorkstreamFactory().pk), **changes})
    return response, data


def test_a_valid_widget_is_saved_and_its_page_shows_the_escaped_script_tag(admin_client, settings):
    # spec: WID-1, WID-10, ADM-1
    settings.PUBLIC_BASE_URL = ""
    response, data = _widget_add(admin_client)
    add_inline_rows(data, inline_prefix(response, AllowedDomain), [{"origin": "https://Shop.Example.com/"}])
    add_inline_rows(
        data,
        inline_prefix(response, PreChatQuestion),
        [
            {
                "order": "2",
                "name": "topic",
                "label": "Topic",
                "kind": "option_set",
                "choices-0": "Billing",
                "choices-1": " Orders ",
                "choices-2": "",
            },
            {"order": "1", "name": "order_id", "label": "Order number", "kind": "single_line", "required": "on"},
        ],
    )
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert response.status_code == 302
    widget = ChatWidget.objects.get(name="Shop")
    assert list(widget.allowed_domains.values_list("origin", flat=True)) == ["https://shop.example.com"]
    assert [(q.name, q.required, q.choices) for q in widget.prechat_questions.all()] == [
        ("order_id", True, []),
        ("topic", False, ["Billing", "Orders"]),
    ]

    page = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[widget.pk])).content.decode()
    tag = f'<script src="http://testserver/static/widgets/loader.js" data-widget="{widget.public_key}" async></script>'
    assert escape(tag) in page
    assert tag not in page  # shown as text to copy, never run in the admin page


def test_the_script_tag_uses_the_public_base_url_when_set(admin_client, settings):
    # spec: WID-1
    settings.PUBLIC_BASE_URL = "https://chat.example.org/"
    widget = ChatWidgetFactory()
    page = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[widget.pk])).content.decode()
    assert (
        escape(
            f'<script src="https://chat.example.org/static/widgets/loader.js" '
            f'data-widget="{widget.public_key}" async></script>'
        )
        in page
    )


def test_widget_script_tag_builds_the_one_tag_to_paste():
    # spec: WID-1
    widget = ChatWidgetFactory()
    assert widget_script_tag(widget, base_url="https://chat.example.org") == (
        f'<script src="https://chat.example.org/static/widgets/loader.js" data-widget="{widget.public_key}" async>'
        "</script>"
    )


def test_a_persistent_widget_without_authentication_is_refused(admin_client):
    # spec: PER-2, ADM-1
    persistent = WorkstreamFactory(persistent=True)
    _, data = _widget_add(admin_client, workstream=str(persistent.pk), authentication="")
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert response.status_code == 200
    assert field_errors(response, "authentication") == [
        "Persistent chat needs signed-in customers: choose an authentication setting."
    ]
    assert not ChatWidget.objects.exists()

    data["authentication"] = str(AuthenticationSettingFactory().pk)
    assert admin_client.post(reverse("admin:widgets_chatwidget_add"), data).status_code == 302
    assert ChatWidget.objects.get().authentication is not None


def test_removing_the_authentication_of_a_persistent_widget_is_refused(admin_client):
    # spec: PER-2
    auth = AuthenticationSettingFactory()
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(persistent=True), authentication=auth)
    url = reverse("admin:widgets_chatwidget_change", args=[widget.pk])
    data = admin_form_data(admin_client.get(url))
    data["authentication"] = ""
    response = admin_client.post(url, data)
    assert field_errors(response, "authentication") == [
        "Persistent chat needs signed-in customers: choose an authentication setting."
    ]
    widget.refresh_from_db()
    assert widget.authentication == auth


def test_a_widget_needs_a_chat_workstream_and_a_hex_colour(admin_client):
    # spec: WID-1, ADM-1
    _, data = _widget_add(admin_client, workstream=str(WorkstreamFactory(channel="sms", chat_mode="").pk))
    data["theme_color"] = "blue"
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert field_errors(response, "workstream") == ["A chat widget needs a chat workstream."]
    assert field_errors(response, "theme_color") == ["Use a hex colour such as #0f6cbd."]
    assert not ChatWidget.objects.exists()


@pytest.mark.parametrize(
    "origin, error",
    [
        ("shop.example.com/path", "Enter an origin such as https://www.example.com (scheme and host)."),
        ("https://shop.example.com/path", "An origin has no path, query or credentials: https://www.example.com"),
        ("ftp://shop.example.com", "Enter an origin such as https://www.example.com (scheme and host)."),
    ],
)
def test_a_bad_origin_is_refused_on_the_field(admin_client, origin, error):
    # spec: WID-2, WID-3, ADM-1
    response, data = _widget_add(admin_client)
    add_inline_rows(data, inline_prefix(response, AllowedDomain), [{"origin": origin}])
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert response.status_code == 200
    assert inline_errors(response, AllowedDomain) == [{"origin": [error]}]
    assert not ChatWidget.objects.exists()
    assert not AllowedDomain.objects.exists()


def test_one_origin_spelled_twice_is_refused(admin_client):
    # spec: WID-2, REL-3
    widget = ChatWidgetFactory(origins=["https://shop.example.com"])
    url = reverse("admin:widgets_chatwidget_change", args=[widget.pk])
    response = admin_client.get(url)
    data = add_inline_rows(
        admin_form_data(response), inline_prefix(response, AllowedDomain), [{"origin": "https://SHOP.example.com:443/"}]
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert inline_errors(response, AllowedDomain) == [
        {},
        {"origin": ["https://shop.example.com is already in the list."]},
    ]
    assert list(widget.allowed_domains.values_list("origin", flat=True)) == ["https://shop.example.com"]


# --- Pre-chat survey (WID-10) ---------------------------------------------------------------


def _questions(count: int) -> list[dict]:
    return [
        {"order": str(n), "name": f"question_{n}", "label": f"Question {n}", "kind": "single_line"}
        for n in range(count)
    ]


def test_eleven_pre_chat_questions_are_refused_and_ten_are_accepted(admin_client):
    # spec: WID-10
    response, data = _widget_add(admin_client)
    prefix = inline_prefix(response, PreChatQuestion)
    add_inline_rows(data, prefix, _questions(11))
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert response.status_code == 200
    [survey] = [i for i in response.context["inline_admin_formsets"] if i.formset.model is PreChatQuestion]
    assert survey.formset.non_form_errors() == ["A widget has at most 10 pre-chat questions; remove 1 of these 11."]
    assert not ChatWidget.objects.exists()
    assert not PreChatQuestion.objects.exists()

    response, data = _widget_add(admin_client)
    add_inline_rows(data, prefix, _questions(10))
    assert admin_client.post(reverse("admin:widgets_chatwidget_add"), data).status_code == 302
    assert ChatWidget.objects.get().prechat_questions.count() == 10


def test_an_eleventh_question_on_a_widget_with_ten_is_refused(admin_client):
    # spec: WID-10
    widget = ChatWidgetFactory()
    PreChatQuestionFactory.create_batch(10, widget=widget)
    url = reverse("admin:widgets_chatwidget_change", args=[widget.pk])
    response = admin_client.get(url)
    data = add_inline_rows(
        admin_form_data(response),
        inline_prefix(response, PreChatQuestion),
        [{"order": "11", "name": "extra", "label": "One more", "kind": "single_line"}],
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert widget.prechat_questions.count() == 10
    assert not widget.prechat_questions.filter(name="extra").exists()


@pytest.mark.parametrize(
    "row, field, error",
    [
        (
            {"kind": "option_set", "choices-0": "Billing", "choices-1": "  "},
            "choices",
            "An option set needs at least two non-empty choices.",
        ),
        ({"kind": "option_set", "choices-0": "Billing", "choices-1": "Billing"}, "choices", "Choices must differ."),
        (
            {"kind": "option_set", "choices-0": "Billing", "choices-1": "x" * 201},
            "choices",
            # the field refuses the long row; the model still checks what is stored (none yet)
            [
                "Keep each row under 200 characters: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…",
                "An option set needs at least two non-empty choices.",
            ],
        ),
        (
            {"kind": "single_line", "choices-0": "Billing", "choices-1": "Orders"},
            "choices",
            "Only option sets have choices.",
        ),
        ({"kind": "consent"}, "consent_url", "A consent question links to the terms it asks about."),
        (
            {"kind": "single_line", "label": "x" * 513},
            "label",
            "Ensure this value has at most 512 characters (it has 513).",
        ),
    ],
)
def test_a_malformed_pre_chat_question_is_refused_on_its_field(admin_client, row, field, error):
    # spec: WID-10, ADM-1
    response, data = _widget_add(admin_client)
    add_inline_rows(
        data, inline_prefix(response, PreChatQuestion), [{"order": "1", "name": "topic", "label": "Topic", **row}]
    )
    response = admin_client.post(reverse("admin:widgets_chatwidget_add"), data)
    assert response.status_code == 200
    [errors] = inline_errors(response, PreChatQuestion)
    assert errors[field] == (error if isinstance(error, list) else [error])
    assert not ChatWidget.objects.exists()
    assert not PreChatQuestion.objects.exists()


def test_the_widget_lists_its_proactive_rules_read_only(admin_client):
    # spec: PRO-2, ADM-1
    rule = ProactiveRuleFactory(name="Checkout helper")
    page = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[rule.widget.pk])).content.decode()
    assert "Checkout helper" in page
    assert reverse("admin:widgets_proactiverule_change", args=[rule.pk]) in page
    assert f"{reverse('admin:widgets_proactiverule_add')}?widget={rule.widget.pk}" in page


# --- Authentication settings (AUTH-1) -------------------------------------------------------


def _auth_add(admin_client, **changes):
    data = admin_form_data(admin_client.get(reverse("admin:widgets_authenticationsetting_add")))
    data.update({"name": "Shop login", "issuer": "https://login.example.com", "algorithms": ["ES256"], **changes})
    return data


def test_an_authentication_setting_with_an_ec_public_key_is_saved(admin_client):
    # spec: AUTH-1, ADM-1
    pem = _public_pem(ec.generate_private_key(ec.SECP256R1()))
    data = _auth_add(admin_client, public_key_pem=pem, **{"context_claims-0": "tier", "context_claims-1": "region"})
    assert admin_client.post(reverse("admin:widgets_authenticationsetting_add"), data).status_code == 302
    setting = AuthenticationSetting.objects.get()
    assert (setting.algorithms, setting.context_claims) == (["ES256"], ["tier", "region"])


@pytest.mark.parametrize(
    "changes, field, error",
    [
        (
            {"public_key_pem": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"},
            "public_key_pem",
            "This is not a PEM public key (-----BEGIN PUBLIC KEY-----…).",
        ),
        ({"public_key_pem": "ed25519"}, "public_key_pem", "Use an RSA (RS256) or EC P-256 (ES256) key."),
        ({}, "public_key_pem", "Give either a public key (PEM) or a key-set URL, not both."),
        (
            {"key_set_url": "https://login.example.com/jwks", "algorithms": []},
            "algorithms",
            "Choose one or more of RS256, ES256.",
        ),
        (
            {"key_set_url": "https://login.example.com/jwks", "algorithms": ["HS256"]},
            "algorithms",
            [
                "Select a valid choice. HS256 is not one of the available choices.",
                "Choose one or more of RS256, ES256.",
            ],
        ),
        (
            {"key_set_url": "https://login.example.com/jwks", "context_claims-0": "t" * 101},
            "context_claims",
            "Keep each row under 100 characters: tttttttttttttttttttttttttttttttttttttttt…",
        ),
    ],
)
def test_a_bad_authentication_setting_is_refused_on_the_field(admin_client, changes, field, error):
    # spec: AUTH-1, ADM-1, REL-3
    if changes.get("public_key_pem") == "ed25519":  # a real PEM key of a kind tokens cannot use
        changes = {"public_key_pem": _public_pem(ed25519.Ed25519PrivateKey.generate())}
    data = _auth_add(admin_client, **changes)
    response = admin_client.post(reverse("admin:widgets_authenticationsetting_add"), data)
    assert response.status_code == 200
    assert field_errors(response, field) == (error if isinstance(error, list) else [error])
    assert not AuthenticationSetting.objects.exists()


def test_an_empty_context_claims_box_means_no_claims(admin_client):
    # spec: AUTH-1, REL-3
    data = _auth_add(admin_client, key_set_url="https://login.example.com/jwks", **{"context_claims-0": " "})
    assert admin_client.post(reverse("admin:widgets_authenticationsetting_add"), data).status_code == 302
    assert AuthenticationSetting.objects.get().context_claims == []


# --- Proactive rules (PRO-2) ----------------------------------------------------------------


def _rule_add(admin_client, widget, **changes):
    response = admin_client.get(reverse("admin:widgets_proactiverule_add"), {"widget": widget.pk})
    data = admin_form_data(response)
    data.update({"name": "Checkout helper", "trigger_message": "Need a hand?", **changes})
    return response, data


def test_a_proactive_rule_is_saved_with_its_messages_per_language(admin_client):
    # spec: PRO-2, ADM-1
    widget = ChatWidgetFactory(proactive_enabled=True)
    response, data = _rule_add(
        admin_client,
        widget,
        location_match="regex",
        location_pattern=r"^https://shop\.example\.com/checkout",
        days_of_week=["4", "0"],
        time_on_page_seconds="30",
    )
    assert data["widget"] == str(widget.pk)
    add_inline_rows(
        data, inline_prefix(response, ProactiveRuleMessage), [{"language": "fr", "text": "Besoin d'aide ?"}]
    )
    assert admin_client.post(reverse("admin:widgets_proactiverule_add"), data).status_code == 302
    rule = ProactiveRule.objects.get()
    assert (rule.widget, rule.days_of_week, rule.time_on_page_seconds) == (widget, [0, 4], 30)
    assert [(m.language, m.text) for m in rule.messages.all()] == [("fr", "Besoin d'aide ?")]


def test_an_invalid_regular_expression_is_refused_on_the_location_pattern(admin_client):
    # spec: PRO-2, ADM-1
    try:
        re.compile("checkout(")
    except re.error as exc:
        expected = f"Invalid regular expression: {exc}"
    _, data = _rule_add(admin_client, ChatWidgetFactory(), location_match="regex", location_pattern="checkout(")
    response = admin_client.post(reverse("admin:widgets_proactiverule_add"), data)
    assert response.status_code == 200
    assert field_errors(response, "location_pattern") == [expected]
    assert not ProactiveRule.objects.exists()


@pytest.mark.parametrize(
    "changes, field, error",
    [
        ({"days_of_week": ["9"]}, "days_of_week", "Select a valid choice. 9 is not one of the available choices."),
        ({"location_match": "contains", "location_pattern": ""}, "location_pattern", "Give the URL pattern to match."),
        ({"start_time": "09:00", "end_time": ""}, "end_time", "Give both a start and an end time, or neither."),
        ({"starts_on": "2025-06-02", "ends_on": "2025-06-01"}, "ends_on", "The end date is before the start date."),
        (
            {"time_zone": "Mars/Olympus"},
            "time_zone",
            # the field's validator and ProactiveRule.clean both check the zone
            ["“Mars/Olympus” is not a known time zone (e.g. Europe/Paris)."],
        ),
    ],
)
def test_a_bad_proactive_rule_is_refused_on_the_field(admin_client, changes, field, error):
    # spec: PRO-2, ADM-1, REL-3
    _, data = _rule_add(admin_client, ChatWidgetFactory(), **changes)
    response = admin_client.post(reverse("admin:widgets_proactiverule_add"), data)
    assert response.status_code == 200
    assert field_errors(response, field) == (error if isinstance(error, list) else [error])
    assert not ProactiveRule.objects.exists()


def test_an_invitation_detail_shows_its_status_as_text_only(admin_client):
    # spec: PRO-4, ADM-1
    invitation = InvitationFactory()
    page = admin_client.get(reverse("admin:widgets_invitation_change", args=[invitation.pk])).content.decode()
    assert '<div class="readonly">Shown</div>' in page
    assert 'name="status"' not in page
