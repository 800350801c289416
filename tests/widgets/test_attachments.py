"""Files the customer sends from the widget, and every reader's signed download (issue 16):
the type read from the content, the widget's limits, one file per client id, links that expire,
downloads that are never active content, and attachments resumed on the socket like messages."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage

from conversations.models import Attachment, Message
from conversations.services import message_event
from tests.conversations.attachment_files import HTML_WITH_SCRIPT, PDF, SVG_WITH_SCRIPT, png_bytes, upload
from tests.widgets.endpoints import ORIGIN
from tests.widgets.factories import ChatWidgetFactory
from tests.widgets.widget_socket import chat, join, open_socket, post, receive

pytestmark = pytest.mark.embedded


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()]


def attach(client, conversation, token, file, *, origin=ORIGIN, **fields):
    return client.post(
        f"/widget/{conversation.widget.public_key}/attachments/",
        {"token": token, "file": file, **fields},
        HTTP_ORIGIN=origin,
    )


@pytest.mark.django_db
def test_the_customer_sends_an_image_and_a_pdf_each_a_message_with_the_next_seq(
    client, media, django_capture_on_commit_callbacks, published
):
    conversation, token = chat()
    with django_capture_on_commit_callbacks(execute=True):
        post(conversation, "Welcome", sender=Message.Sender.SYSTEM)
        image = attach(client, conversation, token, upload("photo.png", png_bytes()), client_id="u-1")
        pdf = attach(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"), client_id="u-2")

    assert (image.status_code, image.json()) == (201, {"seq": 2, "client_id": "u-1"})
    assert (pdf.status_code, pdf.json()) == (201, {"seq": 3, "client_id": "u-2"})
    assert image["Access-Control-Allow-Origin"] == ORIGIN
    stored = list(Attachment.objects.order_by("message__seq").values_list("name", "content_type", "is_image"))
    assert stored == [("photo.png", "image/png", True), ("invoice.pdf", "application/pdf", False)]
    assert list(Message.objects.filter(seq__gt=1).values_list("sender", "text")) == [
        ("customer", "photo.png"),
        ("customer", "invoice.pdf"),
    ]
    # Stored before delivered: each event, on commit, carries the file and a signed link.
    events = [event for _, event in published if event["type"] == "conversation.message"]
    assert [event["seq"] for event in events] == [1, 2, 3]
    assert events[1]["attachment"] == {
        "name": "photo.png",
        "size": len(png_bytes()),
        "content_type": "image/png",
        "image": True,
        "url": events[1]["attachment"]["url"],
    }
    assert events[1]["attachment"]["url"].startswith("/attachments/")
    assert len(stored_files(media)) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "claimed"),
    [(HTML_WITH_SCRIPT, "image/png"), (SVG_WITH_SCRIPT, "image/png"), (SVG_WITH_SCRIPT, "image/svg+xml")],
    ids=["html-named-png", "svg-named-png", "svg"],
)
def test_markup_is_refused_whatever_its_name_and_claimed_type(client, media, content, claimed):
    conversation, token = chat()

    answer = attach(client, conversation, token, upload("cat.png", content, claimed))

    assert answer.status_code == 400
    assert answer.json()["code"] == "attachment_type_not_allowed"
    assert answer.json()["message"].startswith("This type of file can't be sent here.")
    assert not Message.objects.filter(conversation=conversation).exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_png_header_in_front_of_something_else_is_refused(client, media):
    conversation, token = chat()
    forged = png_bytes()[:16] + b"<script>alert(1)</script>" * 10

    answer = attach(client, conversation, token, upload("cat.png", forged))

    assert (answer.status_code, answer.json()["code"]) == (400, "attachment_type_not_allowed")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_file_above_the_widgets_limit_is_refused_and_nothing_is_stored(client, media):
    widget = ChatWidgetFactory(attachment_max_mb=1)
    conversation, token = chat(widget)

    too_large = attach(client, conversation, token, upload("notes.txt", b"a" * (1024 * 1024 + 1), "text/plain"))
    at_limit = attach(client, conversation, token, upload("notes.txt", b"a" * (1024 * 1024), "text/plain"))

    assert too_large.status_code == 413
    assert too_large.json() == {
        "code": "attachment_too_large",
        "message": "This file is too large: files up to 1.0\xa0MB can be sent.",
    }
    assert at_limit.status_code == 201
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert len(stored_files(media)) == 1


@pytest.mark.django_db
def test_only_the_kinds_the_widget_allows_are_accepted(client, media):
    widget = ChatWidgetFactory(attachment_kinds=["png"])
    conversation, token = chat(widget)

    pdf = attach(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"))
    image = attach(client, conversation, token, upload("photo.png", png_bytes()))

    assert pdf.status_code == 400
    assert pdf.json()["message"] == "This type of file can't be sent here. Allowed: PNG images."
    assert image.status_code == 201


@pytest.mark.django_db
def test_a_retried_upload_is_stored_once(client, media):
    conversation, token = chat()

    first = attach(client, conversation, token, upload("photo.png", png_bytes()), client_id="u-1")
    again = attach(client, conversation, token, upload("photo.png", png_bytes()), client_id="u-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"seq": 1, "client_id": "u-1"}
    assert Attachment.objects.count() == 1
    assert len(stored_files(media)) == 1


@pytest.mark.django_db
def test_only_the_conversations_customer_may_send_into_it(client, media):
    conversation, _token = chat()
    _other, other_token = chat(conversation.widget)

    forged = attach(client, conversation, "not-a-token", upload("photo.png", png_bytes()))
    wrong_origin = attach(
        client, conversation, other_token, upload("a.png", png_bytes()), origin="https://evil.example"
    )

    assert forged.status_code == 403
    assert wrong_origin.status_code == 403
    assert not Message.objects.filter(conversation=conversation).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"token": "t"}, {"token": ["a", "b"], "file": "text"}])
def test_a_malformed_upload_is_a_clear_400(client, body):
    conversation, _token = chat()

    answer = client.post(f"/widget/{conversation.widget.public_key}/attachments/", body, HTTP_ORIGIN=ORIGIN)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"


# --- Downloads ----------------------------------------------------------------------------


def sent(client, conversation, token, file) -> dict:
    assert attach(client, conversation, token, file).status_code == 201
    message = Message.objects.select_related("attachment").get(conversation=conversation, text=file.name)
    return message_event(message)["attachment"]


@pytest.mark.django_db
def test_a_pdf_downloads_as_an_attachment_that_can_run_nothing(client, media):
    conversation, token = chat()
    link = sent(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"))

    response = client.get(link["url"])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.django_db
def test_an_image_is_shown_inline_with_its_real_type(client, media):
    conversation, token = chat()
    link = sent(client, conversation, token, upload("photo.webp.png", png_bytes(), "image/webp"))

    response = client.get(link["url"])

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="photo.webp.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.django_db
def test_a_download_link_expires(client, media, clock, settings):
    settings.ATTACHMENT_LINK_MAX_AGE = 3600
    conversation, token = chat()
    link = sent(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"))

    clock.shift(timedelta(minutes=59))
    assert client.get(link["url"]).status_code == 200
    clock.shift(timedelta(minutes=2))
    assert client.get(link["url"]).status_code == 404


@pytest.mark.django_db
def test_a_link_not_signed_by_us_or_for_another_file_is_404(client, media):
    conversation, token = chat()
    link = sent(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"))
    attachment = Attachment.objects.get()
    key, _stamp, _signature = link["url"].strip("/").split("/")[1].split(":")

    other = Attachment.objects.exclude(pk=attachment.pk)
    assert not other.exists()
    assert client.get(f"/attachments/{attachment.key.hex}/").status_code == 404  # the bare key
    assert client.get(f"/attachments/{key}:{_stamp}:{'A' * len(_signature)}/").status_code == 404  # forged
    assert client.get(f"/attachments/{'0' * 32}:{_stamp}:{_signature}/").status_code == 404  # another key
    default_storage.delete(attachment.file.name)
    assert client.get(link["url"]).status_code == 404  # the file is gone


# --- On the socket: live and on resume (CONV-2) -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_attachments_are_resumed_after_a_reconnect_like_messages(client, media, asgi_server):
    # spec: CONV-2 — an attachment is a message: it is sent live, and again after a reconnect with after=N
    conversation, token = chat()
    post(conversation, "Hello")
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        assert receive(ws)["seq"] == 1
        assert attach(client, conversation, token, upload("photo.png", png_bytes()), client_id="u-1").status_code == 201
        live = receive(ws)
    # Gone meanwhile: a file sent while the customer's socket was away.
    assert attach(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf")).status_code == 201

    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token, after=1)
        resumed = [receive(ws), receive(ws)]

    assert (live["seq"], live["client_id"], live["attachment"]["name"]) == (2, "u-1", "photo.png")
    assert [frame["seq"] for frame in resumed] == [2, 3]
    assert resumed[0]["attachment"] | {"url": None} == {
        "name": "photo.png",
        "size": len(png_bytes()),
        "size_label": f"{len(png_bytes())}\xa0bytes",
        "content_type": "image/png",
        "image": True,
        "url": None,
    }
    assert resumed[1]["attachment"]["size_label"] == f"{len(PDF)}\xa0bytes"
    assert resumed[1]["attachment"]["image"] is False
    # The link each frame carries opens the file.
    assert client.get(resumed[1]["attachment"]["url"]).status_code == 200


@pytest.mark.django_db
def test_an_upload_takes_a_bounded_number_of_queries(client, media, django_assert_max_num_queries):
    conversation, token = chat()
    attach(client, conversation, token, upload("first.png", png_bytes()))

    with django_assert_max_num_queries(12):
        answer = attach(client, conversation, token, upload("invoice.pdf", PDF, "application/pdf"), client_id="u-9")

    assert answer.status_code == 201
