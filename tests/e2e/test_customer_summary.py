"""The customer summary in a real browser: a known customer chats from the shop's site, the agent
accepts and sees who they are, links a case, writes a quick note, switches the timeline, and
creates a contact for an unknown visitor (SUM-1..16, NOT-13)."""

import re
import threading

import pytest
from playwright.sync_api import expect

from conversations import customer_links
from conversations.models import Conversation
from customers.models import Case, Contact, Note
from tests.conversations.factories import ConversationFactory
from tests.customers.factories import AccountFactory, CaseFactory, ContactFactory, NoteFactory
from tests.e2e.workspace import TIMEOUT, accept_offer, kettle_shop, sign_in_available
from tests.live import wait_until
from widgets.models import SelfServiceAction


@pytest.fixture
def shop(asgi_server, host_site):
    widget, agent = kettle_shop(asgi_server, host_site, questions=("name", "email"))
    # The known customer: a contact with an account, cases, notes and an earlier conversation.
    account = AccountFactory(name="Globex")
    marta = ContactFactory(first_name="Marta", last_name="Nowak", email="marta@example.com", account=account)
    kettle = CaseFactory(contact=marta, title="Broken kettle")
    NoteFactory(contact=None, case=kettle, text="Replacement sent by courier")
    CaseFactory(contact=marta, title="Late delivery")
    NoteFactory(contact=marta, text="Prefers to be called in the morning")
    ConversationFactory(workstream=widget.workstream, contact=marta, status="closed")
    return widget, agent, marta, kettle


def start_chat(customer, name: str, email: str) -> None:
    customer.get_by_test_id("chat-button").click()
    customer.get_by_test_id("prechat-field-name").fill(name)
    customer.get_by_test_id("prechat-field-email").fill(email)
    customer.get_by_test_id("prechat-submit").click()
    expect(customer.get_by_test_id("message").first).to_contain_text("in the queue", timeout=TIMEOUT)


