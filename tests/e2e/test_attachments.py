"""Files both ways in a real browser (issue 16): a customer on another website attaches an image
and a PDF, the agent sees the thumbnail and the named link and sends a file back, the customer
sees it with the agent's name and avatar in the header; then the customer closes the pane, the
agent writes, the badge shows 1; the chat ends, the survey is answered and the agent sees the
rating."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from conversations.models import Attachment, SurveyResponse
from tests.conversations.attachment_files import PDF, png_bytes
from tests.e2e.workspace import COUNT_TONES, TIMEOUT, accept_offer, customer_starts_chat, kettle_shop, sign_in_available
from tests.live import wait_until
from widgets.models import ChatWidget

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def shop(asgi_server, host_site, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    widget, agent = kettle_shop(
        asgi_server, host_site, questions=(), survey_rating=ChatWidget.SurveyRating.STARS, unread_sound=True
    )
    agent.avatar.save("ada.png", SimpleUploadedFile("ada.png", png_bytes((24, 24), (20, 140, 60))), save=True)
    return widget, agent


def files(page, name: str):
    """A DataTransfer holding one small text file, as a drop or a paste carries it."""
    return page.evaluate_handle(
        "(name) => { const dt = new DataTransfer(); dt.items.add(new File(['Hello'], name, {type: 'text/plain'}));"
        " return dt; }",
        name,
    )


def loaded(image) -> bool:
    return image.evaluate("(img) => img.complete && img.naturalWidth > 0")


def test_the_customer_and_the_agent_send_each_other_files(browser, asgi_server, host_site, shop):
    # spec: LIVE-2, SEC-2 — issue 16's browser test: files both ways, avatar, badge, survey, rating
    widget, agent = shop
    agent_page = browser.new_context(base_url=asgi_server.url).new_page()
    customer = browser.new_context().new_page()
    customer.add_init_script(COUNT_TONES)
    try:
        sign_in_available(agent_page, agent)
        customer_starts_chat(customer, host_site)
        accept_offer(agent_page)
        expect(customer.get_by_test_id("message").last).to_contain_text("Ada Agent joined", timeout=TIMEOUT)

        # The customer attaches an image and a PDF with the labelled button's file picker.
        attach = customer.get_by_role("button", name="Attach a file")
        expect(attach).to_be_visible(timeout=TIMEOUT)
        with customer.expect_file_chooser() as chooser:
            attach.click()
        chooser.value.set_files(
            [
                {"name": "kettle.png", "mimeType": "image/png", "buffer": png_bytes((40, 30))},
                {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF},
            ]
        )

        # The agent sees the thumbnail (loaded through its signed link) and the named link with its size.
        thumbnail = agent_page.get_by_test_id("attachment-image").locator("img")
        expect(thumbnail).to_have_attribute("alt", "Open kettle.png full size", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("attachment-file")).to_have_text("receipt.pdf", timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("attachment-size")).to_have_text(f"{len(PDF)}\xa0bytes")
        wait_until(lambda: loaded(thumbnail), what="the agent's thumbnail to load")

        # The customer sees their own image as a thumbnail too, from the product's origin.
        own = customer.get_by_test_id("attachment-image").locator("img")
        expect(own).to_have_attribute("alt", "Open kettle.png full size", timeout=TIMEOUT)
        expect(customer.get_by_test_id("attachment-file")).to_have_text("receipt.pdf", timeout=TIMEOUT)
        wait_until(lambda: loaded(own), what="the customer's thumbnail to load")

        # The agent sends a file back with the workspace's button; the customer sees it.
        with agent_page.expect_file_chooser() as chooser:
            agent_page.get_by_role("button", name="Attach a file").click()
        chooser.value.set_files({"name": "steps.txt", "mimeType": "text/plain", "buffer": b"1. Descale the kettle.\n"})
        expect(customer.get_by_test_id("attachment-file").last).to_have_text("steps.txt", timeout=TIMEOUT)
        expect(customer.locator("[data-testid=message][data-sender=agent]").last).to_contain_text("23\xa0bytes")
        # The header names the agent with the avatar the admin set, loaded through its signed link.
        expect(customer.get_by_test_id("chat-title")).to_have_text("Ada Agent")
        avatar = customer.get_by_test_id("agent-avatar")
        expect(avatar).to_have_attribute("src", re.compile(rf"^{re.escape(asgi_server.url)}/avatars/"))
        wait_until(lambda: loaded(avatar), what="the agent's avatar to load")
        assert avatar.evaluate("(img) => img.alt") == ""  # the name beside it says who it is
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        customer.screenshot(path=str(SCREENSHOTS / "widget-agent-avatar.png"))

        # Dropped on the chat (the agent) and pasted into the message box (the customer).
        agent_page.get_by_test_id("messages").dispatch_event("drop", {"dataTransfer": files(agent_page, "dropped.txt")})
        expect(customer.get_by_test_id("attachment-file").last).to_have_text("dropped.txt", timeout=TIMEOUT)
        customer.get_by_test_id("composer").evaluate(
            "(box, data) => box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}))",
            files(customer, "pasted.txt"),
        )
        expect(agent_page.get_by_test_id("attachment-file").last).to_have_text("pasted.txt", timeout=TIMEOUT)

        stored = Attachment.objects.filter(message__conversation__widget=widget).order_by("message__seq")
        assert list(stored.values_list("message__sender", "name", "content_type")) == [
            ("customer", "kettle.png", "image/png"),
            ("customer", "receipt.pdf", "application/pdf"),
            ("agent", "steps.txt", "text/plain; charset=utf-8"),
            ("agent", "dropped.txt", "text/plain; charset=utf-8"),
            ("customer", "pasted.txt", "text/plain; charset=utf-8"),
        ]

        # The customer closes the pane; the agent writes; the badge shows 1 and, as this widget
        # is set to, a tone plays (none played while the pane was open).
        assert customer.evaluate("window.tones") == 0
        customer.get_by_test_id("chat-close").click()
        agent_page.get_by_test_id("composer").fill("Did the steps help?")
        agent_page.get_by_test_id("send").click()
        expect(customer.get_by_test_id("unread-badge")).to_have_text("1", timeout=TIMEOUT)
        assert customer.evaluate("window.tones") == 1
        customer.get_by_test_id("chat-button").click()
        expect(customer.get_by_test_id("unread-badge")).to_be_hidden()

        # The chat ends, the customer answers the survey, the agent sees the rating.
        customer.get_by_test_id("end-chat").click()
        customer.get_by_test_id("end-chat-confirm").click()
        expect(customer.get_by_test_id("survey")).to_be_visible(timeout=TIMEOUT)
        customer.get_by_test_id("survey-rating-5").click()
        customer.get_by_test_id("survey-submit").click()
        expect(customer.get_by_test_id("survey-thanks")).to_be_visible(timeout=TIMEOUT)
        assert SurveyResponse.objects.get(conversation__widget=widget).rating == 5
        expect(agent_page.get_by_test_id("survey-rating")).to_have_attribute("data-rating", "5", timeout=TIMEOUT)
    finally:
        agent_page.context.close()
        customer.context.close()
