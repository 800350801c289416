"""What the browser tests share: how long a page may take, the shop's host page with the widget's
script tag, and the steps an agent takes in the workspace."""

from pathlib import Path

from playwright.sync_api import expect

from agents.models import AgentProfile
from tests.live import wait_until
from tests.routing.factories import PASSWORD

TIMEOUT = 15_000  # ms: Playwright's wait for one step
HOST_PAGE = (Path(__file__).parent / "host_page.html").read_text()


def host_page(server, widget) -> str:
    """The shop's page, with the widget's script tag pointing at ``server``."""
    return HOST_PAGE.replace("__BASE_URL__", server.url).replace("__WIDGET_KEY__", str(widget.public_key))


def sign_in_available(page, agent) -> None:
    """Sign the agent in on ``page`` and set them Available (the server has it when this returns)."""
    page.goto("/workspace/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    page.get_by_test_id("presence-select").select_option(label="Available")
    wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")


#: Counts the tones a page plays (the widget's optional unread sound), in ``window.tones``.
COUNT_TONES = """
window.tones = 0;
const RealAudioContext = window.AudioContext;
window.AudioContext = class extends RealAudioContext {
  createOscillator() { window.tones += 1; return super.createOscillator(); }
};
"""
