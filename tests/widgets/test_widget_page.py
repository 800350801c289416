"""The widget page of the admin center: the script tag to copy, the live preview, the warning
when no page may show the widget, and the lists typed as rows (issue 14). # spec: WID-1, ADM-1"""

import json

import pytest
from django.urls import reverse

from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory
from widgets.models import AllowedDomain

pytestmark = pytest.mark.django_db


def test_the_script_tag_has_a_copy_button_and_a_one_line_how_to(admin_client, django_assert_max_num_queries):
    widget = ChatWidgetFactory()
    with django_assert_max_num_queries(30):
        body = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[widget.pk])).content.decode()
    assert 'data-copy-from="widget-script-tag"' in body
    assert "just before &lt;/body&gt;" in body
    assert "widgets/widget_admin.js" in body
    assert "no allowed domain" not in body


def test_a_widget_without_an_allowed_domain_is_flagged(admin_client):
    widget = ChatWidgetFactory(origins=["https://shop.example.com"])
    AllowedDomain.objects.filter(widget=widget).delete()
    body = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[widget.pk])).content.decode()
    assert "This widget has no allowed domain, so no web page can show it." in body


def _preview_config(response) -> dict:
    body = response.content.decode()
    start = body.index('id="widget-preview-config" type="application/json">') + len(
        'id="widget-preview-config" type="application/json">'
    )
    return json.loads(body[start : body.index("</script>", start)])


def test_the_preview_draws_the_real_widget_with_the_unsaved_look(admin_client):
    widget = ChatWidgetFactory(title="Chat with us", theme_color="#0f6cbd", language="")
    PreChatQuestionFactory(widget=widget, name="topic", label="Topic", kind="option_set", choices=["A", "B"])
    url = reverse("admin:widgets_chatwidget_preview", args=[widget.pk])
    response = admin_client.get(url, {"title": "Bonjour", "theme_color": "#aa0000", "language": "fr"})
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # the widget page frames it
    body = response.content.decode()
    assert f'data-widget="{widget.public_key}" data-preview-config="widget-preview-config"' in body
    assert "/static/widgets/loader.js" in body
    config = _preview_config(response)
    assert (config["title"], config["theme_color"], config["language"]) == ("Bonjour", "#aa0000", "fr")
    assert [q["name"] for q in config["prechat_questions"]] == ["topic"]
    assert config["proactive_enabled"] is False
    widget.refresh_from_db()
    assert widget.title == "Chat with us"  # the preview saves nothing


def test_a_preview_value_that_does_not_fit_keeps_the_saved_one(admin_client):
    widget = ChatWidgetFactory(theme_color="#0f6cbd", position="bottom_right")
    url = reverse("admin:widgets_chatwidget_preview", args=[widget.pk])
    config = _preview_config(admin_client.get(url, {"theme_color": "red;}", "position": "top", "title": "x" * 500}))
    assert (config["theme_color"], config["position"], config["title"]) == ("#0f6cbd", "bottom_right", widget.title)


def test_the_preview_is_for_admins_only(client):
    widget = ChatWidgetFactory()
    response = client.get(reverse("admin:widgets_chatwidget_preview", args=[widget.pk]))
    assert response.status_code == 302


def test_pre_chat_choices_are_rows(admin_client):
    widget = ChatWidgetFactory()
    PreChatQuestionFactory(widget=widget, name="topic", label="Topic", kind="option_set", choices=["Billing", "Orders"])
    body = admin_client.get(reverse("admin:widgets_chatwidget_change", args=[widget.pk])).content.decode()
    assert 'value="Billing" maxlength="200" aria-label="Choice 1"' in body
    assert 'value="Orders" maxlength="200" aria-label="Choice 2"' in body
    assert "[&quot;Billing&quot;" not in body  # no JSON to edit
