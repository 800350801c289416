"""The agent's inbox, tags and search end to end in real browsers (issue 15): the inbox counts
and the browser tab's title change live as a second customer writes; the agent tags a
conversation and finds it again by a word of the customer's message (SEC-1, SEC-2)."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.conversations.factories import TagFactory
from tests.e2e.workspace import TIMEOUT, accept_offer, host_page, search_by_words, sign_in_available
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory


@pytest.fixture
def shop(asgi_server, host_site):
    queue = QueueFactory(name="Blenders")
    widget = ChatWidgetFactory(
        workstream=WorkstreamFactory(name="Shop chat", default_queue=queue, capacity_units=10),
        origins=[host_site.origin],
    )
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    host_site.pages["/shop"] = host_page(asgi_server, widget)
    return widget, agent


def customer_writes(page, text):
    page.get_by_test_id("composer").fill(text)
    page.get_by_test_id("send").click()


def start_chat(page, host_site, first_message):
    page.goto(f"{host_site.origin}/shop")
    page.get_by_test_id("chat-button").click()
    page.get_by_test_id("prechat-submit").click()
    expect(page.get_by_test_id("composer")).to_be_visible(timeout=TIMEOUT)
    customer_writes(page, first_message)


def test_the_inbox_follows_a_second_customer_and_a_tagged_chat_is_found_by_its_words(
    browser, asgi_server, host_site, shop
):
    # Issue 15; spec: SEC-1, SEC-2
    widget, agent = shop
    TagFactory(name="Damaged", colour="#fde68a")
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    try:
        sign_in_available(agent_page, agent)
        start_chat(first, host_site, "My blender arrived <b>cracked</b> and leaking")
        accept_offer(agent_page)
        damaged = Conversation.objects.get(widget=widget)

        # The agent tags it with the keyboard: the select, then Enter on the Add button.
        agent_page.get_by_test_id("tag-select").select_option(label="Damaged")
        agent_page.get_by_test_id("tag-add").focus()
        agent_page.keyboard.press("Enter")
        expect(agent_page.get_by_test_id("tag-list").get_by_test_id("tag-chip")).to_have_text(
            "Damaged", timeout=TIMEOUT
        )

        start_chat(second, host_site, "Hello, a question about my order")
        agent_page.get_by_test_id("notification-accept").click(timeout=TIMEOUT)
        wait_until(lambda: Conversation.objects.filter(widget=widget).count() == 2)
        other = Conversation.objects.filter(widget=widget).exclude(pk=damaged.pk).get()
        agent_page.wait_for_url(f"**/workspace/conversations/{other.pk}/", timeout=TIMEOUT)
        expect(agent_page.locator("[data-testid=message][data-sender=customer]").last).to_contain_text(
            "a question about my order", timeout=TIMEOUT
        )

        # On the dashboard: both are Mine and read (each page was opened after the customer wrote).
        agent_page.goto("/workspace/")
        expect(agent_page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-count-mine")).to_have_text("2", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread")).to_have_attribute("data-count", "0")
        base_title = agent_page.title()
        assert not base_title.startswith("(")
        row = agent_page.locator(f'[data-testid="inbox-row"][data-conversation-id="{damaged.pk}"]')
        expect(row.get_by_test_id("tag-chip")).to_have_text("Damaged")

        # The second customer writes: the counts, the row and the title follow live.
        customer_writes(second, "Are you still there?")
        expect(agent_page).to_have_title(f"(1) {base_title}", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread")).to_have_attribute("data-count", "1", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread-count")).to_have_text("1 unread", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-preview").first).to_have_text("Are you still there?")
        customer_writes(second, "Hello?")
        expect(agent_page).to_have_title(f"(2) {base_title}", timeout=TIMEOUT)

        # The agent finds the tagged chat again by a word the customer wrote, with the word marked.
        result = search_by_words(agent_page, "leaking")
        expect(result).to_have_count(1, timeout=TIMEOUT)
        expect(result).to_have_attribute("data-conversation-id", str(damaged.pk))
        expect(result.get_by_test_id("tag-chip")).to_have_text("Damaged")
        snippet = result.get_by_test_id("search-snippet")
        expect(snippet.locator("mark")).to_have_text(re.compile("leaking"))
        expect(snippet.locator("b")).to_have_count(0)  # SEC-2: the customer's markup is text
        result.get_by_role("link").click()
        agent_page.wait_for_url(f"**/workspace/conversations/{damaged.pk}/", timeout=TIMEOUT)
    finally:
        for page in (agent_page, first, second):
            page.context.close()
