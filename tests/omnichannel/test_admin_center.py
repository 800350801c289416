"""The admin center organised by an administrator's tasks, with a start page (issue 14)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from notifications.models import NotificationTemplate
from omnichannel.admin_site import OTHER, SECTIONS, AdminCenterSite, section_of
from routing.models import WorkItem
from tests.conversations.factories import ConversationFactory
from tests.routing.factories import (
    AgentProfileFactory,
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    UserFactory,
    WorkItemFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.django_db

#: How the spec names its lines (ROU-8, PRO-7a, I18N-1): fine in code comments, never in what an
#: admin reads. Loose on purpose (no word boundary, digits after the first letter, as in I18N-1);
#: the few real-world names it also matches are allowed by name.
SPEC_CODE = re.compile(r"[A-Z][A-Z0-9]{1,4}-[0-9]+")
NOT_SPEC_CODES = re.compile(r"UTF-8|ISO-8859-1|P-256|SHA-256")


def spec_codes(text) -> list[str]:
    return SPEC_CODE.findall(NOT_SPEC_CODES.sub("", str(text)))


def test_the_project_uses_the_admin_center_site():
    # spec: ADM-1
    assert isinstance(admin.site, AdminCenterSite)


def test_every_registered_page_has_a_section():
    # spec: ADM-1
    unplaced = [model.__name__ for model in admin.site._registry if section_of(model._meta.model_name) is OTHER]
    assert unplaced == [], f"give these admin pages a section in omnichannel/admin_site.py: {unplaced}"


def test_index_lists_sections_in_task_order_with_admin_words(admin_client):
    # spec: ADM-1
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    names = [str(app["name"]) for app in response.context["app_list"]]
    assert names == [str(section.name) for section in SECTIONS]
    first_pages = [str(model["name"]) for model in response.context["app_list"][0]["models"]]
    assert first_pages[0] == "Chat widgets"
    every_page = {str(m["name"]) for app in response.context["app_list"] for m in app["models"]}
    for internal in ("Auth Token", "Tokens", "Offers", "Work items", "Self service actions", "Page visits"):
        assert internal not in every_page
    activity = next(app for app in response.context["app_list"] if app["app_label"] == "activity")
    assert activity["read_only"]
    assert all(model["add_url"] is None for model in activity["models"])


def test_an_app_page_keeps_djangos_list(admin_client):
    # spec: ADM-1
    response = admin_client.get(reverse("admin:app_list", args=["routing"]))
    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == ["routing"]


def _forms_of(model_admin, request):
    """The ModelAdmin's form and each inline's form, as an admin opens the add (or change) page."""
    yield model_admin.get_form(request)()
    for inline in model_admin.get_inline_instances(request):
        yield inline.get_formset(request).form()


def test_no_label_or_help_text_shows_a_spec_code(admin_user):
    # spec: ADM-1
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    found = []
    for model, model_admin in admin.site._registry.items():
        for form in _forms_of(model_admin, request):
            for name, field in form.fields.items():
                for text in (field.label, field.help_text):
                    if text and spec_codes(text):
                        found.append(f"{model.__name__}.{name}: {text}")
        for field in model._meta.get_fields():
            for text in (getattr(field, "verbose_name", ""), getattr(field, "help_text", "")):
                if text and spec_codes(text):
                    found.append(f"{model.__name__}.{field.name}: {text}")
        for text in (model._meta.verbose_name, model._meta.verbose_name_plural):
            if spec_codes(text):
                found.append(f"{model.__name__}: {text}")
    assert found == []


def test_admin_templates_show_no_spec_code():
    # spec: ADM-1
    templates = Path(settings.BASE_DIR) / "templates" / "admin"
    found = []
    for path in templates.rglob("*.html"):
        # Template comments are for developers; everything else reaches the page.
        text = re.sub(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", "", path.read_text(), flags=re.S)
        found += [f"{path.name}: {code}" for code in spec_codes(text)]
    assert list(templates.rglob("*.html")), "the admin center has templates of its own"
    assert found == []


def test_no_spec_code_on_any_admin_page(admin_client):
    # spec: ADM-1
    widget = ChatWidgetFactory()
    pages = [reverse("admin:index"), reverse("admin:widgets_chatwidget_change", args=[widget.pk])]
    pages += [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    for url in pages:
        body = admin_client.get(url).content.decode()
        visible = re.sub(r"<script.*?</script>|<style.*?</style>", "", body, flags=re.S)
        assert spec_codes(visible) == [], url


# --- The start page -----------------------------------------------------------------------------


def _checklist(response) -> dict[str, bool]:
    return {str(item.label): item.done for item in response.context["checklist"]}


def test_start_page_on_an_empty_install_lists_every_step_as_left(admin_client, django_assert_max_num_queries):
    # spec: ADM-1
    NotificationTemplate.objects.all().delete()  # migrations may ship defaults; this install has none
    with django_assert_max_num_queries(16):
        response = admin_client.get(reverse("admin:index"))
    assert response.context["checklist_left"] == 5
    assert not any(_checklist(response).values())
    body = response.content.decode()
    for item in response.context["checklist"]:
        assert f'href="{item.url}"' in body
    assert "5 steps are left" in body


def test_start_page_checklist_follows_the_data(admin_client, django_assert_max_num_queries):
    # spec: ADM-1
    hours = OperatingHoursFactory()
    OperatingWindowFactory(schedule=hours)
    queue = QueueFactory(operating_hours=hours)
    workstream = WorkstreamFactory(default_queue=queue)
    widget = ChatWidgetFactory(workstream=workstream)
    assert widget.allowed_domains.exists()  # the factory gives every widget one
    AgentProfileFactory(queues=[queue])
    NotificationTemplate.objects.get_or_create(name="Chat", defaults={"scenario": "chat"})
    with django_assert_max_num_queries(16):
        response = admin_client.get(reverse("admin:index"))
    assert response.context["checklist_left"] == 0, _checklist(response)
    assert "Everything a first chat needs is set up." in response.content.decode()


def test_an_agent_only_in_an_inactive_queue_cannot_take_chats(admin_client):
    # spec: ADM-1
    AgentProfileFactory(queues=[QueueFactory(is_active=False)])
    response = admin_client.get(reverse("admin:index"))
    assert _checklist(response)["An agent who can take chats (a member of an active queue)"] is False


def test_start_page_live_counts_link_to_the_supervisor_view(admin_client):
    # spec: ADM-1, ADM-2
    AgentProfileFactory(presence=presence("available"))
    AgentProfileFactory(presence=presence("available"), user=UserFactory(is_active=False))
    AgentProfileFactory(presence=presence("away"))
    queue = QueueFactory()
    workstream = WorkstreamFactory(default_queue=queue)
    oldest = WorkItemFactory(conversation=ConversationFactory(workstream=workstream), queue=queue)
    WorkItem.objects.filter(pk=oldest.pk).update(enqueued_at=timezone.now() - timedelta(minutes=7))
    WorkItemFactory(conversation=ConversationFactory(workstream=workstream), queue=queue)
    response = admin_client.get(reverse("admin:index"))
    live = response.context["live"]
    assert live.agents_available == 1
    assert live.conversations_waiting == 2
    assert 7 * 60 <= live.longest_wait_seconds < 8 * 60
    assert f'href="{reverse("conversations:supervisor")}"' in response.content.decode()
