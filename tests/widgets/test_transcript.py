"""The customer's transcript (issue 16): plain text of their own conversation only, as a download
or by email where outbound mail is configured, throttled."""

from smtplib import SMTPServerDisconnected

import pytest
from celery import current_app
from django.core import mail

from conversations.models import Message
from conversations.services import message_post
from tests.routing.factories import AgentProfileFactory
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory
from tests.widgets.widget_socket import chat

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks(monkeypatch):
    """Tasks sent on commit run in place (their bodies and retries; no timing is tested here)."""
    monkeypatch.setitem(current_app.conf, "CELERY_TASK_ALWAYS_EAGER", True)
    monkeypatch.setitem(current_app.conf, "CELERY_TASK_EAGER_PROPAGATES", True)


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


def test_the_transcript_by_email_is_sent_once_per_interval(
    client, conversation_and_token, settings, eager_tasks, django_capture_on_commit_callbacks
):
    # spec: issue 16 — by email where outbound mail is configured, from a task, throttled
    settings.OUTBOUND_MAIL = True
    widget, conversation, token = conversation_and_token
    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        response = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert response.status_code == 202, response.content
    assert mail.outbox == []  # nothing is sent inside the request: the task sends it after commit
    for callback in scheduled:
        callback()
    assert [(m.to, m.subject) for m in mail.outbox] == [(["grace@example.com"], "Your chat transcript")]
    assert "Ada Agent: Which model?" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        again = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert (again.status_code, again.json()["code"]) == (409, "throttled")
    assert again.json()["message"] == "The transcript was sent a moment ago; ask again in 10 minutes."
    assert len(mail.outbox) == 1


def test_the_transcript_mail_is_retried_while_the_mail_server_is_unreachable(
    client, conversation_and_token, settings, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    # spec: issue 16 — a Celery task with retry
    settings.OUTBOUND_MAIL = True
    widget, _conversation, token = conversation_and_token
    from conversations import transcript

    real_send_mail, attempts = transcript.send_mail, []

    def flaky_send_mail(*args, **kwargs):
        attempts.append(args[3])
        if len(attempts) < 3:
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send_mail(*args, **kwargs)

    monkeypatch.setattr(transcript, "send_mail", flaky_send_mail)
    # Eager runs apply a retry in place only when errors are not re-raised at once.
    monkeypatch.setitem(current_app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert response.status_code == 202, response.content
    assert attempts == [["grace@example.com"]] * 3
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]


def test_only_the_conversations_own_customer_may_have_it_emailed(
    client, conversation_and_token, settings, eager_tasks, django_capture_on_commit_callbacks
):
    # spec: SEC-1 — another widget's customer or a forged token gets nothing sent
    settings.OUTBOUND_MAIL = True
    widget, _conversation, token = conversation_and_token
    other = ChatWidgetFactory(origins=[ORIGIN])
    with django_capture_on_commit_callbacks(execute=True):
        stranger = call(client, other, "transcript/email", {"token": token, "email": "eve@example.com"})
        forged = call(client, widget, "transcript/email", {"token": "forged", "email": "eve@example.com"})
    assert stranger.status_code in (403, 404)
    assert forged.status_code == 403
    assert mail.outbox == []
    # The refusals used up no allowance: the customer still has it sent.
    with django_capture_on_commit_callbacks(execute=True):
        own = call(client, widget, "transcript/email", {"token": token, "email": "grace@example.com"})
    assert own.status_code == 202
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]


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
