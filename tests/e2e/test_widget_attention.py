"""The customer's side of a mature chat in a real browser, on a host page of another origin
(issue 16): the unread badge and title, the agent's name, nobody online → the offline form → a
case an agent finds, phones and keyboard (WID-5), and SDK calls made before the script loaded
(WID-9). Phone-size screenshots go to var/screenshots/ (not committed)."""

import re
from pathlib import Path

import pytest
from celery import current_app
from django.core import mail
from playwright.sync_api import expect

from conversations.models import Conversation
from customers.models import Case
from tests.e2e.workspace import COUNT_TONES, TIMEOUT, accept_offer, customer_starts_chat, kettle_shop, sign_in_available
from tests.live import wait_until
from widgets.models import ChatWidget, PostChatQuestion, SelfServiceAction

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 375, "height": 667}
#: The phone sizes the open widget is checked (and photographed) at: a common one and the smallest.
PHONES = [{"width": 375, "height": 667}, {"width": 320, "height": 568}]
PAGE_TITLE = "Checkout – Example Shop"


@pytest.fixture
def shop(asgi_server, host_site):
    return kettle_shop(asgi_server, host_site, questions=())


def focused_test_id(page) -> str | None:
    """The data-testid of what has the focus inside the widget's shadow root (None: the page)."""
    return page.evaluate(
        "() => { const host = document.querySelector('omnichannel-chat');"
        " const inner = host && host.shadowRoot.activeElement;"
        " return inner ? inner.getAttribute('data-testid') : null; }"
    )


def test_a_closed_pane_shows_the_agents_reply_on_the_badge_and_then_the_survey_is_answered(
    browser, asgi_server, host_site, shop, settings, monkeypatch
):
    # spec: LIVE-2, WID-5, SEC-1 — unread badge and title while closed; read when opened; the agent's
    # name; the post-chat survey answered and its rating seen by the agent; the transcript
    # downloaded and sent by email from the ended chat
    settings.OUTBOUND_MAIL = True
    monkeypatch.setitem(current_app.conf, "CELERY_TASK_ALWAYS_EAGER", True)  # the mail task runs in the server
    widget, agent = shop
    ChatWidget.objects.filter(pk=widget.pk).update(survey_rating=ChatWidget.SurveyRating.STARS)
    PostChatQuestion.objects.create(widget=widget, label="Did we solve it?")
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    customer.add_init_script(COUNT_TONES)
    try:
        sign_in_available(agent_page, agent)
        customer_starts_chat(customer, host_site)
        expect(customer.get_by_test_id("composer")).to_be_visible(timeout=TIMEOUT)
        assert focused_test_id(customer) == "composer"  # WID-5: straight to the message box
        expect(customer.get_by_test_id("message").first).to_contain_text("number 1 in the queue", timeout=TIMEOUT)

        accept_offer(agent_page)
        agent_page.get_by_test_id("composer").fill("Hello, this is Ada.")
        agent_page.get_by_test_id("send").click()
        expect(customer.get_by_test_id("chat-title")).to_have_text("Ada Agent", timeout=TIMEOUT)
        expect(customer.get_by_test_id("unread-badge")).to_be_hidden()  # read as it came

        # The customer closes the pane; the agent writes; the badge and the title say 1.
        customer.get_by_test_id("chat-close").click()
        assert focused_test_id(customer) == "chat-button"
        agent_page.get_by_test_id("composer").fill("Which model is it?")
        agent_page.get_by_test_id("send").click()
        badge = customer.get_by_test_id("unread-badge")
        expect(badge).to_have_text("1", timeout=TIMEOUT)
        expect(customer).to_have_title(f"(1) {PAGE_TITLE}")
        expect(customer.get_by_test_id("chat-button")).to_have_attribute("aria-label", re.compile(r"1"))
        assert customer.evaluate("window.tones") == 0  # the sound is off unless the admin turns it on
        agent_page.get_by_test_id("composer").fill("Is it the blue one?")
        agent_page.get_by_test_id("send").click()
        expect(badge).to_have_text("2", timeout=TIMEOUT)
        expect(customer).to_have_title(f"(2) {PAGE_TITLE}")

        # Opening the pane marks them read and gives the page its title back.
        customer.get_by_test_id("chat-button").click()
        expect(badge).to_be_hidden()
        expect(customer).to_have_title(PAGE_TITLE)
        expect(customer.locator("[data-testid=message][data-sender=agent]").last).to_contain_text("blue one")

        # The chat ends: focus goes to the next control, never to the page body (WID-5).
        customer.get_by_test_id("end-chat").click()
        customer.get_by_test_id("end-chat-confirm").click()
        expect(customer.get_by_test_id("chat-ended")).to_be_visible(timeout=TIMEOUT)
        wait_until(lambda: focused_test_id(customer) == "new-chat")
        conversation = Conversation.objects.get(widget=widget)
        assert conversation.status == "wrap_up"

        # The post-chat survey: a rating, a comment, the extra question; the agent sees the rating.
        expect(customer.get_by_test_id("survey")).to_be_visible(timeout=TIMEOUT)
        customer.get_by_test_id("survey-rating-4").click()
        expect(customer.get_by_test_id("survey-rating-4")).to_have_attribute("aria-checked", "true")
        customer.get_by_test_id("survey-comment").fill("Quick <i>and</i> kind")
        customer.get_by_test_id("survey-answer-0").fill("Yes")
        customer.get_by_test_id("survey-submit").click()
        expect(customer.get_by_test_id("survey-thanks")).to_be_visible(timeout=TIMEOUT)
        wait_until(lambda: focused_test_id(customer) == "survey-thanks")
        agent_page.reload()
        expect(agent_page.get_by_test_id("survey-rating")).to_have_attribute("data-rating", "4", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("survey-comment")).to_have_text("Quick <i>and</i> kind")

        # The transcript of the ended chat: downloaded as text, and sent to the customer's address.
        with customer.expect_download() as download:
            customer.get_by_test_id("transcript-download").click()
        text = Path(download.value.path()).read_text()
        assert "] Ada Agent: Is it the blue one?" in text and "survey" not in text.lower()
        customer.get_by_test_id("transcript-email").fill("grace@example.com")
        customer.get_by_test_id("transcript-email-send").click()
        expect(customer.locator("[data-testid=transcript] [role=status]")).to_have_text(
            "The transcript is on its way.", timeout=TIMEOUT
        )
        wait_until(lambda: len(mail.outbox) == 1, what="the transcript mail")
        assert mail.outbox[0].to == ["grace@example.com"] and mail.outbox[0].body == text
        customer.get_by_test_id("transcript-email-send").click()  # at once again: refused, nothing sent
        expect(customer.locator("[data-testid=transcript] [role=status]")).to_contain_text("ask again", timeout=TIMEOUT)
        assert len(mail.outbox) == 1
    finally:
        agent_page.context.close()
        customer.context.close()


