"""SMS test helpers: a channel, and requests signed by Twilio's own library (the independent
implementation of X-Twilio-Signature)."""

import uuid
from urllib.parse import urlencode

import factory
from twilio.request_validator import RequestValidator

from agents.models import AgentConnection
from conversations.models import PhoneChannel
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-auth-token-0123456789abcdef"
OUR_NUMBER = "+14155550100"
CUSTOMER = "+14155550123"
PUBLIC = "https://sms.example.com"
INBOUND = "/channels/twilio/sms/inbound/"
VOICE = "/channels/twilio/voice/handoff/"
FORM = "application/x-www-form-urlencoded"


class PhoneChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneChannel

    name = factory.Sequence(lambda n: f"SMS line {n}")
    kind = PhoneChannel.Kind.SMS
    account_sid = ACCOUNT
    auth_token = TOKEN
    phone_number = OUR_NUMBER
    workstream = factory.SubFactory(WorkstreamFactory, channel="sms", chat_mode="")
    public_base_url = PUBLIC


def sms_setup(**channel):
    """An SMS channel whose workstream's queue has one available agent."""
    queue = QueueFactory()
    workstream = WorkstreamFactory(channel="sms", chat_mode="", default_queue=queue, name=f"SMS {uuid.uuid4().hex[:6]}")
    channel = PhoneChannelFactory(workstream=workstream, **channel)
    agent = AgentProfileFactory(queues=[queue])
    # Reachable: a workspace page is open (only reachable agents are offered work, ROU-8).
    AgentConnection.objects.create(agent=agent, channel_name=f"test.workspace.{agent.pk}")
    return channel, agent


def sms_params(*, body="Hello, where is my parcel?", sid=None, sender=CUSTOMER, to=OUR_NUMBER, **extra) -> dict:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def twilio_sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, params: dict, *, path=INBOUND, base=PUBLIC, signature=None):
    signature = twilio_sign(base + path, params) if signature is None else signature
    return client.post(path, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)
