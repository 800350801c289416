"""The agent's working day in one go, in a real browser (issue 15's "done when"): the agent types
``/`` and a shortcut, edits and sends the canned reply; posts a private note; tags the
conversation; ends it with a wrap-up code; finds it again
by a word of the customer's message; and the inbox counts change live
as a second customer writes.

One browser context: the agent's pages on the product's origin and two customers on two shop
origins (each origin its own storage, so two visitors)."""

import re

from playwright.sync_api import expect

from conversations.models import Conversation, ConversationNote, Message
from tests.conversations.factories import CannedResponseFactory, TagFactory, WrapUpCodeFactory
from tests.e2e.test_inbox_search import customer_writes, start_chat
from tests.e2e.workspace import TIMEOUT, accept_offer, host_page, search_by_words, sign_in_available
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory


def connected(page) -> None:
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)


def test_an_agents_working_day(browser, asgi_server, host_site, other_site):
    # spec: issue 15 (SEC-1, SEC-2 on the way)
    queue = QueueFactory(name="Blenders")
    workstream = WorkstreamFactory(name="Shop chat", default_queue=queue, capacity_units=10)
    widget = ChatWidgetFactory(workstream=workstream, origins=[host_site.origin, other_site.origin])
    for site in (host_site, other_site):
        site.pages["/shop"] = host_page(asgi_server, widget)
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    CannedResponseFactory(title="Thanks", shortcut="thanks", text="Thanks for waiting, {agent_name} here.")
    resolved = WrapUpCodeFactory(workstream=workstream, required=True, name="Resolved")
    WrapUpCodeFactory(workstream=workstream, name="Call back")
    TagFactory(name="Damaged", colour="#fde68a")

    context = browser.new_context(base_url=asgi_server.url)
    agent_page = context.new_page()
    first, second = context.new_page(), context.new_page()
    try:
        sign_in_available(agent_page, agent)
        start_chat(first, host_site, "My blender arrived <b>cracked</b> and leaking")
        accept_offer(agent_page)
        damaged = Conversation.objects.get(widget=widget)
        connected(agent_page)

        # "/" and the shortcut, Enter inserts it filled; the agent edits it and sends it with Enter.
        composer = agent_page.get_by_test_id("composer")
        composer.press_sequentially("/than")
        expect(agent_page.get_by_test_id("canned-option")).to_have_count(1, timeout=TIMEOUT)
        composer.press("Enter")
        expect(composer).to_have_value("Thanks for waiting, Ada Agent here.")
        composer.press("End")
        composer.press_sequentially(" Is the jug cracked too?")
        composer.press("Enter")
        reply = "Thanks for waiting, Ada Agent here. Is the jug cracked too?"
        expect(first.get_by_text(reply)).to_be_visible(timeout=TIMEOUT)  # the customer has it

        # A private note: in the agent's thread, styled apart; never on the customer's side.
        composer.fill("Photos show a cracked jug: replace it")
        agent_page.get_by_test_id("post-note").click()
        expect(agent_page.get_by_test_id("note")).to_contain_text("replace it", timeout=TIMEOUT)
        assert ConversationNote.objects.filter(conversation=damaged).count() == 1

        # A tag, added with the keyboard.
        agent_page.get_by_test_id("tag-select").select_option(label="Damaged")
        agent_page.get_by_test_id("tag-add").focus()
        agent_page.keyboard.press("Enter")
        chips = agent_page.get_by_test_id("tag-list").get_by_test_id("tag-chip")
        expect(chips).to_have_text(["Damaged"], timeout=TIMEOUT)

        # End, then close with the required wrap-up code.
        agent_page.get_by_test_id("end-conversation").click()
        status = agent_page.get_by_test_id("conversation-status")
        expect(status).to_have_attribute("data-status", "wrap_up", timeout=TIMEOUT)
        agent_page.get_by_label("Wrap-up code").select_option(label="Resolved")
        agent_page.get_by_test_id("close-conversation").click()
        expect(status).to_have_attribute("data-status", "closed", timeout=TIMEOUT)
        closed = Conversation.objects.get(pk=damaged.pk)
        assert (closed.status, closed.wrap_up_code_id) == ("closed", resolved.pk)
        assert not first.get_by_text("replace it").count()  # the note never reached the customer

        # Found again by a word the customer wrote, the word marked, their markup as text.
        result = search_by_words(agent_page, "leaking")
        expect(result).to_have_count(1, timeout=TIMEOUT)
        expect(result).to_have_attribute("data-conversation-id", str(damaged.pk))
        expect(result.get_by_test_id("tag-chip")).to_have_text(["Damaged"])
        snippet = result.get_by_test_id("search-snippet")
        expect(snippet.locator("mark")).to_have_text(re.compile("leaking"))
        expect(snippet.locator("b")).to_have_count(0)
        result.get_by_role("link").click()
        agent_page.wait_for_url(f"**/workspace/conversations/{damaged.pk}/", timeout=TIMEOUT)

        # A second customer: the agent takes the chat, then works from the inbox, whose counts,
        # row and the browser tab's title follow the customer's messages live.
        connected(agent_page)
        start_chat(second, other_site, "Hello, a question about my order")
        agent_page.get_by_test_id("notification-accept").click(timeout=TIMEOUT)
        wait_until(lambda: Conversation.objects.filter(widget=widget).count() == 2)
        other = Conversation.objects.filter(widget=widget).exclude(pk=damaged.pk).get()
        assert other.visitor_id != damaged.visitor_id  # two customers, one browser context
        agent_page.wait_for_url(f"**/workspace/conversations/{other.pk}/", timeout=TIMEOUT)
        expect(agent_page.locator("[data-testid=message][data-sender=customer]").last).to_contain_text(
            "a question about my order", timeout=TIMEOUT
        )
        agent_page.goto("/workspace/")
        connected(agent_page)
        expect(agent_page.get_by_test_id("inbox-count-mine")).to_have_text("1", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-count-closed")).to_have_text("1")
        expect(agent_page.get_by_test_id("inbox-unread")).to_have_attribute("data-count", "0")
        base_title = agent_page.title()
        customer_writes(second, "Are you still there?")
        expect(agent_page).to_have_title(f"(1) {base_title}", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread")).to_have_attribute("data-count", "1", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread-count")).to_have_text("1 unread", timeout=TIMEOUT)
        customer_writes(second, "Hello?")
        expect(agent_page).to_have_title(f"(2) {base_title}", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("inbox-unread")).to_have_attribute("data-count", "2", timeout=TIMEOUT)
        assert Message.objects.filter(conversation=other, sender="customer").count() == 3
    finally:
        context.close()
