"""The composer in a real browser (issue 15): / and a shortcut inserts a canned reply with its
placeholders filled, the agent edits and sends it; Enter sends and Shift+Enter breaks the line;
a draft survives a reload; a private note is posted; a required wrap-up code blocks the close
until chosen."""

from playwright.sync_api import expect

from conversations.models import Conversation, ConversationNote, Message
from tests.conversations.factories import CannedResponseFactory, WrapUpCodeFactory
from tests.conversations.test_workspace_pages import chat_given_to
from tests.customers.factories import ContactFactory
from tests.e2e.test_live_chat import TIMEOUT
from tests.e2e.test_workspace_alerts import elsewhere
from tests.e2e.workspace import sign_in_available
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, presence


def connected(page) -> None:
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)


def test_canned_reply_enter_and_draft_note_and_wrap_up_code(browser, asgi_server):
    # spec: issue 15
    agent = AgentProfileFactory(display_name="Ada", presence=presence("offline"))
    contact = ContactFactory(first_name="Ana", last_name="Lima")
    conversation = elsewhere(chat_given_to, agent=agent, contact=contact)
    CannedResponseFactory(title="Thanks", shortcut="thanks", text="Thanks {customer_name}, {agent_name} here.")
    CannedResponseFactory(title="Bye", shortcut="bye", text="Goodbye {customer_name}!")
    resolved = WrapUpCodeFactory(workstream=conversation.workstream, required=True, name="Resolved")
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_available(page, agent)
        page.goto(f"/workspace/conversations/{conversation.pk}/")
        connected(page)
        composer = page.get_by_test_id("composer")

        # "/" and the shortcut: the listbox offers it; Enter inserts it filled; the agent edits and sends.
        composer.press_sequentially("/than")
        options = page.get_by_test_id("canned-option")
        expect(options).to_have_count(1, timeout=TIMEOUT)
        expect(options.first).to_have_attribute("aria-selected", "true")
        expect(composer).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
        composer.press("Enter")
        expect(composer).to_have_value("Thanks Ana Lima, Ada here.")
        expect(page.get_by_test_id("canned-list")).to_be_hidden()
        composer.press("End")
        composer.press_sequentially(" How can I help?")
        composer.press("Enter")
        wait_until(lambda: Message.objects.filter(text="Thanks Ana Lima, Ada here. How can I help?").exists())
        expect(composer).to_have_value("")

        # The picker: search, arrow keys, Escape back to the composer with nothing inserted.
        page.get_by_test_id("canned-open").click()
        expect(page.get_by_test_id("canned-search")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        page.keyboard.press("Escape")
        expect(composer).to_be_focused()
        expect(composer).to_have_value("")

        # Shift+Enter is a new line, not a send; the draft is still there after a reload.
        composer.press_sequentially("Line one")
        composer.press("Shift+Enter")
        composer.press_sequentially("Line two")
        expect(composer).to_have_value("Line one\nLine two")
        page.reload()
        connected(page)
        expect(composer).to_have_value("Line one\nLine two")
        composer.press("Enter")
        wait_until(lambda: Message.objects.filter(text="Line one\nLine two").exists())
        page.reload()
        connected(page)
        expect(composer).to_have_value("")  # sent: the draft is gone

        # A private note: in the thread, styled apart, never a message.
        composer.fill("VIP customer, be nice")
        page.get_by_test_id("post-note").click()
        note = page.get_by_test_id("note")
        expect(note).to_contain_text("VIP customer, be nice", timeout=TIMEOUT)
        expect(note.get_by_test_id("note-badge")).to_be_visible()
        assert ConversationNote.objects.filter(conversation=conversation).count() == 1
        assert not Message.objects.filter(text__contains="VIP").exists()

        # End, then close without the required code: refused, it stays in wrap-up; with it, closed.
        page.get_by_test_id("end-conversation").click()
        expect(page.get_by_test_id("conversation-status")).to_have_attribute("data-status", "wrap_up", timeout=TIMEOUT)
        page.get_by_test_id("close-conversation").click()
        expect(page.get_by_test_id("chat-error")).to_have_text(
            "Choose a wrap-up code before closing this conversation.", timeout=TIMEOUT
        )
        assert Conversation.objects.get(pk=conversation.pk).status == "wrap_up"
        page.get_by_label("Wrap-up code").select_option(label="Resolved")
        page.get_by_test_id("close-conversation").click()
        expect(page.get_by_test_id("conversation-status")).to_have_attribute("data-status", "closed", timeout=TIMEOUT)
        closed = Conversation.objects.get(pk=conversation.pk)
        assert (closed.status, closed.wrap_up_code_id) == ("closed", resolved.pk)
    finally:
        page.context.close()
