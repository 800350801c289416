"""Proactive chat in a real browser, on a host page of another origin: a rule invites on the
matching page only, the accepted invitation reaches an agent with its context, and an invitation
left alone is closed by the server (a real Celery worker) at one minute (PRO-1..7a, WID-8, WID-12)."""

import re
import time

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.e2e.workspace import TIMEOUT, sign_in_available
from tests.live import wait_until
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory
from tests.widgets.factories import ChatWidgetFactory, ProactiveRuleFactory
from widgets.models import Invitation

EVENTS = [
    "ready",
    "error",
    "chatStarted",
    "invitationShown",
    "invitationAccepted",
    "invitationDismissed",
    "invitationClosed",
]

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__ – Example Shop</title>
<style>* { color: #c00 !important; } button { display: none !important; }</style>
<script>
  window.hostEvents = [];
  window.OmnichannelChat=window.OmnichannelChat||(function(){var s={q:[]};
  ["setContextProvider","setAuthTokenProvider","startChat","closeChat","startProactiveChat",
  "getAgentAvailability","logAction","on"].forEach(function(m){s[m]=function(){var a=[].slice.call(arguments);
  return new Promise(function(r,j){s.q.push([m,a,r,j])})}});return s})();
  __EVENTS__.forEach(function (name) {
    window.OmnichannelChat.on(name, function (data) {
      window.hostEvents.push({ event: name, data: data, at: Date.now() });
    });
  });
  window.OmnichannelChat.setContextProvider(function () {
    return { basket_value: { value: 42.5, isDisplayable: true } };
  });
</script></head>
<body><h1>__TITLE__</h1>
<script src="__BASE__/static/widgets/loader.js" data-widget="__KEY__" async></script>
</body></html>"""


def host_page(server, widget, title: str) -> str:
    return (
        HOST_PAGE.replace("__BASE__", server.url)
        .replace("__KEY__", str(widget.public_key))
        .replace("__TITLE__", title)
        .replace("__EVENTS__", repr(EVENTS).replace("'", '"'))
    )


def events(page, name: str) -> list:
    return page.evaluate(f"window.hostEvents.filter(e => e.event === '{name}')")


@pytest.fixture
def proactive_widget(asgi_server, host_site):
    from channels.layers import channel_layers

    # A fresh channel layer for this server: one left by an earlier test's server (its loop gone
    # with a receive pending) would refuse this server's sockets.
    channel_layers.backends.clear()
    queue = QueueFactory(name="Kettles")
    workstream = WorkstreamFactory(name="Shop chat", default_queue=queue)
    widget = ChatWidgetFactory(
        workstream=workstream, origins=[host_site.origin], title="Kettle help", proactive_enabled=True
    )
    for path, title in (("/checkout", "Checkout"), ("/about", "About us")):
        host_site.pages[path] = host_page(asgi_server, widget, title)
    return widget


def test_a_rule_invites_on_the_matching_page_only_and_the_agent_gets_the_context(
    browser, asgi_server, host_site, proactive_widget
):
    # spec: PRO-1, PRO-2, PRO-3, PRO-5, PRO-6, PRO-7a, WID-8, WID-12, SEC-2
    widget = proactive_widget
    rule = ProactiveRuleFactory(
        widget=widget,
        name="Checkout help",
        trigger_message="<img src=x onerror=alert(1)> Need help paying?",
        location_match="contains",
        location_pattern="/checkout",
        time_on_page_seconds=2,
        require_available_agent=True,
    )
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[widget.workstream.default_queue])
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        sign_in_available(agent_page, agent)

        # Another page of the site: the rule's location does not match, nothing is shown.
        customer.goto(f"{host_site.origin}/about")
        customer.wait_for_function("window.hostEvents.some(e => e.event === 'ready')", timeout=TIMEOUT)
        customer.wait_for_timeout(3500)  # longer than the rule's time on page
        expect(customer.get_by_test_id("invitation")).to_have_count(0)
        assert not Invitation.objects.exists()

        # The checkout page: after two seconds on it (by the server's clock) the rule invites.
        started = time.monotonic()
        customer.goto(f"{host_site.origin}/checkout")
        invitation_card = customer.get_by_test_id("invitation")
        expect(invitation_card).to_be_visible(timeout=TIMEOUT)
        assert 1.5 < time.monotonic() - started < 8
        expect(customer.get_by_test_id("invitation-message")).to_have_text(
            "<img src=x onerror=alert(1)> Need help paying?"
        )
        invitation = Invitation.objects.get()
        assert (invitation.rule, invitation.page_url) == (rule, f"{host_site.origin}/checkout")

        customer.get_by_test_id("invitation-accept").click()
        expect(invitation_card).to_be_hidden(timeout=TIMEOUT)
        expect(customer.get_by_test_id("composer")).to_be_visible(timeout=TIMEOUT)
        wait_until(lambda: Conversation.objects.filter(widget=widget).exists())
        assert [e["data"]["status"] for e in events(customer, "invitationClosed")] == ["accepted"]

        # The agent is told it came from a proactive invitation, and sees the context.
        notification = agent_page.get_by_test_id("notification")
        expect(notification).to_be_visible(timeout=TIMEOUT)
        expect(notification).to_contain_text("Proactive invitation")
        agent_page.get_by_test_id("notification-accept").click()
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        agent_page.get_by_test_id("tab-additional").click()
        expect(agent_page.get_by_test_id("context-pageUrl")).to_have_text(f"{host_site.origin}/checkout")
        expect(agent_page.get_by_test_id("context-proactiveRule")).to_have_text("Checkout help")
        expect(agent_page.get_by_test_id("context-basket_value")).to_contain_text("42.5")
        seconds = int(agent_page.get_by_test_id("context-timeOnPageSeconds").inner_text())
        assert 2 <= seconds < 30
        conversation = Conversation.objects.get(widget=widget)
        assert conversation.origin == "proactive"
        assert Invitation.objects.get().status == "accepted"
    finally:
        agent_page.context.close()
        customer.context.close()


def test_an_invitation_left_alone_is_closed_by_the_server_at_one_minute(
    browser, asgi_server, host_site, proactive_widget, celery_worker
):
    # spec: PRO-4, PRO-7, WID-8 — the one real wait: a Celery worker closes it, the page hides it then
    customer = browser.new_context().new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        customer.wait_for_function("window.hostEvents.some(e => e.event === 'ready')", timeout=TIMEOUT)
        customer.evaluate("window.OmnichannelChat.startProactiveChat({message: 'Questions about kettles?'}, false)")
        card = customer.get_by_test_id("invitation")
        expect(card).to_be_visible(timeout=TIMEOUT)
        expect(customer.get_by_test_id("invitation-message")).to_have_text("Questions about kettles?")
        invitation = Invitation.objects.get()
        assert (invitation.rule, invitation.show_prechat) == (None, False)

        expect(card).to_be_hidden(timeout=75_000)
        closed = events(customer, "invitationClosed")
        shown = events(customer, "invitationShown")
        assert [e["data"]["status"] for e in closed] == ["expired"]  # told by the server, not guessed
        lived = (closed[0]["at"] - shown[0]["at"]) / 1000
        assert 58 <= lived <= 64, lived
        invitation.refresh_from_db()
        assert (invitation.status, invitation.closed_at) == ("expired", invitation.expires_at)

        # Reloaded, the page finds nothing open.
        customer.reload()
        customer.wait_for_function("window.hostEvents.some(e => e.event === 'ready')", timeout=TIMEOUT)
        customer.wait_for_timeout(500)
        expect(customer.get_by_test_id("invitation")).to_have_count(0)
    finally:
        customer.context.close()
