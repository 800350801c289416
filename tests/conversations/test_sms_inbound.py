"""Inbound SMS: signatures, refusals, idempotency, routing with NOT-15, contact match, opt-out."""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from conversations.channels.sms import provider_delivery_process
from conversations.errors import ConversationError
from conversations.models import Conversation, Message, OutboundSms, ProviderDelivery, SmsOptOut
from conversations.services import message_post
from customers.models import Contact
from notifications.models import Notification
from routing.models import WorkItem
from tests.conversations.sms_helpers import (
    CUSTOMER,
    FORM,
    INBOUND,
    PUBLIC,
    post_signed,
    sms_params,
    sms_setup,
    twilio_sign,
)

pytestmark = pytest.mark.django_db


def _receive(client, django_capture_on_commit_callbacks, params):
    """Post signed; run the routing the commit scheduled, as its task does."""
    with django_capture_on_commit_callbacks(execute=False):
        response = post_signed(client, params)
    delivery = ProviderDelivery.objects.filter(provider_id=params["MessageSid"]).first()
    if delivery is not None:
        with django_capture_on_commit_callbacks(execute=True):  # dispatch offers the work item
            provider_delivery_process(delivery_id=delivery.pk)
        delivery.refresh_from_db()
    return response, delivery


def _contact(first, last, mobile):
    contact = Contact(first_name=first, last_name=last, mobile_phone=mobile)
    contact.full_clean()
    contact.save()
    return contact


def test_a_signed_text_starts_an_sms_conversation_routed_with_the_sms_notification(
    client, django_capture_on_commit_callbacks
):
    # spec: SMS-1, SMS-2, NOT-15
    channel, agent = sms_setup()
    contact = _contact("Ann", "Lee", "(415) 555-0123")  # stored as +14155550123
    response, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params(body="Where is my parcel?"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    conversation = delivery.conversation
    assert (conversation.channel, conversation.origin, conversation.phone_channel) == ("sms", "sms", channel)
    assert conversation.customer_phone == CUSTOMER
    assert conversation.contact == contact  # a unique mobile-phone match links (SMS-2)
    assert list(conversation.messages.values_list("sender", "text")) == [("customer", "Where is my parcel?")]
    item = WorkItem.objects.get(conversation=conversation)
    assert item.workstream == channel.workstream
    notification = Notification.objects.get(agent=agent, work_item_id=item.pk)
    assert notification.scenario == "incoming_sms"
    assert notification.title == "Incoming SMS"
    assert {"header": "Customer", "value": "Ann Lee"} in notification.fields


def test_a_second_text_continues_the_open_conversation_of_that_number(client, django_capture_on_commit_callbacks):
    # spec: SMS-1
    sms_setup()
    _r, first = _receive(client, django_capture_on_commit_callbacks, sms_params(body="One"))
    _r, second = _receive(client, django_capture_on_commit_callbacks, sms_params(body="Two"))
    assert second.conversation == first.conversation
    assert list(first.conversation.messages.values_list("text", flat=True)) == ["One", "Two"]
    assert WorkItem.objects.count() == 1
    _r, other = _receive(client, django_capture_on_commit_callbacks, sms_params(body="Hi", sender="+14155550999"))
    assert other.conversation != first.conversation


@pytest.mark.parametrize(
    "case",
    ["unsigned", "forged", "changed_body", "wrong_url", "wrong_token", "unknown_number", "unknown_account", "json"],
)
def test_unsigned_forged_and_unknown_requests_are_refused_and_store_nothing(client, case):
    # spec: SMS-1
    sms_setup()
    params = sms_params()
    signature = twilio_sign(PUBLIC + INBOUND, params)
    if case == "unsigned":
        signature = ""
    elif case == "forged":
        signature = "bm90IGEgcmVhbCBzaWduYXR1cmU="
    elif case == "changed_body":  # replayed with another text
        params = {**params, "Body": "Send the refund to my other account"}
    elif case == "wrong_url":
        signature = twilio_sign("https://evil.example.com" + INBOUND, params)
    elif case == "wrong_token":
        signature = twilio_sign(PUBLIC + INBOUND, params, token="someone-elses-token")
    elif case == "unknown_number":
        params = {**params, "To": "+14155550777"}
        signature = twilio_sign(PUBLIC + INBOUND, params)
    elif case == "unknown_account":
        params = {**params, "AccountSid": "AC" + "9" * 32}
        signature = twilio_sign(PUBLIC + INBOUND, params)
    if case == "json":
        response = client.post(INBOUND, params, content_type="application/json", HTTP_X_TWILIO_SIGNATURE=signature)
    else:
        response = client.post(INBOUND, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert ProviderDelivery.objects.count() == 0
    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "change, error",
    [
        ({"From": ""}, b"From"),
        ({"MessageSid": ""}, b"MessageSid"),
        ({"Body": "", "NumMedia": "0"}, b"neither"),
        ({"NumMedia": "two"}, b"NumMedia"),
        ({"NumMedia": "1"}, b"MediaUrl0"),
        ({"Body": "x" * (29 * 1024)}, b"KB"),
    ],
)
def test_a_signed_request_with_unusable_content_gets_400_and_stores_nothing(client, change, error):
    # spec: SMS-1, REL-3
    sms_setup()
    params = {**sms_params(), **change}
    response = post_signed(client, params)
    assert response.status_code == 400
    assert error in response.content
    assert ProviderDelivery.objects.count() == 0


def test_the_same_message_sid_delivered_twice_is_stored_once(client, django_capture_on_commit_callbacks):
    # spec: SMS-3
    sms_setup()
    params = sms_params(sid="SM" + "a" * 32)
    _receive(client, django_capture_on_commit_callbacks, params)
    response, delivery = _receive(client, django_capture_on_commit_callbacks, params)
    assert response.status_code == 200  # the provider must not retry again
    assert ProviderDelivery.objects.count() == 1
    assert Message.objects.filter(sender="customer").count() == 1
    provider_delivery_process(delivery_id=delivery.pk)  # the task running twice changes nothing
    assert Message.objects.filter(sender="customer").count() == 1


def test_media_urls_become_the_text_of_a_picture_message(client, django_capture_on_commit_callbacks):
    # spec: SMS-1
    sms_setup()
    params = sms_params(body="", NumMedia="1", MediaUrl0="https://media.example.com/p/1.jpg")
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, params)
    assert delivery.message.text == "https://media.example.com/p/1.jpg"


