"""axe-core (WCAG 2.0 / 2.1 A and AA) finds nothing on the customer's and the agent's screens: the
widget closed, open with its pre-chat survey, in a chat and ended; the workspace dashboard, its
incoming-chat alert, a conversation page and the supervisor view (issue 17). `bin/a11y-report`
prints the same checks as a table."""

import re

import pytest
from playwright.sync_api import expect

from notifications.models import NotificationTemplate
from tests.e2e.a11y import assert_accessible, axe_run
from tests.e2e.workspace import TIMEOUT, kettle_shop, sign_in_available, sign_in_supervisor
from tests.routing.factories import (
    SupervisorFactory,
)
from widgets.models import ChatWidget, PostChatQuestion

WIDGET = ["omnichannel-chat"]  # the widget's host element: axe-core reads its shadow root


@pytest.fixture
def shop(asgi_server, host_site):
    return kettle_shop(asgi_server, host_site, questions=("name", "topic", "details", "terms"))


def test_the_widget_and_the_workspace_have_no_axe_violations(browser, asgi_server, host_site, shop):
    # spec: WID-5
    widget, agent = shop
    ChatWidget.objects.filter(pk=widget.pk).update(survey_rating=ChatWidget.SurveyRating.STARS, survey_comment=True)
    PostChatQuestion.objects.create(widget=widget, label="Did we solve it?")
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        sign_in_available(agent_page, agent)
        assert_accessible(agent_page, "workspace: dashboard")

        customer.goto(f"{host_site.origin}/checkout")
        expect(customer.get_by_test_id("chat-button")).to_be_visible(timeout=TIMEOUT)
        assert_accessible(customer, "widget: closed", include=WIDGET)

        customer.get_by_test_id("chat-button").click()
        expect(customer.get_by_test_id("prechat-form")).to_be_visible(timeout=TIMEOUT)
        customer.get_by_test_id("prechat-submit").click()  # the survey with its errors shown
        expect(customer.get_by_test_id("prechat-error-name")).to_have_text(re.compile("required"), timeout=TIMEOUT)
        assert_accessible(customer, "widget: open with the pre-chat survey", include=WIDGET)

        customer.get_by_test_id("prechat-field-name").fill("Grace Hopper")
        customer.get_by_test_id("prechat-field-topic").select_option("Orders")
        customer.get_by_test_id("prechat-submit").click()
        expect(customer.get_by_test_id("composer")).to_be_visible(timeout=TIMEOUT)

        expect(agent_page.get_by_test_id("notification")).to_be_visible(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("countdown")).to_be_visible()
        assert_accessible(agent_page, "workspace: incoming-chat alert")
        agent_page.get_by_test_id("notification-accept").click()
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)

        customer.get_by_test_id("composer").fill("My kettle leaks, see https://example.com/kettle")
        customer.get_by_test_id("send").click()
        expect(agent_page.locator("[data-testid=message][data-sender=customer]")).to_contain_text(
            "My kettle leaks", timeout=TIMEOUT
        )
        agent_page.get_by_test_id("composer").fill("Sorry to hear that! Which model is it?")
        agent_page.get_by_test_id("send").click()
        expect(customer.locator("[data-testid=message][data-sender=agent]")).to_contain_text(
            "Which model", timeout=TIMEOUT
        )
        assert_accessible(customer, "widget: in a chat", include=WIDGET)
        assert_accessible(agent_page, "workspace: conversation page")

        customer.get_by_test_id("end-chat").click()
        expect(customer.get_by_test_id("end-chat-confirm")).to_be_visible()
        assert_accessible(customer, "widget: asked to confirm the end", include=WIDGET)
        customer.get_by_test_id("end-chat-confirm").click()
        expect(customer.get_by_test_id("chat-ended")).to_be_visible(timeout=TIMEOUT)
        expect(customer.get_by_test_id("survey")).to_be_visible(timeout=TIMEOUT)
        assert_accessible(customer, "widget: ended, with the transcript and the post-chat survey", include=WIDGET)
        expect(agent_page.get_by_test_id("customer-ended")).to_be_visible(timeout=TIMEOUT)
        assert_accessible(agent_page, "workspace: conversation in wrap-up")
    finally:
        agent_page.context.close()
        customer.context.close()


def test_the_supervisor_view_has_no_axe_violations(browser, asgi_server, shop):
    _widget, agent = shop
    supervisor = SupervisorFactory(display_name="Sue Supervisor")
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_supervisor(page, supervisor)
        expect(page.locator(f'[data-testid="supervisor-agent"][data-agent-id="{agent.pk}"]')).to_be_visible()
        assert_accessible(page, "workspace: supervisor view")
    finally:
        page.context.close()