def test_nobody_online_the_offline_form_becomes_a_case_an_agent_finds(browser, asgi_server, host_site, shop):
    # spec: LIVE-4, SEC-1 — no agent available → the admin's message → the offline form → a case
    widget, agent = shop
    ChatWidget.objects.filter(pk=widget.pk).update(
        when_unavailable=ChatWidget.WhenUnavailable.OFFLINE_FORM, unavailable_message="We are all out. Write to us."
    )
    customer = browser.new_context(viewport=PHONE).new_page()
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        customer.get_by_test_id("chat-button").click()
        expect(customer.get_by_test_id("unavailable-message")).to_have_text(
            "We are all out. Write to us.", timeout=TIMEOUT
        )
        expect(customer.get_by_test_id("prechat-form")).to_have_count(0)
        expect(customer.get_by_test_id("offline-form")).to_be_visible()
        wait_until(lambda: focused_test_id(customer) == "offline-name")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        customer.screenshot(path=str(SCREENSHOTS / "phone-offline-form.png"))

        customer.get_by_test_id("offline-submit").click()
        expect(customer.get_by_test_id("offline-error-email")).not_to_be_empty(timeout=TIMEOUT)
        assert not Case.objects.exists()
        customer.get_by_test_id("offline-name").fill("Grace Hopper")
        customer.get_by_test_id("offline-email").fill("grace@example.com")
        customer.get_by_test_id("offline-message").fill("My kettle <b>leaks</b>; call me back?")
        customer.get_by_test_id("offline-submit").click()
        expect(customer.get_by_test_id("offline-sent")).to_be_visible(timeout=TIMEOUT)
        wait_until(lambda: focused_test_id(customer) == "offline-sent")

        # The agent of the widget's queue finds the case (the REST API, signed in).
        sign_in_available(agent_page, agent)
        response = agent_page.request.get("/api/v1/cases/?search=kettle")
        assert response.ok, response.text()
        cases = response.json()["results"]
        assert [(case["title"], case["description"]) for case in cases] == [
            ("Offline message from Grace Hopper", "My kettle <b>leaks</b>; call me back?")
        ]
    finally:
        agent_page.context.close()
        customer.context.close()


