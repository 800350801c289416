"""SMS end to end on real parts: the ASGI server, PostgreSQL, a Celery worker and the stand-in
provider over HTTP (SMS-1, SMS-3). Nothing inside our code is mocked."""

import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from conversations.channels.sms import provider_delivery_process
from conversations.models import Conversation, Message, OutboundSms, ProviderDelivery
from conversations.services import message_post
from tests.conversations.sms_helpers import INBOUND, sms_params, sms_setup, twilio_sign
from tests.live import wait_until


def _post(url, params):
    data = urlencode(params).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("X-Twilio-Signature", twilio_sign(url, params))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_same_message_sid_posted_20_times_concurrently_stores_one_message(asgi_server):
    # spec: SMS-3
    sms_setup(public_base_url=asgi_server.url)
    params = sms_params(sid="SM" + "c" * 32)
    barrier = threading.Barrier(20)
    statuses = []

    def deliver():
        barrier.wait()
        statuses.append(_post(asgi_server.url + INBOUND, params))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 20
    assert ProviderDelivery.objects.count() == 1
    delivery = ProviderDelivery.objects.get()
    provider_delivery_process(delivery_id=delivery.pk)
    provider_delivery_process(delivery_id=delivery.pk)
    assert Message.objects.filter(sender="customer").count() == 1


def _sms_conversation(asgi_server, standin):
    """A customer texts in through the stand-in; the worker routes it; an agent holds it."""
    channel, agent = sms_setup(public_base_url=asgi_server.url, api_base_url=standin.url)
    standin.webhook_base = asgi_server.url
    assert standin.send_inbound(from_number="+14155550123", body="Hello?") == 200
    conversation = wait_until(lambda: Conversation.objects.filter(phone_channel=channel).first())
    Conversation.objects.filter(pk=conversation.pk).update(status="active", agent=agent)
    return conversation, agent


def _reply(conversation, agent, text="Your parcel left today."):
    message, _created = message_post(conversation_id=conversation.pk, sender="agent", text=text, agent=agent)
    return OutboundSms.objects.get(message=message)


def _final(outbound, status, timeout=20.0):
    def done():
        outbound.refresh_from_db()
        return outbound.status == status

    wait_until(done, timeout)
    return outbound


def test_a_reply_is_sent_through_the_provider_and_its_delivered_status_recorded(asgi_server, standin, sms_worker):
    # spec: SMS-1
    conversation, agent = _sms_conversation(asgi_server, standin)
    outbound = _final(_reply(conversation, agent), "delivered")
    assert len(standin.messages) == 1
    sent = standin.messages[0]
    assert (sent["to"], sent["body"]) == ("+14155550123", "Your parcel left today.")
    assert outbound.provider_id == sent["sid"]
    assert outbound.attempts == 1
    assert standin.callback_errors == []


@pytest.mark.slow
def test_a_provider_outage_loses_no_reply_and_duplicates_none(asgi_server, standin, sms_worker):
    # spec: SMS-1, REL-1
    conversation, agent = _sms_conversation(asgi_server, standin)
    standin.fail_next(3, 503, message="Service Unavailable")
    standin.fail_next(1, 429, code="20429", message="Too Many Requests")
    outbound = _final(_reply(conversation, agent), "delivered", timeout=40)
    assert standin.requests == 5
    assert len(standin.messages) == 1
    assert outbound.attempts == 5


def test_a_permanent_error_is_not_retried_and_shows_its_reason(asgi_server, standin, sms_worker):
    # spec: SMS-1
    conversation, agent = _sms_conversation(asgi_server, standin)
    standin.fail_next(1, 400, code="21614", message="'To' number is not a valid mobile number")
    outbound = _final(_reply(conversation, agent), "failed")
    time.sleep(1.5)  # past any retry delay: none comes
    assert standin.requests == 1 and standin.messages == []
    outbound.refresh_from_db()
    assert (outbound.attempts, outbound.error_code) == (1, "21614")
    assert outbound.error_message == "The customer's number cannot receive text messages."


def test_an_ambiguous_timeout_never_texts_the_customer_twice(asgi_server, standin, sms_worker):
    # spec: SMS-1
    conversation, agent = _sms_conversation(asgi_server, standin)
    standin.fail_next(1, 201, delay=2.5)  # accepted, answered after our 1 s timeout
    outbound = _final(_reply(conversation, agent), "delivered", timeout=30)
    time.sleep(1.0)
    assert standin.requests == 1 and len(standin.messages) == 1
    assert outbound.provider_id == standin.messages[0]["sid"]  # learnt from the signed status callback
    assert outbound.attempts == 1
