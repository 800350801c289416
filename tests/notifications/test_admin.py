"""Admin center for notifications: templates per scenario, the alert switches (ADM-1, NOT-6a, NOT-10..12)."""

import pytest
from django.urls import reverse

from notifications.models import (
    AgentBanner,
    AlertSettings,
    Notification,
    NotificationTemplate,
    NotificationTemplateField,
)
from tests.admin_helpers import add_inline_rows, admin_form_data, field_errors, inline_errors, inline_prefix
from tests.notifications.factories import NotificationTemplateFactory, NotificationTemplateFieldFactory
from tests.routing.factories import AgentProfileFactory

pytestmark = pytest.mark.django_db


def _several_rows():
    for agent in AgentProfileFactory.create_batch(5):
        Notification.objects.create(agent=agent, scenario="incoming_chat", kind="alert", title="Incoming chat")
        AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat.")
        NotificationTemplateFieldFactory(template=NotificationTemplateFactory())


@pytest.mark.parametrize("model, queries", [("notificationtemplate", 6), ("notification", 8), ("agentbanner", 8)])
def test_every_changelist_answers_with_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, model, queries
):
    # spec: ADM-1
    _several_rows()  # five rows of each, nine default templates: one query a row would break the bound
    url = reverse(f"admin:notifications_{model}_changelist")
    with django_assert_max_num_queries(queries):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert admin_client.get(url, {"q": "chat"}).status_code == 200


def test_the_template_add_page_answers(admin_client):
    # spec: ADM-1
    assert admin_client.get(reverse("admin:notifications_notificationtemplate_add")).status_code == 200