def test_the_agents_other_pages_have_no_axe_violations(browser, asgi_server, shop):
    _widget, agent = shop
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        sign_in_available(page, agent)
        for path, screen, ready in (
            ("/workspace/", "workspace: dashboard with the inbox filters", "inbox-filters"),
            ("/workspace/open-items/", "workspace: open items", "nav-open-items"),
            ("/workspace/canned-responses/", "workspace: canned responses", "nav-canned-responses"),
            ("/workspace/search/?q=kettle", "workspace: search", "nav-search"),
        ):
            page.goto(path)
            expect(page.get_by_test_id(ready)).to_be_visible()
            assert_accessible(page, screen)
            review = [v for v in axe_run(page)["review"] if v["id"] == "aria-valid-attr-value"]
            assert not review, review  # no aria-describedby pointing at nothing
    finally:
        page.context.close()


def test_the_sign_in_page_has_no_axe_violations(browser, asgi_server):
    page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        page.goto("/workspace/")
        expect(page.get_by_test_id("login-submit")).to_be_visible()
        assert_accessible(page, "workspace: sign-in page")
    finally:
        page.context.close()


def test_the_offline_form_and_a_proactive_invitation_have_no_axe_violations(browser, asgi_server, host_site, shop):
    widget, _agent = shop  # the agent is offline: nobody can answer
    ChatWidget.objects.filter(pk=widget.pk).update(
        when_unavailable=ChatWidget.WhenUnavailable.OFFLINE_FORM,
        unavailable_message="We are all out. Write to us.",
        proactive_enabled=True,
    )
    customer = browser.new_context().new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        customer.wait_for_function("window.hostEvents.some(e => e.event === 'ready')", timeout=TIMEOUT)
        customer.evaluate("window.OmnichannelChat.startProactiveChat({message: 'Questions about kettles?'}, false)")
        expect(customer.get_by_test_id("invitation")).to_be_visible(timeout=TIMEOUT)
        assert_accessible(customer, "widget: a proactive invitation", include=WIDGET)
        customer.get_by_test_id("invitation-dismiss").click()
        customer.get_by_test_id("chat-button").click()
        expect(customer.get_by_test_id("offline-form")).to_be_visible(timeout=TIMEOUT)
        customer.get_by_test_id("offline-submit").click()
        expect(customer.get_by_test_id("offline-error-email")).not_to_be_empty(timeout=TIMEOUT)
        assert_accessible(customer, "widget: nobody available, the offline form with its errors", include=WIDGET)
    finally:
        customer.context.close()


@pytest.mark.parametrize("theme", ["#ffb900", "#0f6cbd", "#1b1b1b"])
def test_the_text_on_the_widgets_colour_is_readable_whatever_the_colour(browser, asgi_server, host_site, shop, theme):
    # A light theme colour gets dark text; a dark one white text (contrast at least 4.5:1).
    widget, _agent = shop
    ChatWidget.objects.filter(pk=widget.pk).update(theme_color=theme)
    customer = browser.new_context().new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        customer.get_by_test_id("chat-button").click()
        customer.get_by_test_id("prechat-field-name").fill("Grace Hopper")
        customer.get_by_test_id("prechat-submit").click()
        customer.get_by_test_id("composer").fill("My kettle leaks")
        customer.get_by_test_id("send").click()
        expect(customer.locator("[data-testid=message][data-sender=customer]")).not_to_have_attribute(
            "data-pending", "", timeout=TIMEOUT
        )
        assert_accessible(customer, f"widget: in a chat, theme colour {theme}", include=WIDGET)
    finally:
        customer.context.close()


def test_axe_looks_inside_the_widget_shadow_root(browser, asgi_server, host_site, shop):
    # The check above can fail: a control of the widget without a name is found.
    page = browser.new_context().new_page()
    try:
        page.goto(f"{host_site.origin}/checkout")
        expect(page.get_by_test_id("chat-button")).to_be_visible(timeout=TIMEOUT)
        unnamed = "(button) => { button.removeAttribute('aria-label'); button.removeAttribute('title'); }"
        page.get_by_test_id("chat-button").evaluate(unnamed)
        result = axe_run(page, include=WIDGET)
        assert [v["id"] for v in result["violations"]] == ["button-name"]
        assert result["violations"][0]["nodes"][0]["target"] == [["omnichannel-chat", ".launcher"]]
    finally:
        page.context.close()


