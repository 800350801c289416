"""Proactive chat in the admin center: the widget's switch and each rule's acceptance figures
(PRO-1, PRO-8, ADM-1)."""

import re

import pytest
from django.urls import reverse

from tests.admin_helpers import admin_form_data
from tests.widgets.factories import ChatWidgetFactory, InvitationFactory, ProactiveRuleFactory, VisitorFactory
from widgets.models import ChatWidget

pytestmark = pytest.mark.django_db


def invitations(rule, **by_status):
    for status, count in by_status.items():
        for _ in range(count):
            invitation = InvitationFactory(visitor=VisitorFactory(widget=rule.widget), rule=rule)
            type(invitation).objects.filter(pk=invitation.pk).update(status=status)


def row_of(page: str, rule) -> str:
    return re.search(rf"<tr>.*?>{re.escape(rule.name)}</a>.*?</tr>", page, re.S).group(0)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_each_rules_figures_in_one_query_for_the_whole_list(admin_client, django_assert_max_num_queries):
    # spec: PRO-8 — shown / accepted / dismissed / expired and the acceptance rate, per rule
    checkout = ProactiveRuleFactory(name="Checkout")
    invitations(checkout, accepted=3, dismissed=2, expired=4, shown=1)
    quiet = ProactiveRuleFactory(name="Quiet page")
    for index in range(8):  # more rules must not mean more queries
        invitations(ProactiveRuleFactory(name=f"Rule {index}"), accepted=1, expired=1)
    with django_assert_max_num_queries(7):
        page = admin_client.get(reverse("admin:widgets_proactiverule_changelist")).content.decode()
    # name, widget, order, active, audience, location, cap | shown, accepted, dismissed, expired, rate
    assert cells(row_of(page, checkout))[-5:] == ["10", "3", "2", "4", "30.0 %"]
    assert cells(row_of(page, quiet))[-5:] == ["0", "0", "0", "0", "—"]
    ordered = admin_client.get(reverse("admin:widgets_proactiverule_changelist"), {"o": "-8"}).content.decode()
    assert ordered.index(">Checkout<") < ordered.index(">Quiet page<")


def test_the_rule_page_shows_its_figures(admin_client):
    # spec: PRO-8
    rule = ProactiveRuleFactory()
    invitations(rule, accepted=1, expired=3)
    page = admin_client.get(reverse("admin:widgets_proactiverule_change", args=[rule.pk])).content.decode()
    figures = re.search(r'data-testid="rule-figures">(.*?)<', page).group(1)
    assert figures == "4 shown · 1 accepted · 0 dismissed · 3 expired · 25.0 %"


def test_proactive_chat_is_switched_on_in_the_widgets_settings(admin_client):
    # spec: PRO-1
    widget = ChatWidgetFactory(proactive_enabled=False)
    url = reverse("admin:widgets_chatwidget_change", args=[widget.pk])
    data = admin_form_data(admin_client.get(url))
    data["proactive_enabled"] = "on"
    assert admin_client.post(url, data).status_code == 302
    assert ChatWidget.objects.get(pk=widget.pk).proactive_enabled is True