@pytest.mark.parametrize("model", ["notification", "agentbanner"])
def test_notifications_and_banners_are_read_only(admin_client, model):
    # spec: ADM-1
    _several_rows()
    record = {"notification": Notification, "agentbanner": AgentBanner}[model].objects.first()
    assert admin_client.get(reverse(f"admin:notifications_{model}_add")).status_code == 403
    change = reverse(f"admin:notifications_{model}_change", args=[record.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert admin_client.post(change, {"title": "Changed", "message": "Changed"}).status_code == 403
    assert admin_client.get(reverse(f"admin:notifications_{model}_delete", args=[record.pk])).status_code == 403
    record.refresh_from_db()
    if model == "notification":
        assert '<div class="readonly">Sent</div>' in page.content.decode()  # status shown, not editable
        assert (record.status, record.title) == ("sent", "Incoming chat")
    else:
        assert (record.message, record.cleared_at) == ("You missed a chat.", None)


# --- Templates (NOT-6a) ---------------------------------------------------------------------


def _template_add(admin_client, **changes):
    response = admin_client.get(reverse("admin:notifications_notificationtemplate_add"))
    data = admin_form_data(response)
    data.update(
        {
            "name": "VIP chat",
            "scenario": "incoming_chat",
            "kind": "alert",
            "title": "VIP chat from {customerName}",
            "icon": "chat",
            "accept_label": "Take it",
            "timeout_seconds": "90",
            "desktop_mode": "always",
            **changes,
        }
    )
    return response, data


def test_a_template_is_saved_with_its_fields(admin_client):
    # spec: NOT-6a, NOT-6
    response, data = _template_add(admin_client, show_reject="", show_timeout="")
    data.pop("show_reject")
    data.pop("show_timeout")
    add_inline_rows(
        data,
        inline_prefix(response, NotificationTemplateField),
        [
            {"order": "1", "header": "Order", "value": "{order_id}"},
            {"order": "0", "header": "Customer", "value": "{customerName} ({visitorLanguage})"},
        ],
    )
    assert admin_client.post(reverse("admin:notifications_notificationtemplate_add"), data).status_code == 302
    template = NotificationTemplate.objects.get(name="VIP chat")
    assert (
        template.title,
        template.accept_label,
        template.show_reject,
        template.timeout_seconds,
        template.show_timeout,
        template.desktop_mode,
        template.is_default,
    ) == ("VIP chat from {customerName}", "Take it", False, 90, False, "always", False)
    assert [(f.header, f.value) for f in template.fields.all()] == [
        ("Customer", "{customerName} ({visitorLanguage})"),
        ("Order", "{order_id}"),
    ]


def test_a_second_default_template_for_a_scenario_is_refused_on_the_checkbox(admin_client):
    # spec: NOT-6a, ADM-1
    _, data = _template_add(admin_client, is_default="on")
    response = admin_client.post(reverse("admin:notifications_notificationtemplate_add"), data)
    assert response.status_code == 200
    assert field_errors(response, "is_default") == [
        "“Incoming chat (default)” is already the default template for Incoming chat; a scenario has one default."
    ]
    assert response.context["adminform"].form.non_field_errors() == []
    assert not NotificationTemplate.objects.filter(name="VIP chat").exists()


def test_making_another_template_the_default_is_refused_while_one_is(admin_client):
    # spec: NOT-6a
    template = NotificationTemplateFactory(name="VIP chat")
    url = reverse("admin:notifications_notificationtemplate_change", args=[template.pk])
    data = admin_form_data(admin_client.get(url))
    assert "scenario" not in data  # a template keeps the scenario it was made for
    data["is_default"] = "on"
    response = admin_client.post(url, data)
    assert field_errors(response, "is_default") == [
        "“Incoming chat (default)” is already the default template for Incoming chat; a scenario has one default."
    ]
    template.refresh_from_db()
    assert template.is_default is False
    assert NotificationTemplate.objects.filter(scenario="incoming_chat", is_default=True).count() == 1


def test_the_default_template_stays_editable_as_the_default(admin_client):
    # spec: NOT-6a, NOT-6
    default = NotificationTemplate.objects.get(scenario="incoming_chat", is_default=True)
    url = reverse("admin:notifications_notificationtemplate_change", args=[default.pk])
    data = admin_form_data(admin_client.get(url))
    data["timeout_seconds"] = "90"
    assert admin_client.post(url, data).status_code == 302
    default.refresh_from_db()
    assert (default.is_default, default.timeout_seconds) == (True, 90)


def test_default_templates_cannot_be_deleted_but_others_can(admin_client):
    # spec: NOT-6a
    default = NotificationTemplate.objects.get(scenario="incoming_sms", is_default=True)
    assert (
        admin_client.get(reverse("admin:notifications_notificationtemplate_delete", args=[default.pk])).status_code
        == 403
    )
    other = NotificationTemplateFactory()
    response = admin_client.post(
        reverse("admin:notifications_notificationtemplate_delete", args=[other.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not NotificationTemplate.objects.filter(pk=other.pk).exists()
    assert NotificationTemplate.objects.filter(pk=default.pk).exists()


@pytest.mark.parametrize(
    "changes, field, error",
    [
        ({"kind": "toast"}, "kind", "Incoming conversations and case assignments use alerts."),
        (
            {"title": "Chat from {customerName"},
            "title",
            "Placeholders are written {name} with letters, digits, _ . or -; check the braces.",
        ),
        ({"timeout_seconds": "2"}, "timeout_seconds", "Ensure this value is greater than or equal to 5."),
        (
            {"scenario": "case_assignment", "show_reject": "on"},
            "show_reject",
            "A case assignment cannot be rejected.",
        ),
    ],
)
def test_a_bad_template_is_refused_on_the_field(admin_client, changes, field, error):
    # spec: NOT-6a, NOT-3, NOT-4, ADM-1
    _, data = _template_add(admin_client, **changes)
    response = admin_client.post(reverse("admin:notifications_notificationtemplate_add"), data)
    assert response.status_code == 200
    assert field_errors(response, field) == [error]
    assert not NotificationTemplate.objects.filter(name="VIP chat").exists()


def test_a_template_field_with_broken_braces_is_refused(admin_client):
    # spec: NOT-6a, ADM-1
    response, data = _template_add(admin_client)
    add_inline_rows(
        data,
        inline_prefix(response, NotificationTemplateField),
        [{"order": "0", "header": "Customer", "value": "{customerName"}],
    )
    response = admin_client.post(reverse("admin:notifications_notificationtemplate_add"), data)
    assert inline_errors(response, NotificationTemplateField) == [
        {"value": ["Placeholders are written {name} with letters, digits, _ . or -; check the braces."]}
    ]
    assert not NotificationTemplate.objects.filter(name="VIP chat").exists()


# --- Alert switches (NOT-10..12) ------------------------------------------------------------


def test_alert_settings_is_one_page_with_no_add_and_no_delete(admin_client):
    # spec: NOT-10, NOT-11, NOT-12, ADM-1
    settings = AlertSettings.load()
    change = reverse("admin:notifications_alertsettings_change", args=[settings.pk])
    response = admin_client.get(reverse("admin:notifications_alertsettings_changelist"))
    assert (response.status_code, response["Location"]) == (302, change)
    assert admin_client.get(reverse("admin:notifications_alertsettings_add")).status_code == 403
    assert admin_client.get(reverse("admin:notifications_alertsettings_delete", args=[settings.pk])).status_code == 403

    data = admin_form_data(admin_client.get(change))
    data.pop("missed_notification_enabled")
    assert admin_client.post(change, data).status_code == 302
    settings.refresh_from_db()
    assert (settings.missed_notification_enabled, settings.agent_reject_enabled, settings.max_sessions_enabled) == (
        False,
        True,
        True,
    )
    assert AlertSettings.objects.count() == 1


def test_alert_settings_can_be_created_when_missing(admin_client):
    # spec: NOT-10, ADM-1
    AlertSettings.objects.all().delete()
    response = admin_client.get(reverse("admin:notifications_alertsettings_changelist"))
    assert response.status_code == 200
    data = admin_form_data(admin_client.get(reverse("admin:notifications_alertsettings_add")))
    data.pop("agent_reject_enabled")
    assert admin_client.post(reverse("admin:notifications_alertsettings_add"), data).status_code == 302
    settings = AlertSettings.objects.get()
    assert (settings.pk, settings.agent_reject_enabled) == (1, False)
