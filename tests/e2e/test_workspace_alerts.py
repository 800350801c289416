"""Alerts in the agent workspace, in a real browser: desktop notifications through the service
worker, the in-app alert with its countdown, and an alert accepted in another tab (NOT-4, NOT-6, NOT-9)."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction
from playwright.sync_api import expect

from agents.models import AgentProfile
from agents.services import agent_presence_set
from conversations.models import Conversation
from conversations.services import conversation_enqueue
from notifications.models import AgentBanner, Notification, NotificationTemplate
from routing.models import Offer
from tests.conversations.factories import ConversationFactory
from tests.e2e.workspace import TIMEOUT, sign_in_supervisor
from tests.live import wait_until
from tests.routing.factories import (
    PASSWORD,
    AgentProfileFactory,
    QueueFactory,
    SupervisorFactory,
    WorkstreamFactory,
    presence,
)

DESKTOP_NOTIFICATIONS = """
navigator.serviceWorker.getRegistration("/workspace/")
  .then((registration) => (registration ? registration.getNotifications() : []))
  .then((list) => list.map((n) => (
    {title: n.title, tag: n.tag, body: n.body, actions: n.actions.map((a) => a.action)}
  )))
"""


@pytest.fixture
def desk(asgi_server):
    queue = QueueFactory(name="Kettles")
    workstream = WorkstreamFactory(name="Shop chat", default_queue=queue)
    agent = AgentProfileFactory(display_name="Ada Agent", queues=[queue], presence=presence("offline"))
    # The seeded default template of incoming chats: desktop only when the workspace is in the background.
    template = NotificationTemplate.objects.get(scenario="incoming_chat", is_default=True)
    assert template.desktop_mode == "background"
    return queue, workstream, agent


def signed_in_workspace(browser, server, agent, *, notifications: bool = True):
    """A browser context with the agent signed in on the dashboard, Available."""
    context = browser.new_context(base_url=server.url)
    if notifications:
        context.grant_permissions(["notifications"], origin=server.url)
    page = context.new_page()
    page.goto("/workspace/")
    page.fill("input[name=username]", agent.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=TIMEOUT)
    if AgentProfile.objects.get(pk=agent.pk).presence.base != "available":
        page.get_by_test_id("presence-select").select_option(label="Available")
        wait_until(lambda: AgentProfile.objects.get(pk=agent.pk).presence.base == "available")
    return context, page


def to_background(context, page):
    """Another tab comes to the front, so the workspace page is not in focus (NOT-9).

    Headless Chromium keeps every tab's document.visibilityState "visible" (bring_to_front, a
    minimised window and window.open all leave it so), and Playwright emulates focus for every
    page; without that emulation the page loses focus to the other tab, as for a person.
    """
    context.new_cdp_session(page).send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    other = context.new_page()
    other.bring_to_front()
    page.wait_for_function("!document.hasFocus()", timeout=TIMEOUT)
    return other


def elsewhere(service, **arguments):
    """Call a service from another thread, as the server or a worker would.

    Playwright's event loop runs in the test's thread, where publishing to Redis (async_to_sync)
    is refused; a server thread has no such loop.
    """

    def call():
        try:
            return service(**arguments)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=TIMEOUT / 1000)


@transaction.atomic
def routed(*, conversation, workstream, queue):
    """The conversation is routed: its work item is queued (its owner enqueues it, issue 11)."""
    return conversation_enqueue(conversation, workstream=workstream, queue=queue, skills=[])


def incoming_chat(workstream, queue) -> Offer:
    """A customer's chat arrives and is offered to the Available agent (ROU-11)."""
    conversation = ConversationFactory(workstream=workstream, prechat_answers={"name": "Grace Hopper"})
    elsewhere(routed, workstream=workstream, queue=queue, conversation=conversation)
    wait_until(lambda: Offer.objects.filter(work_item__conversation=conversation, status="pending").exists())
    return Offer.objects.get(work_item__conversation=conversation, status="pending")


