"""Without a mouse (issue 17): the customer opens the widget, answers the pre-chat survey, writes
and ends the chat; the agent signs in, takes the alert, replies and ends — with Tab, Shift+Tab,
Enter, Escape and typing only, and the focus never lost to the page body on the way."""

import re

import pytest
from playwright.sync_api import expect

from agents.models import AgentProfile
from conversations.models import Conversation
from tests.e2e.workspace import TIMEOUT, kettle_shop
from tests.live import wait_until
from tests.routing.factories import PASSWORD

# What has the focus, looking into the widget's shadow root: its data-testid, name or tag; "body"
# when the focus is lost to the page.
FOCUSED = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a || a === document.body) return "body";
  return a.getAttribute("data-testid") || a.getAttribute("name") || a.tagName.toLowerCase();
}"""


# Whether the focused control shows it: an outline or a ring drawn with box-shadow.
FOCUS_SHOWN = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  const style = getComputedStyle(a);
  return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
}"""


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def assert_focus_shown(page) -> None:
    assert page.evaluate(FOCUS_SHOWN), f"{focused(page)} has the focus but shows no focus ring"


def expect_focus(page, name: str) -> None:
    page.wait_for_function(f"({FOCUSED})() === {name!r}", timeout=TIMEOUT)
    assert_focus_shown(page)


def tab_to(page, name: str, *, back: bool = False, limit: int = 40) -> None:
    """Tab (or Shift+Tab) until ``name`` has the focus; the focus is never on the body meanwhile."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        now = focused(page)
        seen.append(now)
        if now == name:
            return
        assert now != "body", f"the focus fell to the page body on the way to {name}: {seen}"
        assert_focus_shown(page)
    pytest.fail(f"{name} not reached with {'Shift+Tab' if back else 'Tab'} in {limit} steps: {seen}")


@pytest.fixture
def shop(asgi_server, host_site):
    return kettle_shop(asgi_server, host_site)


def customer_starts_a_chat(customer, name: str, first_message: str) -> None:
    """The survey answered and the first message sent, from the focus the pane gave."""
    expect_focus(customer, "prechat-field-name")  # the pane opened straight on its first question
    customer.keyboard.type(name)
    customer.keyboard.press("Tab")
    expect_focus(customer, "prechat-field-topic")
    customer.keyboard.press("ArrowDown")  # "Orders"
    tab_to(customer, "prechat-submit")
    customer.keyboard.press("Enter")
    expect_focus(customer, "composer")  # WID-5: straight to the message box
    customer.keyboard.type(first_message)
    customer.keyboard.press("Enter")


def agent_accepts(agent_page) -> None:
    """The alert shows without taking the focus; the shortcut goes to it, Escape back, Enter takes it."""
    expect(agent_page.get_by_test_id("notification")).to_be_visible(timeout=TIMEOUT)
    before = focused(agent_page)
    assert before != "body"
    agent_page.keyboard.press("Alt+Shift+N")
    expect_focus(agent_page, "notification-accept")
    agent_page.keyboard.press("Escape")
    expect_focus(agent_page, before)
    agent_page.keyboard.press("Alt+Shift+N")
    expect_focus(agent_page, "notification-accept")
    agent_page.keyboard.press("Enter")
    agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
    expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute("data-status", "active")
    expect_focus(agent_page, "composer")  # the chat's message box, ready for the reply


def test_a_customer_and_an_agent_chat_from_start_to_end_with_the_keyboard_only(browser, asgi_server, host_site, shop):
    # spec: WID-5, WID-10, LIVE-3, NOT-4
    widget, agent = shop
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        # The agent signs in and becomes Available from the keyboard.
        agent_page.goto("/workspace/")
        expect_focus(agent_page, "username")  # the sign-in form starts on its first field
        agent_page.keyboard.type(agent.user.username)
        agent_page.keyboard.press("Tab")
        agent_page.keyboard.type(PASSWORD)
        agent_page.keyboard.press("Enter")
        expect(agent_page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        tab_to(agent_page, "presence-select")
        agent_page.keyboard.type("Available")  # a select's type-ahead
        wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")

        # The customer tabs to the chat button and opens the pane.
        customer.goto(f"{host_site.origin}/checkout")
        expect(customer.get_by_test_id("chat-button")).to_be_visible(timeout=TIMEOUT)
        tab_to(customer, "chat-button")
        customer.keyboard.press("Enter")
        customer_starts_a_chat(customer, "Grace Hopper", "My kettle leaks")

        agent_accepts(agent_page)
        expect(agent_page.locator("[data-testid=message][data-sender=customer]")).to_contain_text(
            "My kettle leaks", timeout=TIMEOUT
        )
        agent_page.keyboard.type("Sorry to hear that! Which model is it?")
        agent_page.keyboard.press("Enter")
        expect(customer.locator("[data-testid=message][data-sender=agent]")).to_contain_text(
            "Which model is it?", timeout=TIMEOUT
        )

        # The customer ends the chat: End, then the confirmation, which has the focus.
        assert focused(customer) == "composer"
        tab_to(customer, "end-chat")
        customer.keyboard.press("Enter")
        expect_focus(customer, "end-chat-confirm")
        customer.keyboard.press("Enter")
        expect(customer.get_by_test_id("chat-ended")).to_be_visible(timeout=TIMEOUT)
        expect_focus(customer, "new-chat")  # the next thing to do, not the page body

        # The agent's message box went with the chat: the focus is on Close; Enter closes it.
        expect(agent_page.get_by_test_id("customer-ended")).to_be_visible(timeout=TIMEOUT)
        expect_focus(agent_page, "close-conversation")
        agent_page.keyboard.press("Enter")
        expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute(
            "data-status", "closed", timeout=TIMEOUT
        )
        assert focused(agent_page) != "body"
        first = Conversation.objects.get()
        assert first.status == "closed"
        assert list(first.messages.filter(sender__in=["customer", "agent"]).values_list("sender", "text")) == [
            ("customer", "My kettle leaks"),
            ("agent", "Sorry to hear that! Which model is it?"),
        ]

        # A second chat, which the agent ends: End, then Close, both from the keyboard.
        customer.keyboard.press("Enter")  # "Start a new chat"
        customer_starts_a_chat(customer, "Grace Hopper", "One more question")
        agent_page.goto("/workspace/")
        expect(agent_page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        # Nothing had the focus on the fresh page: the alert takes it.
        expect(agent_page.get_by_test_id("notification")).to_be_visible(timeout=TIMEOUT)
        expect_focus(agent_page, "notification-accept")
        agent_page.keyboard.press("Enter")
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        expect_focus(agent_page, "composer")
        agent_page.keyboard.type("Of course, ask away.")
        agent_page.keyboard.press("Enter")
        expect(customer.locator("[data-testid=message][data-sender=agent]").last).to_contain_text(
            "ask away", timeout=TIMEOUT
        )
        tab_to(agent_page, "end-conversation", back=True)
        agent_page.keyboard.press("Enter")
        expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute(
            "data-status", "wrap_up", timeout=TIMEOUT
        )
        expect_focus(agent_page, "close-conversation")
        expect(customer.get_by_test_id("chat-ended")).to_be_visible(timeout=TIMEOUT)
        assert focused(customer) != "body"
        agent_page.keyboard.press("Enter")
        expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute(
            "data-status", "closed", timeout=TIMEOUT
        )
        assert Conversation.objects.filter(widget=widget, status="closed").count() == 2
    finally:
        agent_page.context.close()
        customer.context.close()
