"""The agent's avatar in the widget's header (issue 16): uploaded per agent in the admin center,
checked from its content and limited in size, served only through signed, expiring links (the
attachments' download code), and given to the customer with the agent's name."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from agents.models import AgentProfile
from conversations.attachments import agent_avatar_url
from conversations.models import Message
from conversations.services import message_post
from tests.admin_helpers import admin_form_data
from tests.conversations.attachment_files import HTML_WITH_SCRIPT, SVG_WITH_SCRIPT, png_bytes
from tests.routing.factories import AgentProfileFactory
from tests.widgets.widget_socket import chat, join, open_socket, receive

pytestmark = pytest.mark.embedded


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload_avatar(admin_client, agent, content: bytes, name: str = "ada.png", content_type: str = "image/png"):
    url = reverse("admin:agents_agentprofile_change", args=[agent.pk])
    data = admin_form_data(admin_client.get(url))
    data["avatar"] = SimpleUploadedFile(name, content, content_type=content_type)
    return admin_client.post(url, data)


def avatar_errors(response) -> list[str]:
    return list(response.context["adminform"].form.errors.get("avatar", []))


@pytest.mark.django_db
def test_an_admin_uploads_an_agents_avatar_stored_under_a_random_name(admin_client, media):
    # spec: issue 16 — the admin sets one per agent in the admin center
    agent = AgentProfileFactory(display_name="Ada Agent")
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(jpeg, format="JPEG")
    response = upload_avatar(admin_client, agent, jpeg.getvalue(), name="../../me.png", content_type="image/png")
    assert response.status_code == 302, avatar_errors(response)
    agent.refresh_from_db()
    stored = agent.avatar.name
    assert stored.startswith("avatars/") and stored.endswith(".jpg")  # its real type, not its name
    assert "me" not in stored
    assert [path.name for path in (media / "avatars").iterdir()] == [stored.split("/")[-1]]
    page = admin_client.get(reverse("admin:agents_agentprofile_change", args=[agent.pk])).content.decode()
    assert "A picture is set." in page and 'accept="image/png,image/jpeg,image/gif,image/webp"' in page
    assert stored not in page  # no link to where it is stored: it is never served from there


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name"),
    [(HTML_WITH_SCRIPT, "ada.png"), (SVG_WITH_SCRIPT, "ada.svg"), (b"%PDF-1.4 not a picture", "ada.jpg")],
    ids=["html-named-png", "svg-with-script", "pdf"],
)
def test_anything_but_an_intact_image_is_refused_and_nothing_is_stored(admin_client, media, content, name):
    # spec: issue 16 — a content-checked image
    agent = AgentProfileFactory()
    response = upload_avatar(admin_client, agent, content, name=name)
    assert response.status_code == 200
    assert avatar_errors(response) == ["Use a PNG, JPEG, GIF or WebP picture."]
    agent.refresh_from_db()
    assert not agent.avatar
    assert not (media / "avatars").exists()


@pytest.mark.django_db
def test_a_picture_over_the_size_limit_is_refused(admin_client, media, settings):
    # spec: issue 16 — size-limited
    settings.AGENT_AVATAR_MAX_BYTES = 1000
    agent = AgentProfileFactory()
    big = png_bytes(size=(400, 400), color=(1, 2, 3))
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(noisy, format="PNG")
    assert len(noisy.getvalue()) > 1000
    response = upload_avatar(admin_client, agent, noisy.getvalue())
    assert avatar_errors(response) == ["This picture is too large: pictures up to 1000\xa0bytes can be used."]
    settings.AGENT_AVATAR_MAX_BYTES = 10_000_000
    Image.new("RGB", (3000, 10)).save(buffer := io.BytesIO(), format="PNG")
    response = upload_avatar(admin_client, agent, buffer.getvalue())
    assert avatar_errors(response) == ["This picture is too large: at most 2048 pixels a side."]
    assert upload_avatar(admin_client, agent, big).status_code == 302
    agent.refresh_from_db()
    assert agent.avatar


@pytest.fixture
def agent_with_avatar(admin_client):
    agent = AgentProfileFactory(display_name="Ada Agent")
    assert upload_avatar(admin_client, agent, png_bytes(size=(32, 32))).status_code == 302
    agent.refresh_from_db()
    return agent


@pytest.mark.django_db
def test_a_replaced_or_removed_picture_leaves_no_file_behind(
    admin_client, agent_with_avatar, media, django_capture_on_commit_callbacks
):
    # spec: issue 16 — a new picture replaces the old one in storage too
    first = agent_with_avatar.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_avatar(admin_client, agent_with_avatar, png_bytes(size=(16, 16))).status_code == 302
    agent_with_avatar.refresh_from_db()
    second = agent_with_avatar.avatar.name
    assert second != first
    assert [path.name for path in (media / "avatars").iterdir()] == [second.split("/")[-1]]
    url = reverse("admin:agents_agentprofile_change", args=[agent_with_avatar.pk])
    data = admin_form_data(admin_client.get(url))
    data["avatar-clear"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, data).status_code == 302
    agent_with_avatar.refresh_from_db()
    assert not agent_with_avatar.avatar
    assert list((media / "avatars").iterdir()) == []


@pytest.mark.django_db
def test_the_avatar_is_served_by_a_signed_link_as_an_inert_image(client, agent_with_avatar):
    # spec: SEC-2 — never active content on our origin
    response = client.get(agent_avatar_url(agent_with_avatar))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert b"".join(response.streaming_content) == agent_with_avatar.avatar.open("rb").read()


@pytest.mark.django_db
def test_an_avatar_link_expires_and_a_forged_or_stale_one_is_404(
    client, agent_with_avatar, admin_client, clock, settings
):
    # spec: issue 16 — signed, expiring links; a new picture gets new links
    settings.ATTACHMENT_LINK_MAX_AGE = 3600
    link = agent_avatar_url(agent_with_avatar)
    value, stamp, signature = link.strip("/").split("/")[1].split(":")
    assert client.get(f"/avatars/{value}:{stamp}:{'A' * len(signature)}/").status_code == 404
    assert client.get(f"/avatars/{agent_with_avatar.pk}/").status_code == 404
    assert client.get(f"/media/{agent_with_avatar.avatar.name}").status_code == 404  # not served as media
    clock.shift(timedelta(minutes=59))
    assert client.get(link).status_code == 200
    clock.shift(timedelta(minutes=2))
    assert client.get(link).status_code == 404

    fresh = agent_avatar_url(agent_with_avatar)
    assert client.get(fresh).status_code == 200
    assert upload_avatar(admin_client, agent_with_avatar, png_bytes(size=(20, 20))).status_code == 302
    assert client.get(fresh).status_code == 404  # the old picture's link
    agent_with_avatar.refresh_from_db()
    assert client.get(agent_avatar_url(agent_with_avatar)).status_code == 200
    AgentProfile.objects.filter(pk=agent_with_avatar.pk).update(avatar="")
    assert client.get(agent_avatar_url(agent_with_avatar) or fresh).status_code == 404  # removed


def test_the_customer_gets_the_agents_name_and_avatar_link_with_their_messages(layer, asgi_server, client):
    # spec: LIVE-2, issue 16 — the header shows the display name and the avatar once an agent joins
    with_avatar = AgentProfileFactory(display_name="Ada Agent")
    with_avatar.avatar.save("avatars/ada.png", SimpleUploadedFile("x.png", png_bytes()), save=True)
    without = AgentProfileFactory(display_name="Bo Agent")
    conversation, token = chat()
    message_post(conversation_id=conversation.pk, sender=Message.Sender.AGENT, text="Hi", sender_user=with_avatar.user)
    message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text="Hello")
    with open_socket(asgi_server, conversation.widget) as ws:
        join(ws, conversation, token)
        stored, customer = receive(ws), receive(ws)
        message_post(
            conversation_id=conversation.pk, sender=Message.Sender.AGENT, text="Me too", sender_user=without.user
        )
        live_without = receive(ws)
        message_post(
            conversation_id=conversation.pk, sender=Message.Sender.AGENT, text="Back", sender_user=with_avatar.user
        )
        live_with = receive(ws)
    assert stored["sender_name"] == "Ada Agent"
    assert stored["sender_avatar"].startswith("/avatars/")
    assert "sender_avatar" not in customer and "sender_avatar" not in live_without
    assert live_without["sender_name"] == "Bo Agent"
    assert live_with["sender_avatar"].startswith("/avatars/")
    response = client.get(live_with["sender_avatar"])
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