def test_several_contacts_with_the_number_are_offered_and_none_linked(client, django_capture_on_commit_callbacks):
    # spec: SMS-2
    sms_setup()
    first = _contact("Ann", "Lee", "+1 415 555 0123")
    second = _contact("Bob", "Lee", "4155550123")
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params())
    conversation = delivery.conversation
    assert conversation.contact is None
    note = conversation.messages.get(sender="system", text__startswith="Several contacts").text
    assert f"Ann Lee (#{first.pk})" in note and f"Bob Lee (#{second.pk})" in note
    assert conversation.events.get(kind="linked").data == {"candidates": [first.pk, second.pk]}


def test_the_agent_picks_one_of_several_matching_contacts_in_the_workspace(client, django_capture_on_commit_callbacks):
    # spec: SMS-2
    channel, agent = sms_setup()
    first = _contact("Ann", "Lee", "+1 415 555 0123")
    second = _contact("Bob", "Lee", "4155550123")
    _contact("Cy", "Other", "+14155550199")
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params())
    conversation = delivery.conversation
    _activate(conversation, agent)
    client.force_login(agent.user)
    page = f"/workspace/conversations/{conversation.pk}/"
    html = client.get(page).content.decode()
    assert 'data-testid="contact-candidates"' in html
    found = re.findall(r'data-testid="contact-candidate" data-id="(\d+)">\s*<span[^>]*>([^<]*)</span>', html)
    assert found == [(str(first.pk), "Ann Lee"), (str(second.pk), "Bob Lee")]  # not the other number
    assert html.count('data-testid="link-candidate"') == 2
    link_url = reverse("conversations:summary:link", args=[conversation.pk])
    assert f'data-url="{link_url}"' in html
    # The Link button uses the summary's link endpoint; afterwards the choice is gone.
    response = client.post(link_url, {"kind": "contact", "id": second.pk}, content_type="application/json")
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.contact_id == second.pk
    assert 'data-testid="contact-candidates"' not in client.get(page).content.decode()


