"""Steps an agent takes in the workspace, shared by the browser tests."""

from playwright.sync_api import expect

from agents.models import AgentProfile
from tests.e2e.test_live_chat import TIMEOUT
from tests.live import wait_until
from tests.routing.factories import PASSWORD


def sign_in_available(page, agent) -> None:
    """Sign the agent in on ``page`` and set them Available (the server has it when this returns)."""
    page.goto("/workspace/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    page.get_by_test_id("presence-select").select_option(label="Available")
    wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")
