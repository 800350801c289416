"""Files the agent sends from the workspace, and who may see one (issue 16): the workspace upload
(session + CSRF), SEC-1 on pages, sockets and the API, SMS conversations, the one renderer."""

import pytest
from django.test import Client

from conversations.attachment_services import message_attach
from conversations.models import Attachment, Conversation, Message
from tests.api_helpers import token_client
from tests.conversations.attachment_files import PDF, png_bytes, upload
from tests.conversations.factories import chat_given_to
from tests.conversations.workspace_socket import join, until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory

pytestmark = pytest.mark.embedded

API = "/api/v1"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def page(conversation_id: int) -> str:
    return f"/workspace/conversations/{conversation_id}/"


def upload_url(conversation_id: int) -> str:
    return f"/workspace/conversations/{conversation_id}/attachments/"


@pytest.fixture
def held(agent):
    """A widget chat the agent holds."""
    widget = ChatWidgetFactory(workstream__default_queue=agent.queues.first())
    return chat_given_to(agent, workstream=widget.workstream, widget=widget)


def customer_sends(conversation, file) -> Message:
    return message_attach(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, upload=file)[0]


@pytest.mark.django_db
def test_the_agent_sends_a_file_from_the_workspace_with_csrf(agent, held):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)
    browser.get(page(held.pk))
    csrf = browser.cookies["csrftoken"].value

    refused = browser.post(upload_url(held.pk), {"file": upload("reply.pdf", PDF, "application/pdf")})
    sent = browser.post(
        upload_url(held.pk),
        {"file": upload("reply.pdf", PDF, "application/pdf"), "client_id": "a-1"},
        HTTP_X_CSRFTOKEN=csrf,
    )
    again = browser.post(
        upload_url(held.pk),
        {"file": upload("reply.pdf", PDF, "application/pdf"), "client_id": "a-1"},
        HTTP_X_CSRFTOKEN=csrf,
    )

    assert refused.status_code == 403
    seq = held.messages.order_by("-seq").values_list("seq", flat=True).first()
    assert (sent.status_code, sent.json()) == (201, {"seq": seq, "client_id": "a-1"})
    assert (again.status_code, again.json()) == (200, {"seq": seq, "client_id": "a-1"})
    message = Message.objects.select_related("attachment").get(conversation=held, client_id="a-1")
    assert (message.sender, message.sender_user, message.attachment.name) == ("agent", agent.user, "reply.pdf")


@pytest.mark.django_db
def test_a_refused_file_is_a_clear_400_and_changes_nothing(client, agent, held):
    client.force_login(agent.user)
    before = Message.objects.count()

    answer = client.post(upload_url(held.pk), {"file": upload("page.png", b"<html><script>x</script></html>")})
    nothing = client.post(upload_url(held.pk), {})

    assert answer.status_code == 400
    assert answer.json()["code"] == "attachment_type_not_allowed"
    assert nothing.status_code == 400
    assert nothing.json() == {"code": "invalid", "message": "Choose one file to send."}
    assert Message.objects.count() == before
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_only_the_holder_sends_files_and_an_agent_of_another_queue_gets_404(client, agent, held):
    # spec: SEC-1
    stranger = AgentProfileFactory(queues=[QueueFactory(name="Billing")])
    client.force_login(stranger.user)

    answer = client.post(upload_url(held.pk), {"file": upload("a.png", png_bytes())})

    assert answer.status_code == 404
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_an_agent_of_another_queue_gets_no_link_to_a_conversations_file(client, agent, held):
    # spec: SEC-1 — the page, the API and the socket are where links come from; none gives one away
    customer_sends(held, upload("invoice.pdf", PDF, "application/pdf"))
    stranger = AgentProfileFactory(queues=[QueueFactory(name="Billing")])

    client.force_login(stranger.user)
    assert client.get(page(held.pk)).status_code == 404
    assert token_client(stranger.user).get(f"{API}/conversations/{held.pk}/messages/").status_code == 404

    client.force_login(agent.user)
    shown = client.get(page(held.pk)).content.decode()
    assert 'data-testid="attachment-file"' in shown
    assert "invoice.pdf" in shown


