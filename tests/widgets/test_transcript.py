"""The customer's transcript (issue 16): plain text of their own conversation only, as a download
or by email where outbound mail is configured, throttled."""

import pytest
from django.core import mail

from conversations.models import Message
from conversations.services import message_post
from tests.routing.factories import AgentProfileFactory
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory
from tests.widgets.widget_socket import chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation_and_token():
    widget = ChatWidgetFactory(origins=[ORIGIN])
    conversation, token = chat(widget)
    agent = AgentProfileFactory(display_name="Ada Agent")
    message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text="My kettle <b>leaks</b>")
    message_post(
        conversation_id=conversation.pk, sender=Message.Sender.AGENT, text="Which model?", sender_user=agent.user
    )
    message_post(conversation_id=conversation.pk, sender=Message.Sender.SYSTEM, text="Ada Agent left the chat.")
    return widget, conversation, token


def test_the_customer_downloads_their_own_transcript_as_plain_text(
    client, conversation_and_token, django_assert_max_num_queries
):
    # spec: SEC-1, SEC-2 — their own conversation only, as text, never as active content
    widget, _conversation, token = conversation_and_token
    with django_assert_max_num_queries(4):
        response = call(client, widget, "transcript", {"token": token}, method="get")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="chat-transcript.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    lines = response.content.decode().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "Customer: My kettle <b>leaks</b>",
        "Ada Agent: Which model?",
        "System: Ada Agent left the chat.",
    ]


def test_another_customer_or_a_forged_token_gets_no_transcript(client, conversation_and_token):
    # spec: SEC-1
    widget, _conversation, token = conversation_and_token
    other = ChatWidgetFactory(origins=[ORIGIN])
    assert call(client, other, "transcript", {"token": token}, method="get").status_code in (403, 404)
    assert call(client, widget, "transcript", {"token": "forged"}, method="get").status_code == 403
    assert call(client, widget, "transcript", {}, method="get").status_code == 400


def test_the_transcript_by_email_is_sent_once_per_interval(client, conversation_and_token, settings):
    # spec: issue 16 — by email where outbound mail is configured, throttled
    settings.OUTBOUND_MAIL = True
    widget, conversation, token = conversation_and_token
    response = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert response.status_code == 202, response.content
    assert [(m.to, m.subject) for m in mail.outbox] == [(["grace@example.com"], "Your chat transcript")]
    assert "Ada Agent: Which model?" in mail.outbox[0].body
    again = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert (again.status_code, again.json()["code"]) == (409, "throttled")
    assert len(mail.outbox) == 1


def test_no_transcript_by_email_without_outbound_mail_or_with_a_bad_address(client, conversation_and_token, settings):
    # spec: issue 16 — bad input gets a clear error and sends nothing
    widget, _conversation, token = conversation_and_token
    settings.OUTBOUND_MAIL = True
    bad = call(client, widget, "transcript/email", {"token": token, "email": "not an address"})
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["email"])
    settings.OUTBOUND_MAIL = False
    off = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert (off.status_code, off.json()["code"]) == (409, "mail_off")
    assert mail.outbox == []
