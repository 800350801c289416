"""Persistent, authenticated chat end to end in real browsers: a signed-in customer on the
organisation's site, an agent who parks the chat, a supervisor watching, and the customer coming
back on another browser (PER-2..6, PER-8, AUTH-2, WID-7, ROU-6, ROU-12, ADM-2)."""

import json
import re

from django.test import Client
from playwright.sync_api import expect

from agents.models import AgentProfile
from conversations.models import Conversation
from routing.models import WorkItem
from tests.e2e.workspace import TIMEOUT
from tests.live import wait_until
from tests.routing.factories import (
    PASSWORD,
    AgentProfileFactory,
    QueueFactory,
    SupervisorFactory,
    WorkstreamFactory,
    presence,
)
from tests.widgets.factories import AuthenticationSettingFactory, ChatWidgetFactory
from tests.widgets.signing import SigningKey
from widgets.tokens import conversation_token

# The organisation's page: its own sign-in gives the widget a token for the signed-in customer
# (WID-7), registered before the widget's script has loaded (WID-9).
PORTAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer portal</title>
<script>
  window.hostEvents = [];
  window.OmnichannelChat=window.OmnichannelChat||(function(){var s={q:[]};
  ["setContextProvider","setAuthTokenProvider","startChat","closeChat","getAgentAvailability",
  "logAction","on"].forEach(function(m){s[m]=function(){var a=[].slice.call(arguments);
  return new Promise(function(r,j){s.q.push([m,a,r,j])})}});return s})();
  ["ready", "error", "chatStarted", "messageReceived", "chatClosed"].forEach(function (name) {
    window.OmnichannelChat.on(name, function (data) { window.hostEvents.push({ event: name, data: data }); });
  });
  window.tokensGiven = 0;
  window.OmnichannelChat.setAuthTokenProvider(function () {
    window.tokensGiven += 1;
    return Promise.resolve(__AUTH_TOKEN__);
  });
