"""A widget's file limits in the admin center, and what the widget script is told of them (issue 16)."""

import pytest
from django.urls import reverse

from tests.admin_helpers import admin_form_data, field_errors
from tests.routing.factories import WorkstreamFactory
from tests.widgets.endpoints import call
from tests.widgets.factories import ChatWidgetFactory
from widgets.models import ChatWidget

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

DEFAULT_KINDS = ["png", "jpeg", "gif", "webp", "pdf", "text", "office"]


def widget_add(admin_client, **changes):
    data = admin_form_data(admin_client.get(reverse("admin:widgets_chatwidget_add")))
    data.update({"name": "Shop", "workstream": str(WorkstreamFactory().pk), **changes})
    return admin_client.post(reverse("admin:widgets_chatwidget_add"), data)


def test_a_new_widget_allows_images_pdf_text_and_office_documents_up_to_10_mb(admin_client):
    assert widget_add(admin_client).status_code == 302
    widget = ChatWidget.objects.get(name="Shop")
    assert (widget.attachment_kinds, widget.attachment_max_mb) == (DEFAULT_KINDS, 10)


def test_the_admin_chooses_the_kinds_from_boxes_and_the_largest_file(admin_client):
    page = admin_client.get(reverse("admin:widgets_chatwidget_add")).content.decode()
    assert 'type="checkbox" name="attachment_kinds" value="pdf"' in page
    assert "PDF documents" in page

    assert widget_add(admin_client, attachment_kinds=["png", "pdf"], attachment_max_mb="5").status_code == 302
    widget = ChatWidget.objects.get(name="Shop")
    assert (widget.attachment_kinds, widget.attachment_max_mb) == (["png", "pdf"], 5)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"attachment_max_mb": "101"}, "attachment_max_mb"), ({"attachment_kinds": ["svg"]}, "attachment_kinds")],
)
def test_a_limit_out_of_range_or_an_unknown_kind_is_refused(admin_client, changes, field):
    response = widget_add(admin_client, **changes)
    assert response.status_code == 200
    assert field_errors(response, field)
    assert not ChatWidget.objects.exists()


def test_the_widget_is_told_its_limits_and_the_words_of_its_file_control(client):
    widget = ChatWidgetFactory(attachment_kinds=["png", "pdf"], attachment_max_mb=2, language="fr")
    config = call(client, widget, "session", {}).json()["config"]
    assert config["attachments"] == {
        "max_bytes": 2 * 1024 * 1024,
        "accept": "image/png,.png,application/pdf,.pdf",
        "strings": {
            "attach": config["attachments"]["strings"]["attach"],
            "drop": config["attachments"]["strings"]["drop"],
            "uploading": config["attachments"]["strings"]["uploading"],
            "progress": config["attachments"]["strings"]["progress"],
            "failed": config["attachments"]["strings"]["failed"],
            # the widget's language (French) for both the words and the size
            "too_large": "Ce fichier est trop volumineux : vous pouvez envoyer des fichiers jusqu’à 2,0\xa0Mio.",
        },
    }


def test_a_widget_that_allows_no_files_shows_no_file_control(client):
    widget = ChatWidgetFactory(attachment_kinds=[])
    assert call(client, widget, "session", {}).json()["config"]["attachments"] is None
