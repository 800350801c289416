"""SMS in the agent workspace, over the workspace socket and the page (SMS-1): a reply's delivery
status moves live on the agent's message and reads the same after a reload; a permanent error
shows its reason; a customer who texted STOP cannot be replied to, and the composer says so.

Real parts: the ASGI server, the workspace socket, a Celery worker and the stand-in provider."""

import re
import time

import pytest

from conversations.channels.outbound import delivery_display
from conversations.models import Conversation, Message, OutboundSms
from tests.conversations.sms_helpers import sms_setup
from tests.conversations.workspace_socket import join, receive, send, until
from tests.live import wait_until

pytestmark = pytest.mark.embedded

CUSTOMER = "+14155550123"
DELIVERY = r'data-testid="delivery" data-status="(\w+)">.*?data-testid="delivery-label">([^<]*)<'
NOTICE_HIDDEN = r'data-testid="sms-opted-out" role="status" id="sms-opted-out" hidden'


@pytest.fixture
def sms_chat(asgi_server, standin, sms_worker):
    """A customer texted in through the stand-in; the agent holds the conversation (active)."""
    channel, agent = sms_setup(public_base_url=asgi_server.url, api_base_url=standin.url)
    standin.webhook_base = asgi_server.url
    assert standin.send_inbound(from_number=CUSTOMER, body="Hello?") == 200
    conversation = wait_until(lambda: Conversation.objects.filter(phone_channel=channel).first())
    wait_until(lambda: Message.objects.filter(conversation=conversation, sender="customer").exists())
    Conversation.objects.filter(pk=conversation.pk).update(status="active", agent=agent)
    return conversation, agent


def _deliveries(ws, seq, until_status, timeout=20.0):
    """The conversation.delivery frames for ``seq`` up to the one with ``until_status``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = receive(ws)
        if frame["type"] == "conversation.delivery" and frame["seq"] == seq:
            seen.append(frame)
            if frame["status"] == until_status:
                return seen
    raise AssertionError(f"no {until_status} delivery frame; saw {seen}")


def _page_deliveries(client, agent, conversation) -> list[tuple[str, str, str]]:
    """(seq, status, label) of every delivery the conversation page renders on load."""
    client.force_login(agent.user)
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    found = []
    for item in re.findall(r'<li class="ws-message.*?</li>', html, flags=re.S):
        delivery = re.search(DELIVERY, item)
        if delivery:
            found.append((re.search(r'data-seq="(\d+)"', item).group(1), *delivery.groups()))
    return found


def test_a_replys_delivery_moves_live_and_reads_the_same_after_a_reload(sms_chat, workspace, client):
    # spec: SMS-1
    conversation, agent = sms_chat
    ws = workspace(agent)
    join(ws, agent, conversation.pk)
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "It left today.", "client_id": "c1"})
    message_frame, _before = until(ws, "conversation.message")
    assert message_frame["delivery"]["status"] == "pending"  # shown at once: waiting to be sent
    seq = message_frame["seq"]
    moves = _deliveries(ws, seq, "delivered")
    assert [frame["status"] for frame in moves][-1] == "delivered"
    assert {frame["status"] for frame in moves} <= {"queued", "sent", "delivered"}
    assert moves[-1]["label"] == "Delivered" and moves[-1]["reason"] == ""
    # After a reload the page renders the same status with the same words.
    assert _page_deliveries(client, agent, conversation) == [(str(seq), "delivered", "Delivered")]
    # A page that (re)joins learns where each reply stands, moves it missed included.
    ws2 = workspace(agent)
    backlog = join(ws2, agent, conversation.pk, after=seq)[1:]
    assert [(f["type"], f["seq"], f["status"], f["label"]) for f in backlog] == [
        ("conversation.delivery", seq, "delivered", "Delivered")
    ]


def test_a_permanent_error_shows_its_reason_live_and_after_a_reload(sms_chat, workspace, client, standin):
    # spec: SMS-1
    conversation, agent = sms_chat
    standin.fail_next(1, 400, code="21614", message="'To' number is not a valid mobile number")
    ws = workspace(agent)
    join(ws, agent, conversation.pk)
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "Hi", "client_id": "c2"})
    seq = until(ws, "conversation.message")[0]["seq"]
    failed = _deliveries(ws, seq, "failed")[-1]
    reason = "The customer's number cannot receive text messages."
    assert (failed["label"], failed["code"], failed["reason"]) == ("Failed", "21614", reason)
    client.force_login(agent.user)
    html = client.get(f"/workspace/conversations/{conversation.pk}/").content.decode()
    assert f'data-testid="delivery-reason">{reason.replace(chr(39), "&#x27;")}<' in html
    assert delivery_display(status="failed", code="21614")["reason"] == reason  # the one source of both


def test_an_opted_out_customer_cannot_be_texted_and_the_composer_says_so(sms_chat, workspace, client, standin):
    # spec: SMS-1
    conversation, agent = sms_chat
    ws = workspace(agent)
    join(ws, agent, conversation.pk)
    client.force_login(agent.user)
    page = f"/workspace/conversations/{conversation.pk}/"
    assert re.search(NOTICE_HIDDEN, client.get(page).content.decode())
    assert standin.send_inbound(from_number=CUSTOMER, body="STOP") == 200
    frame, _ = until(ws, "conversation.opt_out")
    assert frame == {"type": "conversation.opt_out", "conversation": conversation.pk, "opted_out": True}
    stored = Message.objects.count()
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "Still there?", "ref": "s1"})
    error, _ = until(ws, "error")
    assert (error["code"], error["ref"]) == ("sms_opted_out", "s1")
    assert "opted out" in error["message"] and "START" in error["message"]
    assert Message.objects.count() == stored and not OutboundSms.objects.exists()  # nothing stored, nothing sent
    html = client.get(page).content.decode()
    assert re.search(r'data-testid="sms-opted-out" role="status" id="sms-opted-out">', html)
    assert 'aria-describedby="sms-opted-out"' in html
    assert standin.send_inbound(from_number=CUSTOMER, body="START") == 200
    frame, _ = until(ws, "conversation.opt_out")
    assert frame["opted_out"] is False
    send(ws, {"type": "message.send", "conversation": conversation.pk, "text": "Welcome back", "ref": "s2"})
    assert until(ws, "message.ack")[0]["ref"] == "s2"
