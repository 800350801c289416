"""The widget and the workspace in the customer's and the agent's language, in Debian's Chromium
set to each shipped locale (issue 17, I18N-1): the widget's button and pre-chat survey, the system
messages a waiting customer reads with counts 1 and 2, and the agent's incoming-chat alert and
conversation page. One server per locale, one browser for all.

The scripts' words (djangojs) are checked word for word; the server's sentences are checked
against what the catalogs say for that language (``wait_message_texts``, ``customer_words``), so
the test reads the same catalog the product does and fails on any word shown in another language.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.wait_messages import customer_words, wait_message_texts
from tests.conversations.factories import ConversationFactory
from tests.e2e.workspace import TIMEOUT, host_page, sign_in_available
from tests.routing.factories import AgentProfileFactory, QueueFactory, WorkstreamFactory, presence
from tests.widgets.factories import ChatWidgetFactory, PreChatQuestionFactory

# The scripts' own words (locale/<lang>/LC_MESSAGES/djangojs.po), as a speaker would expect them.
WORDS = {
    "fr-FR": {
        "open": "Ouvrir le chat",
        "start": "Démarrer le chat",
        "choose": "Choisir…",
        "connected": "Connecté",
        "left": "Encore ",
    },
    "pl-PL": {
        "open": "Otwórz czat",
        "start": "Rozpocznij czat",
        "choose": "Wybierz…",
        "connected": "Połączono",
        "left": "Pozostało: ",
    },
    "id-ID": {
        "open": "Buka obrolan",
        "start": "Mulai obrolan",
        "choose": "Pilih…",
        "connected": "Terhubung",
        "left": "Sisa ",
    },
    "ro-RO": {
        "open": "Deschideți chatul",
        "start": "Începeți chatul",
        "choose": "Alegeți…",
        "connected": "Conectat",
        "left": "Timp rămas: ",
    },
}


@pytest.fixture
def shop(asgi_server, host_site):
    queue = QueueFactory(name="Kettles")
    workstream = WorkstreamFactory(name="Shop chat", default_queue=queue)
    widget = ChatWidgetFactory(workstream=workstream, origins=[host_site.origin], language="", title="Kettle help")
    PreChatQuestionFactory(widget=widget, order=1, name="topic", label="Topic", kind="option_set", choices=["Orders"])
    host_site.pages["/checkout"] = host_page(asgi_server, widget)
    return widget


def start_chat(customer, host_site, words):
    customer.goto(f"{host_site.origin}/checkout")
    button = customer.get_by_test_id("chat-button")
    expect(button).to_have_attribute("aria-label", words["open"], timeout=TIMEOUT)  # the widget's button
    button.click()
    submit = customer.get_by_test_id("prechat-submit")
    expect(submit).to_have_text(words["start"], timeout=TIMEOUT)  # the pre-chat survey
    expect(customer.locator("[data-testid=prechat-field-topic] option").first).to_have_text(words["choose"])
    customer.get_by_test_id("prechat-field-topic").select_option("Orders")
    submit.click()


@pytest.mark.parametrize("locale", list(WORDS))
def test_customer_and_agent_each_read_their_own_language(browser, asgi_server, host_site, shop, locale):
    # spec: I18N-1, LIVE-1, NOT-4 — Chromium set to the locale; the agent's own setting the same
    lang, words = locale[:2], WORDS[locale]
    agent = AgentProfileFactory(
        display_name="Ada", queues=[shop.workstream.default_queue], language=lang, presence=presence("offline")
    )
    with translation.override(lang):  # the server's words, as its catalog says them
        dashboard, send = gettext("Dashboard"), gettext("Send")
    agent_context = browser.new_context(base_url=asgi_server.url, locale="en-GB")  # the agent's setting wins
    first_context, second_context = browser.new_context(locale=locale), browser.new_context(locale=locale)
    try:
        agent_page = agent_context.new_page()
        sign_in_available(agent_page, agent)
        expect(agent_page.locator("html")).to_have_attribute("lang", lang)
        expect(agent_page.get_by_test_id("connection")).to_have_text(words["connected"])
        assert dashboard in agent_page.content()

        # The first customer waits first: number 1, about 1 minute (no chat waited before).
        first = first_context.new_page()
        start_chat(first, host_site, words)
        one = wait_message_texts(workstream=shop.workstream, position=1, minutes=1, language=locale)
        for text in one:
            expect(first.get_by_test_id("messages")).to_contain_text(text, timeout=TIMEOUT)

        # The agent's alert, in the agent's language, counting down.
        notification = agent_page.get_by_test_id("notification")
        expect(notification).to_be_visible(timeout=TIMEOUT)
        expect(agent_page.get_by_test_id("countdown")).to_have_text(re.compile("^" + re.escape(words["left"])))

        # A chat that waited 90 s makes the average 2 minutes; the second customer is number 2.
        waited = ConversationFactory(workstream=shop.workstream, queue=shop.workstream.default_queue)
        now = timezone.now()
        Conversation.objects.filter(pk=waited.pk).update(
            created_at=now - timedelta(seconds=120), first_assigned_at=now - timedelta(seconds=30)
        )
        second = second_context.new_page()
        start_chat(second, host_site, words)
        two = wait_message_texts(workstream=shop.workstream, position=2, minutes=2, language=locale)
        assert two != one
        for text in two:
            expect(second.get_by_test_id("messages")).to_contain_text(text, timeout=TIMEOUT)

        # The agent accepts: the conversation page in their language; the customer reads "joined" in theirs.
        agent_page.get_by_test_id("notification-accept").first.click()
        agent_page.wait_for_url(re.compile(r"/workspace/conversations/\d+/"), timeout=TIMEOUT)
        expect(agent_page.locator("html")).to_have_attribute("lang", lang)
        expect(agent_page.get_by_test_id("send")).to_have_text(send)
        joined = customer_words(locale, "%(name)s joined the chat.", name="Ada")
        expect(first.get_by_test_id("messages")).to_contain_text(joined, timeout=TIMEOUT)
    finally:
        for context in (agent_context, first_context, second_context):
            context.close()
