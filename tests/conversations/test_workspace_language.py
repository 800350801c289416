"""The agent chooses the workspace's language on the dashboard (issue 17, I18N-1)."""

import pytest
from django.test import Client

from agents.services import agent_language_set
from core.errors import DomainError
from tests.routing.factories import AgentProfileFactory, SupervisorFactory

DASHBOARD = "/workspace/"
LANGUAGE = "/workspace/language/"

pytestmark = pytest.mark.django_db


def test_an_agent_sets_their_own_language_and_a_supervisor_anyones():
    # spec: I18N-1
    agent, colleague = AgentProfileFactory(), AgentProfileFactory()
    assert agent_language_set(agent_id=agent.pk, language="fr", by=agent.user).language == "fr"
    with pytest.raises(DomainError) as refused:
        agent_language_set(agent_id=colleague.pk, language="fr", by=agent.user)
    assert refused.value.code == "forbidden"
    colleague.refresh_from_db()
    assert colleague.language == ""
    agent_language_set(agent_id=colleague.pk, language="pl", by=SupervisorFactory().user)
    colleague.refresh_from_db()
    assert colleague.language == "pl"
    agent_language_set(agent_id=agent.pk, language="", by=agent.user)
    agent.refresh_from_db()
    assert agent.language == ""


@pytest.mark.parametrize("bad", [None, 1, ["fr"], "FR", "fr-FR", "de", " fr"])
def test_a_bad_language_is_refused_and_changes_nothing(bad):
    # spec: I18N-1
    agent = AgentProfileFactory(language="ro")
    with pytest.raises(DomainError) as refused:
        agent_language_set(agent_id=agent.pk, language=bad, by=agent.user)
    assert refused.value.code == "invalid"
    agent.refresh_from_db()
    assert agent.language == "ro"


def test_the_dashboard_lists_each_language_by_its_own_name_and_then_speaks_the_chosen_one(client, agent):
    # spec: I18N-1
    client.force_login(agent.user)
    html = client.get(DASHBOARD).content.decode()
    assert '<label for="language-select">Language</label>' in html
    assert '<option value="" selected>Browser language</option>' in html
    assert '<option value="fr" lang="fr">Français</option>' in html
    response = client.post(LANGUAGE, {"language": "fr"})
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    agent.refresh_from_db()
    assert agent.language == "fr"
    html = client.get(DASHBOARD).content.decode()
    assert '<html lang="fr">' in html
    assert '<option value="fr" lang="fr" selected>Français</option>' in html
    assert "Langue enregistrée." in html


def test_the_view_takes_only_a_post_with_its_token_and_answers_bad_input_with_400(agent):
    # spec: I18N-1
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent.user)
    assert client.get(LANGUAGE).status_code == 405
    assert client.post(LANGUAGE, {"language": "fr"}).status_code == 403  # no CSRF token
    client = Client()
    client.force_login(agent.user)
    for bad in ({"language": "FR"}, {"language": "xx"}):
        response = client.post(LANGUAGE, bad, HTTP_ACCEPT="application/json")
        assert response.status_code == 400 and response.json()["code"] == "invalid"
    agent.refresh_from_db()
    assert agent.language == ""
    response = client.post(LANGUAGE, {"language": "id"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"language": "id"}


def test_only_agents_may_post(client):
    response = client.post(LANGUAGE, {"language": "fr"})
    assert response.status_code in (302, 403)
