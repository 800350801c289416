"""The voice hand-off: a signed webhook after the provider's voice bot (VOI-1)."""

import json
from urllib.parse import urlencode

import pytest

from conversations.channels.sms import provider_delivery_process
from conversations.models import ProviderDelivery
from customers.models import Contact
from notifications.models import Notification
from tests.conversations.sms_helpers import ACCOUNT, CUSTOMER, FORM, OUR_NUMBER, PUBLIC, VOICE, sms_setup, twilio_sign
from tests.routing.factories import WorkstreamFactory

pytestmark = pytest.mark.django_db


def _voice_channel():
    channel, agent = sms_setup(kind="voice", name="Voice line")
    channel.workstream = WorkstreamFactory(
        channel="voice", chat_mode="", default_queue=channel.workstream.default_queue
    )
    channel.save()
    return channel, agent


def _call(**extra):
    return {
        "CallSid": "CA" + "b" * 32,
        "AccountSid": ACCOUNT,
        "From": CUSTOMER,
        "To": OUR_NUMBER,
        "Transcript": "Caller: my router is blinking red.\nBot: I will get you a person.",
        "Context": json.dumps({"intent": "router_fault", "verified": True}),
        **extra,
    }


def _post(client, params, signature=None):
    signature = twilio_sign(PUBLIC + VOICE, params) if signature is None else signature
    return client.post(VOICE, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_handed_off_call_becomes_a_voice_conversation_with_transcript_and_caller(
    client, django_capture_on_commit_callbacks
):
    # spec: VOI-1, SMS-2
    channel, agent = _voice_channel()
    contact = Contact.objects.create(first_name="Ann", last_name="Lee", mobile_phone=CUSTOMER)
    with django_capture_on_commit_callbacks(execute=False):
        assert _post(client, _call()).status_code == 200
        assert _post(client, _call()).status_code == 200  # CallSid is the idempotency key
    assert ProviderDelivery.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        delivery = provider_delivery_process(delivery_id=ProviderDelivery.objects.get().pk)
    conversation = delivery.conversation
    assert (conversation.channel, conversation.origin, conversation.contact) == ("voice", "voice", contact)
    assert conversation.context_variables["intent"] == {"value": "router_fault", "isDisplayable": True}
    assert "my router is blinking red" in conversation.messages.get(sender="customer").text
    notification = Notification.objects.get(agent=agent)
    assert (notification.scenario, notification.title) == ("incoming_voice", "Incoming call")


@pytest.mark.parametrize("case", ["unsigned", "forged", "bad_context", "no_transcript"])
def test_bad_hand_offs_are_refused_and_store_nothing(client, case):
    # spec: VOI-1, REL-3
    _voice_channel()
    params = _call()
    if case == "unsigned":
        response = _post(client, params, signature="")
    elif case == "forged":
        response = _post(client, params, signature=twilio_sign(PUBLIC + VOICE, {**params, "From": "+14155550999"}))
    elif case == "bad_context":
        response = _post(client, {**params, "Context": "[1, 2]"})
    else:
        response = _post(client, {**params, "Transcript": ""})
    assert response.status_code == (403 if case in ("unsigned", "forged") else 400)
    assert ProviderDelivery.objects.count() == 0


def test_an_sms_channel_does_not_take_calls(client):
    # spec: VOI-1
    sms_setup()  # an SMS channel on the same number
    assert _post(client, _call()).status_code == 403
    assert ProviderDelivery.objects.count() == 0