@pytest.mark.django_db
def test_the_page_renders_a_thumbnail_and_a_named_link_with_the_size(
    client, agent, held, django_assert_max_num_queries
):
    customer_sends(held, upload("photo.png", png_bytes()))
    customer_sends(held, upload("invoice.pdf", PDF, "application/pdf"))
    client.force_login(agent.user)

    with django_assert_max_num_queries(17):  # as test_workspace_pages counts it, files included
        response = client.get(page(held.pk))

    html = response.content.decode()
    assert 'data-testid="attachment-image"' in html
    assert '<img src="/attachments/' in html
    assert 'alt="Open photo.png full size"' in html
    assert 'download="invoice.pdf" data-testid="attachment-file">invoice.pdf</a>' in html
    assert f'data-testid="attachment-size">{len(PDF)}\xa0bytes</span>' in html


@pytest.mark.django_db
def test_the_file_size_is_worded_for_the_agents_language(client, agent, held):
    customer_sends(held, upload("notes.txt", b"x" * 1536, "text/plain"))
    client.force_login(agent.user)

    html = client.get(page(held.pk), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert "1,5\xa0Kio" in html


@pytest.mark.django_db
def test_agents_cannot_attach_in_an_sms_conversation(agent):
    conversation = chat_given_to(
        agent, channel=Conversation.Channel.SMS, workstream=WorkstreamFactory(default_queue=agent.queues.first())
    )
    client = Client()
    client.force_login(agent.user)

    answer = client.post(upload_url(conversation.pk), {"file": upload("a.png", png_bytes())})

    assert answer.status_code == 400
    assert answer.json() == {"code": "attachment_not_supported", "message": "Files can be sent only in a chat."}
    assert not Attachment.objects.exists()


# --- The REST API (API-1) -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_exposes_a_messages_file_with_a_signed_link(agent, held, django_assert_max_num_queries):
    # spec: API-1
    customer_sends(held, upload("invoice.pdf", PDF, "application/pdf"))
    api = token_client(agent.user)

    with django_assert_max_num_queries(6):
        rows = api.get(f"{API}/conversations/{held.pk}/messages/").json()["results"]

    with_file = [row for row in rows if row["attachment"]]
    assert [row["attachment"] | {"url": None} for row in with_file] == [
        {"name": "invoice.pdf", "size": len(PDF), "content_type": "application/pdf", "is_image": False, "url": None}
    ]
    assert with_file[0]["text"] == "invoice.pdf"
    assert with_file[0]["attachment"]["url"].startswith("http://testserver/attachments/")
    assert all(row["attachment"] is None for row in rows if row not in with_file)
    assert api.get(with_file[0]["attachment"]["url"]).status_code == 200


@pytest.mark.django_db
def test_the_openapi_document_describes_attachments(client):
    schema = client.get(f"{API}/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert set(schema["Attachment"]["properties"]) == {"name", "size", "content_type", "is_image", "url"}
    assert "attachment" in schema["Message"]["properties"]


# --- The workspace socket -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_workspace_socket_sends_a_file_live_and_on_resume_rendered_by_the_one_template(
    agent, workspace, asgi_server
):
    # spec: CONV-2 — an attachment is a message on the agent's socket too
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=agent.queues.first()))
    conversation = chat_given_to(agent, workstream=widget.workstream, widget=widget)
    last = conversation.last_message_seq
    ws = workspace(agent)
    join(ws, agent, conversation.pk, after=last)
    customer_sends(conversation, upload("photo.png", png_bytes()))
    live, _before = until(ws, "conversation.message")
    assert live["attachment"]["name"] == "photo.png"
    assert 'data-testid="attachment-image"' in live["html"]

    again = workspace(agent)
    answer, *backlog = join(again, agent, conversation.pk, after=last)
    resumed = next(frame for frame in backlog if frame["type"] == "conversation.message")
    assert (resumed["seq"], resumed["attachment"]["image"]) == (live["seq"], True)
    assert 'data-testid="attachment-image"' in resumed["html"]


@pytest.mark.django_db
def test_a_workspace_upload_takes_a_bounded_number_of_queries(client, agent, held, django_assert_max_num_queries):
    client.force_login(agent.user)
    client.post(upload_url(held.pk), {"file": upload("first.png", png_bytes())})

    with django_assert_max_num_queries(14):
        answer = client.post(upload_url(held.pk), {"file": upload("reply.pdf", PDF, "application/pdf")})

    assert answer.status_code == 201
