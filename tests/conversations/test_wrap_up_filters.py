"""Wrap-up codes filter the inbox, the search page, the search API and the conversation list
(issue 15), through the ``register_conversation_filter`` hook. A code the agent may not choose —
not a number, unknown, or of a workstream they do not work in — is a form error on a page and a
400 with a message in the API, never a 500 and never a silently empty result."""

# spec: CONV-1 (wrap-up: the code chosen when ending), SEC-1 (only codes of the agent's workstreams)

import pytest

from conversations.services import conversation_agent_end, conversation_wrap_up_close
from tests.api_helpers import ids, token_client
from tests.conversations.factories import WrapUpCodeFactory, chat_given_to
from tests.routing.factories import QueueFactory, SupervisorFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"
DASHBOARD = "/workspace/"
SEARCH = "/workspace/search/"


def closed_with(agent, code, **fields):
    conversation = chat_given_to(agent, workstream=code.settings.workstream, **fields)
    conversation_agent_end(conversation_id=conversation.pk, agent=agent)
    return conversation_wrap_up_close(conversation_id=conversation.pk, agent=agent, wrap_up_code_id=code.pk)


@pytest.fixture
def codes(agent, workstream):
    """Two codes of the agent's workstream, a conversation closed with each, and another
    workstream's code (a queue the agent is not in)."""
    resolved = WrapUpCodeFactory(workstream=workstream, name="Resolved")
    call_back = WrapUpCodeFactory(workstream=workstream, name="Call back")
    elsewhere = WrapUpCodeFactory(workstream=WorkstreamFactory(default_queue=QueueFactory(name="Elsewhere")))
    return {
        "resolved": resolved,
        "call_back": call_back,
        "elsewhere": elsewhere,
        "resolved_chat": closed_with(agent, resolved),
        "call_back_chat": closed_with(agent, call_back),
    }


def bad_values(codes) -> list:
    return ["x", "1.5", "999999", str(2**70), str(codes["elsewhere"].pk)]


def test_the_inbox_filters_by_wrap_up_code(client, agent, codes):
    client.force_login(agent.user)
    response = client.get(DASHBOARD, {"tab": "closed", "wrap_up_code": codes["resolved"].pk})
    assert [row.conversation_id for row in response.context["inbox"].rows] == [codes["resolved_chat"].pk]
    html = response.content.decode()
    assert '<label for="id_wrap_up_code">Wrap-up code</label>' in html
    assert "Resolved · " in html and codes["elsewhere"].name not in html  # only the agent's workstreams' codes
    unfiltered = client.get(DASHBOARD, {"tab": "closed"}).context["inbox"].rows
    assert {row.conversation_id for row in unfiltered} == {codes["resolved_chat"].pk, codes["call_back_chat"].pk}
    # The live panel the dashboard re-reads keeps the filter.
    panel = client.get("/workspace/inbox/", {"tab": "closed", "wrap_up_code": codes["call_back"].pk})
    assert [row.conversation_id for row in panel.context["inbox"].rows] == [codes["call_back_chat"].pk]


def test_a_bad_wrap_up_code_in_the_inbox_is_a_form_error(client, agent, codes):
    client.force_login(agent.user)
    for value in bad_values(codes):
        response = client.get(DASHBOARD, {"tab": "closed", "wrap_up_code": value})
        assert response.status_code == 200, value
        assert response.context["filter_form"].errors["wrap_up_code"], value
        assert 'data-testid="inbox-filter-error"' in response.content.decode(), value


def test_the_search_page_filters_by_wrap_up_code(client, agent, codes):
    client.force_login(agent.user)
    response = client.get(SEARCH, {"wrap_up_code": codes["call_back"].pk})
    assert [result["conversation"].pk for result in response.context["results"]] == [codes["call_back_chat"].pk]
    assert '<label for="id_wrap_up_code">Wrap-up code</label>' in response.content.decode()


def test_a_bad_wrap_up_code_on_the_search_page_is_a_form_error_and_no_search(client, agent, codes):
    client.force_login(agent.user)
    for value in bad_values(codes):
        response = client.get(SEARCH, {"wrap_up_code": value})
        assert response.status_code == 200, value
        assert response.context["page"] is None, value
        [error] = response.context["form"].errors["wrap_up_code"]
        assert "valid choice" in error, value
        assert error in response.content.decode()


def test_the_search_api_filters_by_wrap_up_code_and_refuses_a_bad_one_with_a_message(agent, codes):
    api = token_client(agent.user)
    search = f"{API}/conversations/search/"
    assert ids(api.get(search, {"wrap_up_code": codes["resolved"].pk})) == [codes["resolved_chat"].pk]
    assert ids(api.get(search, {"wrap_up_code": codes["call_back"].pk, "status": "closed"})) == [
        codes["call_back_chat"].pk
    ]
    expected = {
        "x": "Wrap-up code: give its id, a whole number.",
        "1.5": "Wrap-up code: give its id, a whole number.",
        "999999": "Wrap-up code: no such choice among yours.",
        str(2**70): "Wrap-up code: no such choice among yours.",
        str(codes["elsewhere"].pk): "Wrap-up code: no such choice among yours.",  # another workstream's
    }
    for value, message in expected.items():
        response = api.get(search, {"wrap_up_code": value})
        assert response.status_code == 400, value
        assert response.json()["wrap_up_code"] == [message], value


def test_a_supervisor_filters_by_any_workstreams_code(codes):
    api = token_client(SupervisorFactory().user)
    elsewhere = codes["elsewhere"]
    response = api.get(f"{API}/conversations/search/", {"wrap_up_code": elsewhere.pk})
    assert (response.status_code, ids(response)) == (200, [])


def test_the_conversation_list_api_refuses_another_workstreams_or_an_unknown_code(agent, codes):
    api = token_client(agent.user)
    listing = f"{API}/conversations/"
    assert ids(api.get(listing, {"wrap_up_code": codes["resolved"].pk})) == [codes["resolved_chat"].pk]
    for value in bad_values(codes):
        response = api.get(listing, {"wrap_up_code": value})
        assert response.status_code == 400, value
        assert response.json()["wrap_up_code"], value


def test_the_search_api_documents_the_wrap_up_code_parameter(agent):
    api = token_client(agent.user)
    schema = api.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = schema["paths"]["/api/v1/conversations/search/"]["get"]["parameters"]
    [wrap_up] = [parameter for parameter in parameters if parameter["name"] == "wrap_up_code"]
    assert wrap_up["schema"]["type"] == "integer"