def test_a_workspace_in_the_background_gets_a_desktop_notification_with_accept_and_reject(browser, asgi_server, desk):
    # spec: NOT-9 — the template says "when in the background"; permission granted; no countdown text
    queue, workstream, agent = desk
    context, page = signed_in_workspace(browser, asgi_server, agent)
    try:
        to_background(context, page)
        offer = incoming_chat(workstream, queue)
        expect(page.get_by_test_id("notification")).to_have_count(1, timeout=TIMEOUT)
        page.wait_for_function(f"({DESKTOP_NOTIFICATIONS}).then((list) => list.length === 1)", timeout=TIMEOUT)
        [shown] = page.evaluate(DESKTOP_NOTIFICATIONS)
        notification_id = page.get_by_test_id("notification").get_attribute("data-notification-id")
        assert shown["tag"] == f"notification-{notification_id}"
        assert shown["actions"] == ["accept", "reject"]
        notification = Notification.objects.get(pk=notification_id)
        assert shown["title"] == notification.title
        # The template's fields, and no countdown (the timeout applies unseen on the desktop).
        assert shown["body"] == "\n".join(f"{line['header']}: {line['value']}" for line in notification.fields)
        assert "left" not in shown["body"]

        # A click on its body: the service worker focuses the window (as bring_to_front does here)
        # and asks the page to show the alert.
        page.bring_to_front()
        page.evaluate(
            "(notification) => navigator.serviceWorker.dispatchEvent("
            "new MessageEvent('message', {data: {type: 'desktop.show', notification}}))",
            int(notification_id),
        )
        expect(page.get_by_test_id("notification-accept")).to_be_focused(timeout=TIMEOUT)
        assert Offer.objects.get(pk=offer.pk).status == "pending"  # showing is not answering

        # The service worker hands Accept to the open page, which sends offer.accept on its socket.
        page.evaluate(
            "(offer) => navigator.serviceWorker.dispatchEvent("
            "new MessageEvent('message', {data: {type: 'desktop.action', action: 'accept', offer}}))",
            offer.pk,
        )
        page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        offer.refresh_from_db()
        assert offer.status == "accepted"
        assert Conversation.objects.get(pk=offer.work_item.conversation.pk).agent_id == agent.pk
        assert page.evaluate(DESKTOP_NOTIFICATIONS) == []  # closed with the in-app alert
    finally:
        context.close()


