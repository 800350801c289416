"""What the browser tests share: how long a page may take, the shop (its queue, widget, host page
and agent), the shop's host page with the widget's script tag, and the steps an agent takes in
the workspace."""

import re
from pathlib import Path

from playwright.sync_api import expect

from agents.models import AgentProfile
from tests.live import wait_until
from tests.routing.factories import PASSWORD, AgentProfileFactory, QueueFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory

TIMEOUT = 15_000  # ms: Playwright's wait for one step
HOST_PAGE = (Path(__file__).parent / "host_page.html").read_text()


def host_page(server, widget) -> str:
    """The shop's page, with the widget's script tag pointing at ``server``."""
    return HOST_PAGE.replace("__BASE_URL__", server.url).replace("__WIDGET_KEY__", str(widget.public_key))


#: The pre-chat questions a shop may ask, by name.
PRECHAT_QUESTIONS = {
    "name": {"label": "Your name", "required": True},
    "topic": {"label": "Topic", "kind": "option_set", "choices": ["Orders", "Billing"]},
    "email": {"label": "Your email"},
    "details": {"label": "Details", "kind": "multi_line"},
    "terms": {"label": "I accept the terms", "kind": "consent"},
}


def kettle_shop(server, host_site, *, questions=("name", "topic"), **widget_fields):
    """The shop of the browser tests: a Kettles queue with its workstream, a "Kettle help" widget
    (``widget_fields`` on top) asking ``questions`` on the host site's /checkout page, and Ada
    Agent, offline, in the queue. Returns (widget, agent)."""
    queue = QueueFactory(name="Kettles")
    workstream = WorkstreamFactory(name="Shop chat", default_queue=queue)
    widget = ChatWidgetFactory(
        workstream=workstream, origins=[host_site.origin], **{"title": "Kettle help", **widget_fields}
    )
    for order, name in enumerate(questions, start=1):
        PreChatQuestionFactory(widget=widget, order=order, name=name, **PRECHAT_QUESTIONS[name])
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    host_site.pages["/checkout"] = host_page(server, widget)
    return widget, agent


def customer_starts_chat(customer, host_site) -> None:
    """The customer opens the widget on the shop's /checkout page and starts a chat, the pre-chat
    survey sent as it stands."""
    customer.goto(f"{host_site.origin}/checkout")
    customer.get_by_test_id("chat-button").click()
    customer.get_by_test_id("prechat-submit").click()


def sign_in_available(page, agent) -> None:
    """Sign the agent in on ``page`` and set them Available (the server has it when this returns)."""
    page.goto("/workspace/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    page.get_by_test_id("presence-select").select_option(label="Available")
    wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")


def accept_offer(page) -> None:
    """The agent accepts the offer on screen; its conversation page opens."""
    page.get_by_test_id("notification-accept").click(timeout=TIMEOUT)
    page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)


def sign_in_supervisor(page, supervisor) -> None:
    """Sign the supervisor in on ``page`` and open the supervisor view, its socket connected."""
    page.goto("/workspace/supervisor/")
    page.fill("input[name=username]", supervisor.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.goto("/workspace/supervisor/")
    expect(page.get_by_test_id("supervisor-connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)


def search_by_words(page, words):
    """The agent searches conversations by ``words`` from the workspace's navigation; the results."""
    page.get_by_test_id("nav-search").click()
    page.get_by_label("Words").fill(words)
    page.get_by_label("Words").press("Enter")
    return page.get_by_test_id("search-result")


#: Counts the tones a page plays (the widget's optional unread sound), in ``window.tones``.
COUNT_TONES = """
window.tones = 0;
const RealAudioContext = window.AudioContext;
window.AudioContext = class extends RealAudioContext {
  createOscillator() { window.tones += 1; return super.createOscillator(); }
};
"""