def accept(agent_page) -> int:
    agent_page.goto("/workspace/")
    expect(agent_page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    accept_offer(agent_page)
    return int(re.search(r"/conversations/(\d+)/", agent_page.url).group(1))


def test_an_agent_sees_and_works_the_customer_summary_of_a_known_customer(browser, asgi_server, host_site, shop):
    # spec: SUM-1, SUM-2, SUM-3, SUM-4, SUM-5, SUM-8, SUM-9, SUM-10, SUM-11, SUM-12
    # spec: SUM-13, SUM-14, SUM-15, SUM-16, NOT-13
    widget, agent, marta, kettle = shop
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    stranger = browser.new_context().new_page()
    try:
        sign_in_available(agent_page, agent)

        # Before chatting, the host page logs what the customer did (the page itself logs a search).
        customer.goto(f"{host_site.origin}/checkout")
        wait_until(lambda: SelfServiceAction.objects.count() == 1)
        customer.evaluate(
            """async () => {
                await window.OmnichannelChat.logAction("articleViewed", "Descaling your kettle");
                await window.OmnichannelChat.logAction("customAction", "Compared <b>kettles</b>");
            }"""
        )
        start_chat(customer, "Marta", "MARTA@example.com")

        # The agent accepts: the typed email is only a claim, so the summary suggests Marta and
        # shows none of her records until the agent confirms the match (SUM-5; issue 10, defect 7).
        conversation_id = accept(agent_page)
        expect(agent_page.get_by_test_id("possible-match-label")).to_have_text(
            "Possible match: Marta Nowak — unverified", timeout=TIMEOUT
        )
        expect(agent_page.get_by_test_id("customer-contact-email")).to_have_count(0)
        expect(agent_page.get_by_test_id("customer-account-name")).to_have_count(0)
        agent_page.get_by_test_id("confirm-match").focus()
        agent_page.keyboard.press("Enter")  # a real button: the keyboard confirms it too
        expect(agent_page.get_by_test_id("customer-contact-name")).to_have_text("Marta Nowak", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("customer-contact-email")).to_have_text("marta@example.com")
        expect(agent_page.get_by_test_id("customer-account-name")).to_have_text("Globex")
        expect(agent_page.get_by_test_id("summary-queue")).to_have_text("Kettles")
        expect(agent_page.get_by_test_id("prechat-answer-email")).to_have_text("MARTA@example.com")
        agent_page.get_by_test_id("tab-selfservice").click()
        expect(agent_page.get_by_test_id("self-service-title")).to_have_text(
            ["Compared <b>kettles</b>", "Descaling your kettle", "where is my parcel"]
        )
        agent_page.get_by_test_id("tab-visitor").click()
        expect(agent_page.get_by_test_id("visitor-browser")).to_contain_text("Chrome")
        expect(agent_page.get_by_test_id("visitor-authenticated")).to_have_text("No")
        agent_page.get_by_test_id("tab-additional").click()
        expect(agent_page.get_by_test_id("context-cart_total")).to_contain_text("129.9")
        expect(agent_page.get_by_test_id("recent-case")).to_have_count(2)
        timeline = agent_page.get_by_test_id("timeline")
        expect(timeline).to_contain_text("Prefers to be called in the morning")
        expect(timeline).to_contain_text("Broken kettle")

        # The agent links the open case found by searching, and writes a quick note.
        agent_page.get_by_test_id("case-search").fill("broken")
        agent_page.get_by_test_id("case-search-results").get_by_test_id("search-result").first.click(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("linked-case-title")).to_have_text("Broken kettle", timeout=TIMEOUT)
        agent_page.get_by_test_id("quick-note").fill("Promised a <refund> today")
        agent_page.get_by_test_id("quick-note-save").click()
        expect(agent_page.get_by_test_id("timeline-item").first).to_contain_text(
            "Promised a <refund> today", timeout=TIMEOUT
        )
        assert Note.objects.get(text="Promised a <refund> today").contact_id == marta.pk

        # The linked-records selector switches the timeline to the case's activities.
        agent_page.get_by_test_id("timeline-record").select_option("case")
        expect(timeline).to_contain_text("Replacement sent by courier", timeout=TIMEOUT)
        expect(timeline).not_to_contain_text("Prefers to be called in the morning")
        conversation = Conversation.objects.get(pk=conversation_id)
        assert (conversation.contact_id, conversation.case_id) == (marta.pk, kettle.pk)

        # Live: a change made elsewhere shows without a reload (SUM-9). (Another thread: this one
        # runs Playwright's event loop, from which no event could be published.)
        elsewhere = threading.Thread(
            target=customer_links.conversation_record_unlink,
            kwargs={"conversation_id": conversation_id, "kind": "case", "by": agent.user},
        )
        elsewhere.start()
        elsewhere.join(10)
        expect(agent_page.get_by_test_id("no-case")).to_be_visible(timeout=TIMEOUT)

        # An unknown visitor chats; the agent creates a contact for them in place.
        stranger.goto(f"{host_site.origin}/checkout")
        start_chat(stranger, "Newcomer", "new@example.com")
        stranger_id = accept(agent_page)
        expect(agent_page.get_by_test_id("no-customer")).to_be_visible(timeout=TIMEOUT)
        agent_page.get_by_test_id("new-contact").locator("summary").click()
        agent_page.get_by_test_id("new-contact-save").click()
        expect(agent_page.get_by_test_id("new-contact").locator("[data-form-error]")).to_contain_text("last_name")
        agent_page.get_by_test_id("new-contact-first_name").fill("Nina")
        agent_page.get_by_test_id("new-contact-last_name").fill("Newcomer")
        agent_page.get_by_test_id("new-contact-email").fill("new@example.com")
        agent_page.get_by_test_id("new-contact-save").click()
        expect(agent_page.get_by_test_id("customer-contact-name")).to_have_text("Nina Newcomer", timeout=TIMEOUT)
        created = Contact.objects.get(last_name="Newcomer")
        assert Conversation.objects.get(pk=stranger_id).contact_id == created.pk
        assert Case.objects.count() == 2
    finally:
        agent_page.context.close()
        customer.context.close()
        stranger.context.close()