@pytest.mark.parametrize("phone", PHONES, ids=lambda size: f"{size['width']}x{size['height']}")
def test_on_a_phone_the_open_widget_fills_the_screen_and_works_by_keyboard(browser, host_site, shop, phone):
    # spec: WID-5 — size, keyboard, screen-reader labels
    size_name = f"{phone['width']}x{phone['height']}"
    customer = browser.new_context(viewport=phone, has_touch=True).new_page()
    try:
        customer.goto(f"{host_site.origin}/checkout")
        button = customer.get_by_test_id("chat-button")
        expect(button).to_be_visible(timeout=TIMEOUT)
        ready_ms = customer.evaluate(
            "() => window.hostEvents.some(e => e.event === 'ready') && performance.now()"
        )  # time to the rendered button, reported in the run's output
        print(f"\nfirst render of the chat button: within {ready_ms:.0f} ms of navigation")
        expect(button).to_have_attribute("aria-label", re.compile(r"\S"))
        expect(button).to_have_attribute("aria-expanded", "false")

        # Keyboard only: focus the button and press Enter; the pane opens with focus inside it.
        button.focus()
        customer.keyboard.press("Enter")
        pane = customer.get_by_test_id("chat-pane")
        expect(pane).to_be_visible()
        expect(pane).to_have_attribute("role", "dialog")
        expect(pane).to_have_attribute("aria-label", "Kettle help")
        wait_until(lambda: focused_test_id(customer) == "prechat-submit")
        box = pane.bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, phone["width"], phone["height"])
        close = customer.get_by_test_id("chat-close")
        close_box = close.bounding_box()
        assert close_box["x"] >= 0 and close_box["x"] + close_box["width"] <= phone["width"] and close_box["y"] >= 0
        assert close_box["width"] >= 44 and close_box["height"] >= 44
        expect(close).to_have_attribute("aria-label", re.compile(r"\S"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        customer.screenshot(path=str(SCREENSHOTS / f"phone-{size_name}-prechat.png"))

        customer.keyboard.press("Enter")  # start the chat
        composer = customer.get_by_test_id("composer")
        expect(composer).to_be_visible(timeout=TIMEOUT)
        wait_until(lambda: focused_test_id(customer) == "composer")
        expect(composer).to_have_attribute("aria-label", re.compile(r"\S"))
        expect(customer.get_by_test_id("messages")).to_have_attribute("role", "log")
        # No zoom on focus: every field the customer types in is at least 16 px.
        sizes = pane.evaluate(
            "pane => [...pane.querySelectorAll('input, textarea, select')]"
            ".map(node => [node.dataset.testid, parseFloat(getComputedStyle(node).fontSize)])"
        )
        assert sizes and all(size >= 16 for _name, size in sizes), sizes
        composer_box = composer.bounding_box()
        assert composer_box["y"] + composer_box["height"] <= phone["height"]  # the message box is on screen
        customer.keyboard.type("Hello from my phone")
        customer.keyboard.press("Enter")
        expect(customer.locator("[data-testid=message][data-sender=customer]")).to_contain_text(
            "Hello from my phone", timeout=TIMEOUT
        )
        customer.screenshot(path=str(SCREENSHOTS / f"phone-{size_name}-chat.png"))
        assert close.bounding_box() == close_box  # still reachable with the chat under way

        # Escape closes the pane and gives focus back to the chat button.
        customer.keyboard.press("Escape")
        expect(pane).to_be_hidden()
        assert focused_test_id(customer) == "chat-button"
    finally:
        customer.context.close()


SDK_EARLY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Early SDK calls</title>
<script>
  window.OmnichannelChat=window.OmnichannelChat||(function(){var s={q:[]};
  ["setContextProvider","setAuthTokenProvider","startChat","closeChat","startProactiveChat",
  "getAgentAvailability","logAction","on"].forEach(function(m){s[m]=function(){var a=[].slice.call(arguments);
  return new Promise(function(r,j){s.q.push([m,a,r,j])})}});return s})();
  window.order = [];
  OmnichannelChat.on("ready", function () { window.order.push("ready"); });
  OmnichannelChat.on("chatStarted", function (d) { window.order.push("chatStarted"); });
  OmnichannelChat.setContextProvider(function () { return { plan: { value: "pro", isDisplayable: true } }; });
  window.early = {};
  OmnichannelChat.getAgentAvailability().then(function (a) { window.early.availability = a; });
  OmnichannelChat.logAction("articleViewed", "Descaling a kettle").then(function (a) { window.early.action = a; });
  OmnichannelChat.startChat({ customContext: { basket: { value: "2 kettles", isDisplayable: true } } })
    .then(function (c) { window.early.chat = c; });
</script></head>
<body><p>The script tag comes last.</p>
<script src="__BASE_URL__/static/widgets/loader.js" data-widget="__WIDGET_KEY__" async></script>
</body></html>"""


def test_sdk_calls_made_before_the_script_loaded_are_queued_and_applied(browser, asgi_server, host_site, shop):
    # spec: WID-9 — the SDK works when called before the widget has finished loading
    widget, _agent = shop
    host_site.pages["/early"] = SDK_EARLY_PAGE.replace("__BASE_URL__", asgi_server.url).replace(
        "__WIDGET_KEY__", str(widget.public_key)
    )
    customer = browser.new_context().new_page()
    try:
        customer.goto(f"{host_site.origin}/early")
        customer.wait_for_function("window.early.chat && window.early.availability && window.early.action")
        early = customer.evaluate("window.early")
        assert early["availability"]["available"] is False  # nobody is signed in
        assert early["action"]["title"] == "Descaling a kettle"
        assert customer.evaluate("window.order") == ["ready", "chatStarted"]
        expect(customer.get_by_test_id("chat-pane")).to_be_visible()
        conversation = Conversation.objects.get(widget=widget)
        assert str(conversation.public_id) == early["chat"]["id"]
        assert conversation.context_variables["plan"]["value"] == "pro"  # the early provider
        assert conversation.context_variables["basket"]["value"] == "2 kettles"  # startChat's own
        assert SelfServiceAction.objects.get().title == "Descaling a kettle"
        assert customer.evaluate("window.OmnichannelChat.version") == 1  # the queue became the SDK
    finally:
        customer.context.close()
