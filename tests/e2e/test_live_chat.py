"""Live chat end to end in a real browser: a customer on another website, an agent in the
workspace (WID-1..4, WID-6, WID-11, LIVE-1..3, NOT-4, NOT-13, SUM-6, SUM-10, SUM-13, SEC-2)."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.e2e.workspace import TIMEOUT, customer_starts_chat, host_page, kettle_shop, sign_in_available


@pytest.fixture
def live_chat(asgi_server, host_site):
    return kettle_shop(asgi_server, host_site)


def test_a_customer_on_another_site_chats_live_with_an_agent(browser, asgi_server, host_site, live_chat):
    # spec: WID-2, WID-4, WID-6, WID-11, LIVE-1, LIVE-2, LIVE-3, NOT-4, NOT-13, SUM-6, SUM-10, SUM-13, SEC-2
    widget, agent = live_chat
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        # The agent signs in to the workspace and becomes Available.
        sign_in_available(agent_page, agent)

        # The customer opens the widget on the shop's page (another origin) despite its hostile CSS.
        customer_starts_chat(customer, host_site)
        expect(customer.get_by_test_id("prechat-error-name")).to_have_text(re.compile("required"), timeout=TIMEOUT)
        customer.get_by_test_id("prechat-field-name").fill("Grace <b>Hopper</b>")
        customer.get_by_test_id("prechat-field-topic").select_option("Orders")
        customer.get_by_test_id("prechat-submit").click()
        expect(customer.get_by_test_id("message").first).to_contain_text("number 1 in the queue", timeout=TIMEOUT)

        # The agent is notified, accepts, and sees the summary with answers and context.
        notification = agent_page.get_by_test_id("notification")
        expect(notification).to_be_visible(timeout=TIMEOUT)
        expect(notification).to_contain_text("Kettles")
        expect(agent_page.get_by_test_id("countdown")).to_be_visible()
        agent_page.get_by_test_id("notification-accept").click()
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("summary-queue")).to_have_text("Kettles")
        expect(agent_page.get_by_test_id("summary-channel")).to_contain_text("Live chat")
        agent_page.get_by_test_id("tab-prechat").click()
        expect(agent_page.get_by_test_id("prechat-answer-name")).to_contain_text("Grace <b>Hopper</b>")
        agent_page.get_by_test_id("tab-additional").click()
        expect(agent_page.get_by_test_id("context-cart_total")).to_contain_text("129.9")
        expect(agent_page.get_by_test_id("context-customer_tier")).to_have_count(0)

        # Both see each other's messages live; markup stays text.
        expect(customer.get_by_test_id("message").last).to_contain_text("Ada Agent joined", timeout=TIMEOUT)
        customer.get_by_test_id("composer").fill("My kettle <script>alert(1)</script> leaks")
        customer.get_by_test_id("send").click()
        customer_message = agent_page.locator("[data-testid=message][data-sender=customer]").last
        expect(customer_message).to_contain_text("My kettle <script>alert(1)</script> leaks", timeout=TIMEOUT)
        agent_page.get_by_test_id("composer").fill("Sorry to hear that! Which model is it?")
        agent_page.get_by_test_id("send").click()
        agent_message = customer.locator("[data-testid=message][data-sender=agent]").last
        expect(agent_message).to_contain_text("Which model is it?", timeout=TIMEOUT)

        # The customer ends the chat; the agent sees it and goes to wrap-up.
        customer.get_by_test_id("end-chat").click()
        customer.get_by_test_id("end-chat-confirm").click()
        expect(customer.get_by_test_id("chat-ended")).to_be_visible(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("customer-ended")).to_be_visible(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("conversation-status")).to_contain_text(re.compile("wrap", re.I))
        conversation = Conversation.objects.get(widget=widget)
        assert conversation.status == "wrap_up"
        assert list(conversation.messages.filter(sender__in=["customer", "agent"]).values_list("sender", "text")) == [
            ("customer", "My kettle <script>alert(1)</script> leaks"),
            ("agent", "Sorry to hear that! Which model is it?"),
        ]
        assert customer.evaluate("typeof window.$") == "function"  # the host page's globals untouched (WID-4)
    finally:
        agent_page.context.close()
        customer.context.close()


def test_a_page_on_an_origin_not_allowed_gets_no_chat(browser, asgi_server, other_site, live_chat):
    # spec: WID-3
    widget, _agent = live_chat
    other_site.pages["/checkout"] = host_page(asgi_server, widget)
    page = browser.new_context().new_page()
    try:
        page.goto(f"{other_site.origin}/checkout")
        page.wait_for_function("window.hostEvents.some(e => e.event === 'error')", timeout=TIMEOUT)
        errors = page.evaluate("window.hostEvents.filter(e => e.event === 'error').map(e => e.data.code)")
        assert "origin_not_allowed" in errors
        expect(page.get_by_test_id("chat-button")).to_have_count(0)
        assert not Conversation.objects.exists()
    finally:
        page.context.close()