# Every second the countdown shows, and what a screen reader hears of it, sampled in the page.
RECORD_COUNTDOWN = """() => {
  window.seen = []; window.heard = [];
  setInterval(() => {
    const shown = document.querySelector('[data-testid="countdown"]');
    const spoken = document.querySelector('[data-testid="countdown-announcement"]');
    if (shown && shown.textContent !== window.seen.at(-1)) window.seen.push(shown.textContent);
    if (spoken && spoken.textContent !== window.heard.at(-1)) window.heard.push(spoken.textContent);
  }, 50);
}"""


def test_the_alert_countdown_is_announced_at_thresholds_not_every_second(browser, asgi_server, host_site, shop):
    # spec: NOT-6
    _widget, agent = shop
    NotificationTemplate.objects.filter(scenario="incoming_chat", is_default=True).update(timeout_seconds=12)
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    try:
        sign_in_available(agent_page, agent)
        agent_page.evaluate(RECORD_COUNTDOWN)
        customer.goto(f"{host_site.origin}/checkout")
        customer.get_by_test_id("chat-button").click()
        customer.get_by_test_id("prechat-field-name").fill("Grace Hopper")
        customer.get_by_test_id("prechat-submit").click()
        alert = agent_page.get_by_test_id("notification")
        expect(alert).to_be_visible(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("countdown")).to_have_attribute("aria-hidden", "true")
        expect(alert).to_have_count(0, timeout=TIMEOUT)  # timed out
        seen, heard = agent_page.evaluate("[window.seen, window.heard]")
        assert len(seen) >= 9, seen  # the visible countdown ticks every second
        seconds = [int(re.match(r"\d+", text).group()) for text in heard]
        assert seconds[0] in (11, 12, 13) and seconds[1:] == [10, 5], heard
    finally:
        agent_page.context.close()
        customer.context.close()


# Nothing of the page scrolls sideways, and every control of the widget is on the screen.
LAYOUT = """() => {
  const root = document.querySelector("omnichannel-chat").shadowRoot;
  const width = window.innerWidth, height = window.innerHeight;
  const controls = [...root.querySelectorAll("button, input, select, textarea, a")].filter((c) => c.checkVisibility());
  const off = controls.filter((c) => {
    const r = c.getBoundingClientRect();
    return r.left < 0 || r.right > width || r.top < 0 || r.bottom > height;
  }).map((c) => c.getAttribute("data-testid") || c.tagName);
  const wide = [...root.querySelectorAll(".pane, .body, .composer, .bar, form")]
    .filter((e) => e.checkVisibility() && e.scrollWidth > e.clientWidth + 1).map((e) => e.className || e.tagName);
  return { page: document.documentElement.scrollWidth - width, off, wide, controls: controls.length };
}"""


@pytest.mark.parametrize(
    "screen",
    [
        pytest.param({"viewport": {"width": 320, "height": 640}}, id="320 px wide"),
        # Chromium's 200% zoom of a 1280 × 720 window: half the CSS pixels, each drawn twice as big.
        pytest.param({"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2}, id="at 200% zoom"),
    ],
)
def test_the_widget_works_on_a_320px_screen_and_at_200_percent_zoom(
    request, browser, asgi_server, host_site, shop, screen
):
    _widget, agent = shop
    customer = browser.new_context(**screen).new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        expect(customer.get_by_test_id("chat-button")).to_be_visible(timeout=TIMEOUT)
        layout = customer.evaluate(LAYOUT)
        assert layout["page"] <= 0 and not layout["off"], layout
        customer.get_by_test_id("chat-button").press("Enter")
        expect(customer.get_by_test_id("prechat-submit")).to_be_visible(timeout=TIMEOUT)
        customer.get_by_test_id("prechat-field-name").press_sequentially("Grace Hopper")
        layout = customer.evaluate(LAYOUT)
        assert layout["page"] <= 0 and not layout["wide"], layout
        customer.get_by_test_id("prechat-submit").press("Enter")
        expect(customer.get_by_test_id("composer")).to_be_focused(timeout=TIMEOUT)
        customer.keyboard.type("A long message with a long word: " + "kettle" * 30)
        customer.keyboard.press("Enter")
        expect(customer.locator("[data-testid=message][data-sender=customer]")).to_contain_text("kettlekettle")
        layout = customer.evaluate(LAYOUT)
        assert layout["page"] <= 0 and not layout["off"] and not layout["wide"], layout
        assert layout["controls"] >= 4  # close, composer, send, end
        assert_accessible(customer, f"widget: in a chat, {request.node.callspec.id}", include=WIDGET)
    finally:
        customer.context.close()
