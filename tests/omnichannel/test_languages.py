"""The right language for each person (issue 17, I18N-1): the widget's words follow the widget's
language, else the visitor's browser; the workspace the agent's own setting, then the browser; the
admin center the admin's; what a customer receives the conversation's language, never the agent's."""

import pytest
from django.utils import translation

from agents.models import AgentProfile
from conversations.services import conversation_agent_end
from tests.conversations.factories import chat_given_to
from tests.routing.factories import AgentProfileFactory
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory
from widgets.selectors import widget_catalog, widget_msgids

pytestmark = pytest.mark.django_db

OPEN_CHAT = {"fr": "Ouvrir le chat", "id": "Buka obrolan", "ro": "Deschideți chatul", "pl": "Otwórz czat"}


@pytest.mark.parametrize("browser, lang", [("fr-FR,fr;q=0.9", "fr"), ("id-ID", "id"), ("ro-RO", "ro"), ("pl", "pl")])
def test_the_widgets_words_come_in_the_visitors_browser_language(client, browser, lang):
    # spec: I18N-1 — the widget's script words travel in the session answer, from the djangojs catalog
    widget = ChatWidgetFactory(origins=[ORIGIN], language="")
    config = call(client, widget, "session", {}, HTTP_ACCEPT_LANGUAGE=browser).json()["config"]
    assert config["language"] == lang
    assert config["catalog"]["Open chat"] == OPEN_CHAT[lang]
    # Every word of the widget and only those; one the language says as English does (French
    # "Messages") needs no entry.
    assert set(config["catalog"]) <= set(widget_msgids())
    assert len(config["catalog"]) >= len(widget_msgids()) - 1


def test_the_widgets_own_language_wins_over_the_browsers_and_english_needs_no_catalog(client):
    # spec: I18N-1
    widget = ChatWidgetFactory(origins=[ORIGIN], language="pl")
    config = call(client, widget, "session", {}, HTTP_ACCEPT_LANGUAGE="fr-FR").json()["config"]
    assert config["catalog"]["Start chat"] == "Rozpocznij czat"
    english = ChatWidgetFactory(origins=[ORIGIN], language="")
    assert call(client, english, "session", {}, HTTP_ACCEPT_LANGUAGE="en-GB").json()["config"]["catalog"] == {}
    assert widget_catalog("xx-YY") == {} and widget_catalog("") == {}


WORKSPACE_WORD = {"ro": "Tablou de bord", "pl": "Pulpit", "en": "Dashboard"}


@pytest.mark.parametrize(
    "own, browser, shown", [("ro", "pl", "ro"), ("pl", "ro", "pl"), ("", "pl", "pl"), ("", "ro", "ro")]
)
def test_the_workspace_follows_the_agents_own_language_then_the_browser(client, agent, own, browser, shown):
    # spec: I18N-1
    agent.language = own
    agent.save(update_fields=["language"])
    client.force_login(agent.user)
    html = client.get("/workspace/", HTTP_ACCEPT_LANGUAGE=browser).content.decode()
    assert f'<html lang="{shown}">' in html
    assert WORKSPACE_WORD[shown] in html
    assert f'<script src="/jsi18n/{shown}/"></script>' in html  # the scripts' words, the same language
    assert f"lang={shown}" in html  # and the socket's (messages rendered for the page)


def test_a_new_agent_follows_the_browser():
    # spec: I18N-1 — blank is "the browser's language"
    assert AgentProfileFactory().language == ""
    assert AgentProfile._meta.get_field("language").blank


HELP = {
    "ro": "Agenții primesc conversația imediat, în loc de o solicitare de acceptat.",
    "pl": "Agenci otrzymują rozmowę od razu, zamiast propozycji do zaakceptowania.",
}


@pytest.mark.parametrize("own, browser, shown", [("pl", "ro", "pl"), ("", "ro", "ro")])
def test_the_admin_center_follows_the_admins_own_language_then_the_browser(
    admin_client, admin_user, own, browser, shown, django_assert_max_num_queries
):
    # spec: I18N-1, ADM-1
    AgentProfileFactory(user=admin_user, language=own)
    with django_assert_max_num_queries(12):  # the admin's language costs no query of its own
        html = admin_client.get("/admin/routing/workstream/add/", HTTP_ACCEPT_LANGUAGE=browser).content.decode()
    assert HELP[shown] in html
    assert HELP[{"pl": "ro", "ro": "pl"}[shown]] not in html


def test_an_admin_who_is_no_agent_reads_the_browsers_language(admin_client):
    # spec: I18N-1
    assert HELP["pl"] in admin_client.get("/admin/routing/workstream/add/", HTTP_ACCEPT_LANGUAGE="pl").content.decode()


def test_what_the_customer_receives_is_in_the_conversations_language_not_the_agents():
    # spec: I18N-1, LIVE-3 — "agent joined" and "chat ended", stored in the customer's words
    agent = AgentProfileFactory(display_name="Ada", language="ro")
    with translation.override("ro"):  # the agent's workspace is in Romanian as they act
        conversation = chat_given_to(agent, language="pl-PL")
        conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    texts = list(conversation.messages.filter(sender="system").order_by("seq").values_list("text", flat=True))
    assert texts == ["Ada dołącza do czatu.", "Ada kończy czat."]


def test_a_conversation_in_a_language_we_do_not_ship_gets_english_not_the_agents():
    # spec: I18N-1
    agent = AgentProfileFactory(display_name="Ada", language="ro")
    with translation.override("ro"):
        conversation = chat_given_to(agent, language="de-DE")
    assert conversation.messages.get(sender="system").text == "Ada joined the chat."
