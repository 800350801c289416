"""One renderer for messages, seen in a real browser (issue 11; LIVE-2, ROU-15, SEC-2): a live
message in the workspace reads exactly as after a reload — the consultant's name, clickable
links, the time — and the controls that no longer apply go when the conversation ends, live."""

from django.db import transaction
from playwright.sync_api import expect

from conversations.handover import conversation_consultant_add
from conversations.services import conversation_customer_end
from conversations.services import message_post as post
from tests.conversations.test_workspace_pages import chat_given_to
from tests.e2e.test_live_chat import TIMEOUT
from tests.e2e.test_workspace_alerts import elsewhere
from tests.e2e.workspace import sign_in_available
from tests.routing.factories import AgentProfileFactory, presence


def outer_html(page, seq: int) -> str:
    message = page.locator(f'[data-testid=message][data-seq="{seq}"]')
    expect(message).not_to_have_attribute("data-pending", "", timeout=TIMEOUT)
    return message.evaluate("node => node.outerHTML")


@transaction.atomic
def consult(*, conversation, agent, consultant):
    # The conversation's side of a consult, without routing's toast to the consultant (ROU-15).
    conversation_consultant_add(conversation_id=conversation.pk, by_agent=agent, consultant=consultant, note="")


def test_live_messages_read_as_after_a_reload_and_ended_controls_go(browser, asgi_server):
    # spec: LIVE-2, ROU-15, SEC-2, LIVE-3
    agent = AgentProfileFactory(display_name="Ada Agent", presence=presence("offline"))
    consultant = AgentProfileFactory(display_name="Alice Consultant")
    conversation = elsewhere(chat_given_to, agent=agent)  # seq 1: "Ada Agent joined the chat."
    elsewhere(consult, conversation=conversation, agent=agent, consultant=consultant)  # seq 2
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_available(page, agent)
        page.goto(f"/workspace/conversations/{conversation.pk}/")
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        expect(page.get_by_test_id("handover-link")).to_be_visible()

        # The consultant writes a link; the holder sees their name, not "Agent".
        elsewhere(
            post,
            conversation_id=conversation.pk,
            sender="agent",
            text="Try https://shop.example.com/manual_(v2). <b>not bold</b>",
            sender_user=consultant.user,
            agent=consultant,
        )
        live = page.locator('[data-testid=message][data-seq="3"]')
        expect(live.get_by_test_id("message-sender")).to_have_text("Alice Consultant", timeout=TIMEOUT)
        link = live.get_by_role("link")
        expect(link).to_have_text("https://shop.example.com/manual_(v2)")
        expect(link).to_have_attribute("href", "https://shop.example.com/manual_(v2)")
        expect(link).to_have_attribute("target", "_blank")
        expect(live).to_contain_text("<b>not bold</b>")
        # The holder writes one too, through the composer.
        page.get_by_test_id("composer").fill("See https://shop.example.com/b.")
        page.get_by_test_id("send").click()
        own = page.locator('[data-testid=message][data-seq="4"]')
        expect(own.get_by_test_id("message-sender")).to_have_text("Ada Agent", timeout=TIMEOUT)
        expect(own.get_by_role("link")).to_have_attribute("href", "https://shop.example.com/b")
        live_html = {seq: outer_html(page, seq) for seq in (3, 4)}

        # The customer ends the chat: transfer, consult, the composer and End go without a reload.
        elsewhere(conversation_customer_end, conversation_id=conversation.pk)
        expect(page.get_by_test_id("customer-ended")).to_be_visible(timeout=TIMEOUT)
        for control in ("handover-link", "composer", "end-conversation"):
            expect(page.get_by_test_id(control)).to_be_hidden()
        expect(page.get_by_test_id("close-conversation")).to_be_visible()

        # After a reload: the same messages, to the character, and the same controls.
        page.reload()
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        assert {seq: outer_html(page, seq) for seq in (3, 4)} == live_html
        for control in ("handover-link", "composer", "end-conversation"):
            expect(page.get_by_test_id(control)).to_be_hidden()
    finally:
        page.context.close()