def test_the_pick_is_offered_read_only_to_who_does_not_hold_it(client, django_capture_on_commit_callbacks):
    # spec: SMS-2, SEC-1
    from tests.routing.factories import SupervisorFactory

    channel, agent = sms_setup()
    _contact("Ann", "Lee", "+1 415 555 0123")
    _contact("Bob", "Lee", "4155550123")
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params())
    _activate(delivery.conversation, agent)
    client.force_login(SupervisorFactory().user)
    html = client.get(f"/workspace/conversations/{delivery.conversation.pk}/").content.decode()
    assert html.count('data-testid="contact-candidate"') == 2
    assert 'data-testid="link-candidate"' not in html


def test_no_matching_contact_leaves_it_unlinked(client, django_capture_on_commit_callbacks):
    # spec: SMS-2
    sms_setup()
    _contact("Ann", "Lee", "+14155550199")
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params())
    assert delivery.conversation.contact is None
    assert delivery.conversation.messages.filter(sender="system", text__startswith="Several").count() == 0


def _activate(conversation, agent):
    Conversation.objects.filter(pk=conversation.pk).update(status="active", agent=agent)


def test_stop_opts_the_customer_out_until_start(client, django_capture_on_commit_callbacks):
    # spec: SMS-1
    channel, agent = sms_setup()
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params(body="Hi"))
    conversation = delivery.conversation
    _activate(conversation, agent)
    _receive(client, django_capture_on_commit_callbacks, sms_params(body=" stop "))
    assert SmsOptOut.objects.filter(channel=channel, phone_number=CUSTOMER).exists()
    assert conversation.messages.filter(sender="system", text__contains="opted out").exists()
    before = Message.objects.count()
    with pytest.raises(ConversationError) as refused:
        message_post(conversation_id=conversation.pk, sender="agent", text="Are you there?", agent=agent)
    assert refused.value.code == "sms_opted_out"
    assert Message.objects.count() == before and OutboundSms.objects.count() == 0  # nothing stored
    _receive(client, django_capture_on_commit_callbacks, sms_params(body="START"))
    assert not SmsOptOut.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        message, _created = message_post(
            conversation_id=conversation.pk, sender="agent", text="Welcome back", agent=agent
        )
    assert message.outbound_sms.status == "pending"


def test_an_opt_out_word_alone_starts_no_conversation(client, django_capture_on_commit_callbacks):
    # spec: SMS-1
    sms_setup()
    _r, delivery = _receive(client, django_capture_on_commit_callbacks, sms_params(body="UNSUBSCRIBE"))
    assert delivery.processed_at is not None
    assert Conversation.objects.count() == 0
    assert SmsOptOut.objects.count() == 1


def test_the_admin_keeps_the_token_write_only_and_shows_the_webhook_url(admin_client):
    # spec: SMS-1
    channel, _agent = sms_setup()
    page = admin_client.get(reverse("admin:conversations_phonechannel_change", args=[channel.pk]))
    assert page.status_code == 200
    assert channel.auth_token.encode() not in page.content
    assert f"{PUBLIC}{INBOUND}".encode() in page.content
    from tests.admin_helpers import admin_form_data

    data = admin_form_data(page)
    data["auth_token"] = ""
    data["name"] = "Renamed line"
    response = admin_client.post(reverse("admin:conversations_phonechannel_change", args=[channel.pk]), data)
    assert response.status_code == 302, response.content[:2000]
    channel.refresh_from_db()
    assert (channel.name, channel.auth_token) == ("Renamed line", "test-auth-token-0123456789abcdef")