def test_no_desktop_notification_while_another_workspace_page_has_the_focus(browser, asgi_server, desk):
    # spec: NOT-9 — "when not in focus" means the workspace, not one of its tabs
    queue, workstream, agent = desk
    context, page = signed_in_workspace(browser, asgi_server, agent)
    try:
        other = to_background(context, page)
        other.goto("/workspace/")  # the agent reads another workspace page
        expect(other.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        assert other.evaluate("document.hasFocus()") and not page.evaluate("document.hasFocus()")
        incoming_chat(workstream, queue)
        for tab in (page, other):
            expect(tab.get_by_test_id("notification")).to_have_count(1, timeout=TIMEOUT)
        page.wait_for_timeout(1500)  # past the page's wait for the service worker's answer
        assert page.evaluate(DESKTOP_NOTIFICATIONS) == []
    finally:
        context.close()


def test_an_agent_who_chose_never_gets_no_desktop_notification(browser, asgi_server, desk):
    # spec: NOT-9 — the agent's own setting overrides the template's
    queue, workstream, agent = desk
    context, page = signed_in_workspace(browser, asgi_server, agent)
    try:
        page.get_by_test_id("desktop-notifications-select").select_option("never")
        expect(page.get_by_test_id("desktop-status")).to_have_text("Saved.", timeout=TIMEOUT)
        assert AgentProfile.objects.get(pk=agent.pk).desktop_notifications == "never"
        to_background(context, page)
        incoming_chat(workstream, queue)
        expect(page.get_by_test_id("notification")).to_have_count(1, timeout=TIMEOUT)
        page.wait_for_timeout(500)
        assert page.evaluate(DESKTOP_NOTIFICATIONS) == []
    finally:
        context.close()


def test_a_page_opened_by_a_desktop_button_performs_the_action(browser, asgi_server, desk):
    # spec: NOT-9 — with no workspace page open, the service worker opens one with the action in its URL
    queue, workstream, agent = desk
    context, page = signed_in_workspace(browser, asgi_server, agent)
    try:
        offer = incoming_chat(workstream, queue)
        expect(page.get_by_test_id("notification")).to_have_count(1, timeout=TIMEOUT)
        page.goto("/workspace/login/")  # the agent left the workspace; the desktop notification stays
        page.goto(f"/workspace/?desktop_action=reject&offer={offer.pk}")
        wait_until(lambda: Offer.objects.get(pk=offer.pk).status == "rejected")
        assert page.evaluate("location.search") == ""  # a reload does not act again
    finally:
        context.close()


def test_an_alert_accepted_in_one_tab_disappears_from_the_other(browser, asgi_server, desk):
    # spec: NOT-4, NOT-6, NOT-9 — the countdown shows in-app; the desktop notification closes too
    queue, workstream, agent = desk
    AgentProfile.objects.filter(pk=agent.pk).update(desktop_notifications="always")
    context, first = signed_in_workspace(browser, asgi_server, agent)
    try:
        second = context.new_page()
        second.goto("/workspace/")
        expect(second.get_by_test_id("connection")).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
        incoming_chat(workstream, queue)
        for page in (first, second):
            expect(page.get_by_test_id("notification")).to_have_count(1, timeout=TIMEOUT)
            expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^1[0-2]\d s left$"))
        second.wait_for_function(f"({DESKTOP_NOTIFICATIONS}).then((list) => list.length === 1)", timeout=TIMEOUT)

        first.get_by_test_id("notification-accept").click()
        first.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        expect(second.get_by_test_id("notification")).to_have_count(0, timeout=TIMEOUT)
        second.wait_for_function(f"({DESKTOP_NOTIFICATIONS}).then((list) => list.length === 0)", timeout=TIMEOUT)
        assert Offer.objects.get(agent=agent).status == "accepted"
    finally:
        context.close()


def test_a_supervisor_watches_an_agent_live_and_resets_their_presence_after_a_missed_alert(browser, asgi_server, desk):
    # spec: ADM-2, NOT-10 — the supervisor's page follows events and resets over its socket
    queue, workstream, agent = desk
    supervisor = SupervisorFactory(display_name="Sue Supervisor")
    context = browser.new_context(base_url=asgi_server.url)
    page = context.new_page()
    try:
        sign_in_supervisor(page, supervisor)
        row = page.locator(f'[data-testid="supervisor-agent"][data-agent-id="{agent.pk}"]')
        queue_row = page.locator(f'[data-testid="supervisor-queue"][data-queue-id="{queue.pk}"]')
        expect(row.get_by_test_id("agent-presence")).to_have_attribute("data-base", "offline")

        # The agent missed an alert: Inactive, with a banner; a chat waits in their queue.
        elsewhere(agent_presence_set, agent_id=agent.pk, presence=presence("inactive"), by=supervisor.user)
        expect(row.get_by_test_id("agent-presence")).to_have_attribute("data-base", "inactive", timeout=TIMEOUT)
        AgentBanner.objects.create(agent=agent, kind="missed_notification", message="You missed a chat.")
        waiting = ConversationFactory(workstream=workstream)
        elsewhere(routed, workstream=workstream, queue=queue, conversation=waiting)
        expect(queue_row.get_by_test_id("queue-waiting")).to_have_text("1", timeout=TIMEOUT)
        expect(queue_row.get_by_test_id("queue-longest-wait")).to_have_text(re.compile(r"^\d+ s$"))
        expect(row.get_by_test_id("agent-banner")).to_have_text("You missed a chat.")

        page.evaluate("window.notReloaded = true")
        row.get_by_test_id("presence-reset").click()
        expect(row.get_by_test_id("agent-presence")).to_have_attribute("data-base", "available", timeout=TIMEOUT)
        expect(row.get_by_test_id("agent-banner")).to_have_text("", timeout=TIMEOUT)
        assert AgentProfile.objects.get(pk=agent.pk).presence.base == "available"
        assert not AgentBanner.objects.filter(agent=agent, cleared_at__isnull=True).exists()
        assert page.evaluate("window.notReloaded === true")  # the socket did it, not the form's POST
    finally:
        context.close()