</script></head>
<body><h1>Welcome back, Ada</h1>
<script src="__BASE_URL__/static/widgets/loader.js" data-widget="__WIDGET_KEY__" async></script>
</body></html>"""


def portal_page(server, widget, token: str) -> str:
    return (
        PORTAL_PAGE.replace("__BASE_URL__", server.url)
        .replace("__WIDGET_KEY__", str(widget.public_key))
        .replace("__AUTH_TOKEN__", json.dumps(token))
    )


def sign_in(page, user) -> None:
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()


def test_a_signed_in_customer_parks_leaves_and_resumes_with_the_same_agent_on_another_browser(
    browser, asgi_server, host_site
):
    # spec: PER-2, PER-3, PER-4, PER-5, PER-6, PER-8, AUTH-2, WID-7, ROU-6, ROU-12, ADM-2
    key = SigningKey("RS256")
    setting = AuthenticationSettingFactory(
        name="Portal sign-in", public_key_pem=key.public_pem, key_set_url="", algorithms=["RS256"]
    )
    queue = QueueFactory(name="Portal")
    workstream = WorkstreamFactory(name="Portal chat", persistent=True, default_queue=queue, capacity_units=40)
    widget = ChatWidgetFactory(workstream=workstream, authentication=setting, origins=[host_site.origin])
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    supervisor = SupervisorFactory(display_name="Sue Supervisor")
    host_site.pages["/portal"] = portal_page(asgi_server, widget, key.token(sub="customer-7", given_name="Grace"))

    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    watch = browser.new_context(base_url=asgi_server.url).new_page()
    phone = browser.new_context().new_page()
    laptop = None
    try:
        agent_page.goto("/workspace/")
        sign_in(agent_page, agent.user)
        expect(agent_page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        agent_page.get_by_test_id("presence-select").select_option(label="Available")
        wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")
        watch.goto("/workspace/supervisor/")
        sign_in(watch, supervisor.user)
        watch.goto("/workspace/supervisor/")
        expect(watch.get_by_test_id("supervisor-connection")).to_have_attribute(
            "data-state", "connected", timeout=TIMEOUT
        )
        capacity = watch.locator(f'[data-testid="supervisor-agent"][data-agent-id="{agent.pk}"]').get_by_test_id(
            "agent-capacity"
        )

        # The signed-in customer starts a persistent chat: no queue messages, no end control.
        phone.goto(f"{host_site.origin}/portal")
        phone.get_by_test_id("chat-button").click()
        phone.get_by_test_id("prechat-submit").click()
        expect(phone.get_by_test_id("composer")).to_be_visible(timeout=TIMEOUT)
        expect(phone.get_by_test_id("end-chat")).to_have_count(0)
        conversation = Conversation.objects.get(widget=widget)
        assert (conversation.authenticated, conversation.auth_subject, conversation.contact.first_name) == (
            True,
            "customer-7",
            "Grace",
        )
        phone.get_by_test_id("composer").fill("Where is my order <b>#42</b>?")
        phone.get_by_test_id("send").click()

        # The agent accepts, reads and answers.
        agent_page.get_by_test_id("notification-accept").click(timeout=TIMEOUT)
        agent_page.wait_for_url(re.compile(rf"/workspace/conversations/{conversation.pk}/"), timeout=TIMEOUT)
        expect(agent_page.locator("[data-testid=message][data-sender=customer]").last).to_contain_text(
            "Where is my order <b>#42</b>?", timeout=TIMEOUT
        )
        agent_page.get_by_test_id("composer").fill("Let me check with the warehouse.")
        agent_page.get_by_test_id("send").click()
        expect(phone.locator("[data-testid=message][data-sender=agent]").last).to_contain_text(
            "check with the warehouse", timeout=TIMEOUT
        )
        expect(capacity).to_have_attribute("data-used", "40", timeout=TIMEOUT)
        assert not phone.locator("[data-testid=message][data-sender=system]").filter(has_text="queue").count()

        # No answer for a long time: the agent parks it (✖). Capacity and session are released.
        agent_page.get_by_test_id("park-conversation").click()
        expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute(
            "data-status", "waiting", timeout=TIMEOUT
        )
        expect(agent_page.get_by_test_id("park-conversation")).to_be_hidden()
        expect(capacity).to_have_attribute("data-used", "0", timeout=TIMEOUT)  # the supervisor sees it live
        ada = AgentProfile.objects.get(pk=agent.pk)
        assert (ada.capacity_used, ada.session_count) == (0, 0)
        assert WorkItem.objects.get(conversation=conversation).status == "parked"

        # The customer closes the browser, and comes back on another one with a new token.
        phone.context.close()
        host_site.pages["/portal"] = portal_page(asgi_server, widget, key.token(sub="customer-7"))
        laptop = browser.new_context().new_page()
        laptop.goto(f"{host_site.origin}/portal")
        laptop.get_by_test_id("chat-button").click()
        history = laptop.get_by_test_id("message")
        expect(history.filter(has_text="Where is my order <b>#42</b>?")).to_have_count(1, timeout=TIMEOUT)
        expect(history.filter(has_text="check with the warehouse")).to_have_count(1)
        expect(laptop.get_by_test_id("end-chat")).to_have_count(0)
        laptop.get_by_test_id("composer").fill("It has arrived, but the lid is cracked.")
        laptop.get_by_test_id("send").click()

        # The same agent is notified and has it back: active again, capacity taken again.
        toast = agent_page.locator('[data-testid="notification"][data-kind="toast"]')
        expect(toast).to_be_visible(timeout=TIMEOUT)
        expect(toast.get_by_test_id("notification-open")).to_have_attribute(
            "href", f"/workspace/conversations/{conversation.pk}/"
        )
        expect(agent_page.get_by_test_id("conversation-status")).to_have_attribute(
            "data-status", "active", timeout=TIMEOUT
        )
        expect(agent_page.locator("[data-testid=message][data-sender=customer]").last).to_contain_text(
            "the lid is cracked", timeout=TIMEOUT
        )
        expect(capacity).to_have_attribute("data-used", "40", timeout=TIMEOUT)
        conversation.refresh_from_db()
        assert (conversation.status, conversation.agent_id) == ("active", agent.pk)
        agent_page.get_by_test_id("composer").fill("Sorry about that, a new one is on its way.")
        agent_page.get_by_test_id("send").click()
        expect(laptop.locator("[data-testid=message][data-sender=agent]").last).to_contain_text(
            "a new one is on its way", timeout=TIMEOUT
        )

        # The customer cannot end it: the widget's endpoint refuses (PER-4).
        visitor = conversation.visitor
        answer = Client().post(
            f"/widget/{widget.public_key}/chats/end/",
            data=json.dumps(
                {
                    "token": conversation_token(
                        conversation_public_id=conversation.public_id, visitor_public_id=visitor.public_id
                    ),
                    "auth_token": key.token(sub="customer-7"),
                }
            ),
            content_type="application/json",
            HTTP_ORIGIN=host_site.origin,
        )
        assert answer.status_code == 409
        assert answer.json()["code"] == "end_not_allowed"
        assert Conversation.objects.get(pk=conversation.pk).status == "active"
        errors = laptop.evaluate("window.hostEvents.filter(e => e.event === 'error')")
        assert errors == []
    finally:
        for page in (agent_page, watch, laptop):
            if page is not None:
                page.context.close()
        if not phone.is_closed():
            phone.context.close()
