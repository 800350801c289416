"""SMS end to end in a real browser (SMS-1, SMS-2, NOT-15): the stand-in provider posts a signed
inbound text to our webhook, the agent is notified and accepts, sees the contact matched by the
mobile phone, replies, the reply reaches the stand-in, and its delivered status shows on the
agent's message. Real parts: the ASGI server, a Celery worker, the stand-in over HTTP, Chromium."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, OutboundSms
from customers.models import Contact
from tests.conversations.sms_helpers import PhoneChannelFactory
from tests.e2e.workspace import TIMEOUT, sign_in_available
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory, presence

CUSTOMER = "+14155550123"


@pytest.fixture
def sms_desk(asgi_server, standin, sms_worker):
    queue = QueueFactory(name="Texts")
    workstream = WorkstreamFactory(name="SMS help", channel="sms", chat_mode="", default_queue=queue)
    channel = PhoneChannelFactory(workstream=workstream, public_base_url=asgi_server.url, api_base_url=standin.url)
    standin.webhook_base = asgi_server.url
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    contact = Contact(first_name="Ann", last_name="Lee", mobile_phone="(415) 555-0123")  # stored in E.164
    contact.full_clean()
    contact.save()
    return channel, agent, contact


def test_an_inbound_text_reaches_the_agent_who_replies_and_sees_it_delivered(
    browser,
    asgi_server,
    standin,
    sms_desk,
):
    # spec: SMS-1, SMS-2, NOT-15
    channel, agent, contact = sms_desk
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_available(page, agent)

        # The customer texts in; the stand-in posts it to our webhook, signed.
        assert standin.send_inbound(from_number=CUSTOMER, body="Is my parcel on its way?") == 200
        notification = page.get_by_test_id("notification")
        expect(notification).to_be_visible(timeout=TIMEOUT)
        expect(notification).to_contain_text("Ann Lee")  # NOT-15: the SMS template's customer field
        assert notification.get_attribute("data-kind") == "alert"
        page.get_by_test_id("notification-accept").click()
        page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)

        # SMS-2: matched by the mobile phone, in the chat header and the customer summary.
        expect(page.locator("#chat-heading")).to_have_text("Ann Lee")
        expect(page.get_by_test_id("customer-contact-name")).to_have_text("Ann Lee")
        expect(page.get_by_test_id("summary-channel")).to_contain_text("SMS")
        customer_message = page.locator("[data-testid=message][data-sender=customer]").last
        expect(customer_message).to_contain_text("Is my parcel on its way?")

        # The reply goes out through the provider; its status moves on the agent's message.
        page.get_by_test_id("composer").fill("Yes, it arrives tomorrow.")
        page.get_by_test_id("composer").press("Enter")
        wait_until(lambda: [m["body"] for m in standin.messages] == ["Yes, it arrives tomorrow."])
        assert standin.messages[0]["to"] == CUSTOMER
        mine = page.locator("[data-testid=message][data-sender=agent]").last
        expect(mine).to_contain_text("Yes, it arrives tomorrow.")
        delivery = mine.get_by_test_id("delivery")
        expect(delivery).to_have_attribute("data-status", "delivered", timeout=TIMEOUT)
        expect(delivery.get_by_test_id("delivery-label")).to_have_text("Delivered")
        expect(delivery).to_contain_text("Text message status:")  # said in words, not by colour alone

        # After a reload it reads the same.
        page.reload()
        delivery = page.locator("[data-testid=message][data-sender=agent]").last.get_by_test_id("delivery")
        expect(delivery).to_have_attribute("data-status", "delivered", timeout=TIMEOUT)
        expect(delivery.get_by_test_id("delivery-label")).to_have_text("Delivered")
        conversation = Conversation.objects.get(phone_channel=channel)
        assert conversation.contact_id == contact.pk
        assert OutboundSms.objects.get().provider_id == standin.messages[0]["sid"]
    finally:
        page.context.close()


def test_the_agent_links_one_of_several_matching_contacts_with_the_keyboard(
    browser,
    asgi_server,
    standin,
    sms_desk,
):
    # spec: SMS-2
    channel, agent, ann = sms_desk
    bob = Contact(first_name="Bob", last_name="Lee", mobile_phone="+1 415 555 0123", email="bob@example.com")
    bob.full_clean()
    bob.save()
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_available(page, agent)
        assert standin.send_inbound(from_number=CUSTOMER, body="Hi, it's me") == 200
        expect(page.get_by_test_id("notification")).to_be_visible(timeout=TIMEOUT)
        page.get_by_test_id("notification-accept").click()
        page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)

        picker = page.get_by_test_id("contact-candidates")
        expect(picker).to_be_visible()
        expect(picker.get_by_role("heading")).to_have_text("Several contacts have this mobile number")
        expect(picker.get_by_test_id("contact-candidate-name")).to_have_text(["Ann Lee", "Bob Lee"])
        # Keyboard only: Tab from the first Link button to the second, Enter links Bob.
        buttons = picker.get_by_role("button", name="Link")
        expect(buttons).to_have_count(2)
        buttons.first.focus()
        page.keyboard.press("Tab")
        expect(buttons.nth(1)).to_be_focused()
        page.keyboard.press("Enter")
        linked = page.get_by_test_id("contact-linked")
        expect(linked).to_have_text("Linked to Bob Lee.", timeout=TIMEOUT)
        expect(linked).to_be_focused()
        expect(page.get_by_test_id("contact-candidates")).to_have_count(0)
        expect(page.locator("#chat-heading")).to_have_text("Bob Lee")
        expect(page.get_by_test_id("customer-contact-name")).to_have_text("Bob Lee", timeout=TIMEOUT)  # SUM-9
        assert Conversation.objects.get(phone_channel=channel).contact_id == bob.pk
    finally:
        page.context.close()
