"""The customer summary through the developer API, bounded queries on the page and the API, and
the live `summary.changed` frame (SUM-9, SUM-16, SUM-17, API-1, SEC-1)."""

import json

import pytest
from websockets.sync.client import connect

from conversations import customer_links
from conversations.models import ChatSettings
from customers.models import Note
from tests.api_helpers import token_client
from tests.conversations.factories import chat_given_to, closed_chat_of
from tests.customers.factories import ContactFactory
from tests.customers.summary_helpers import customer_with_history, summary_url
from tests.routing.factories import (
    AgentProfileFactory,
    QueueFactory,
    SkillFactory,
    SupervisorFactory,
    UserFactory,
    WorkstreamFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/conversations"


def test_the_summary_and_its_timeline_through_the_api(agent, workstream):
    # spec: API-1, SUM-2, SUM-16
    contact = customer_with_history(25, workstream=workstream)
    conversation = chat_given_to(agent, workstream=workstream, contact=contact, account=contact.account)
    api = token_client(agent.user)
    data = api.get(f"{API}/{conversation.pk}/summary/").json()
    assert data["contact"]["name"] == "Marta Nowak"
    assert data["account"]["name"] == "Globex"
    assert data["queue"] == "Support" and data["read_only"] is False
    assert [r["kind"] for r in data["linked_records"]] == ["contact", "account"]
    assert data["timeline"]["record"]["kind"] == "contact" and len(data["timeline"]["items"]) == 20
    cursor = data["timeline"]["next_cursor"]
    rest = api.get(f"{API}/{conversation.pk}/timeline/", {"record": "contact", "cursor": cursor}).json()
    assert len(rest["items"]) == 5 and rest["next_cursor"] is None
    ids = [(i["kind"], i["id"]) for i in data["timeline"]["items"] + rest["items"]]
    assert len(set(ids)) == 25
    account_page = api.get(f"{API}/{conversation.pk}/timeline/", {"record": "account"}).json()
    assert account_page["items"] == [] and account_page["record"]["label"] == "Globex"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"record": "planet"},
        {"record": "contact", "cursor": "xx"},
        {"record": "contact", "limit": 0},
        {"record": "case"},
    ],
)
def test_bad_timeline_parameters_are_a_400_or_409(agent, workstream, params):
    # spec: SUM-16 — never a 500
    conversation = chat_given_to(agent, workstream=workstream, contact=ContactFactory())
    response = token_client(agent.user).get(f"{API}/{conversation.pk}/timeline/", params)
    assert response.status_code == 400, response.json()


def test_linking_noting_and_skills_through_the_api(agent, workstream):
    # spec: API-1, SUM-4, SUM-7, SUM-14, SUM-16
    contact = ContactFactory(last_name="Hopper")
    conversation = chat_given_to(agent, workstream=workstream)
    api = token_client(agent.user)
    response = api.post(f"{API}/{conversation.pk}/links/", {"kind": "contact", "id": contact.pk}, format="json")
    assert response.status_code == 200 and response.json()["contact"]["id"] == contact.pk
    response = api.post(f"{API}/{conversation.pk}/quick-notes/", {"record": "contact", "text": "VIP"}, format="json")
    assert response.status_code == 201 and response.json()["contact"]["id"] == contact.pk
    assert Note.objects.get(text="VIP").conversation_id == conversation.pk
    skill = SkillFactory(name="Billing")
    response = api.put(f"{API}/{conversation.pk}/skills/", {"skills": [skill.pk]}, format="json")
    assert response.status_code == 403
    ChatSettings.objects.filter(workstream=workstream).update(agents_may_edit_skills=True)
    response = api.put(f"{API}/{conversation.pk}/skills/", {"skills": [skill.pk]}, format="json")
    assert response.status_code == 200 and [s["name"] for s in response.json()["skills"]] == ["Billing"]
    assert api.put(f"{API}/{conversation.pk}/skills/", {"skills": [999999]}, format="json").status_code == 404
    response = api.delete(f"{API}/{conversation.pk}/links/contact/")
    assert response.status_code == 200 and response.json()["contact"] is None
    assert api.delete(f"{API}/{conversation.pk}/links/planet/").status_code == 404
    response = api.post(f"{API}/{conversation.pk}/links/", {"kind": "contact", "id": 1, "x": 1}, format="json")
    assert response.status_code == 400 and "x" in response.json()


def test_another_queues_agent_gets_404_and_a_colleague_who_does_not_hold_it_403(agent, workstream):
    # spec: SEC-1
    contact = ContactFactory()
    conversation = chat_given_to(agent, workstream=workstream, contact=contact)
    stranger = token_client(AgentProfileFactory(queues=[QueueFactory(name="Elsewhere")]).user)
    for path in ("summary/", "timeline/?record=contact"):
        assert stranger.get(f"{API}/{conversation.pk}/{path}").status_code == 404
    body = {"record": "contact", "text": "hi"}
    assert stranger.post(f"{API}/{conversation.pk}/quick-notes/", body, format="json").status_code == 404
    assert stranger.get(f"{API}/{2**63}/summary/").status_code == 404
    colleague = token_client(AgentProfileFactory(queues=[workstream.default_queue]).user)
    assert colleague.get(f"{API}/{conversation.pk}/summary/").json()["read_only"] is True
    assert colleague.post(f"{API}/{conversation.pk}/quick-notes/", body, format="json").status_code == 403
    supervisor = token_client(SupervisorFactory().user)
    assert supervisor.post(f"{API}/{conversation.pk}/quick-notes/", body, format="json").status_code == 201
    nobody = token_client(UserFactory())
    assert nobody.get(f"{API}/{conversation.pk}/summary/").status_code == 403
    assert Note.objects.count() == 1


def test_a_closed_conversations_summary_is_read_only_through_the_api(agent, workstream):
    # spec: SUM-1
    conversation = closed_chat_of(agent, workstream=workstream, contact=ContactFactory())
    api = token_client(agent.user)
    assert api.get(f"{API}/{conversation.pk}/summary/").json()["read_only"] is True
    response = api.post(f"{API}/{conversation.pk}/quick-notes/", {"record": "contact", "text": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "read_only"


def test_the_openapi_document_describes_the_summary_endpoints(client):
    # spec: API-1
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/conversations/{conversation_id}/summary/",
        "/api/v1/conversations/{conversation_id}/timeline/",
        "/api/v1/conversations/{conversation_id}/links/",
        "/api/v1/conversations/{conversation_id}/links/{kind}/",
        "/api/v1/conversations/{conversation_id}/quick-notes/",
        "/api/v1/conversations/{conversation_id}/skills/",
    ):
        assert path in schema["paths"], path
    assert "CustomerSummary" in schema["components"]["schemas"]
    timeline = schema["paths"]["/api/v1/conversations/{conversation_id}/timeline/"]["get"]
    assert {p["name"] for p in timeline["parameters"]} >= {"record", "cursor", "limit"}


# --- SUM-17: bounded queries whatever the size of the history ----------------------------------

PAGE_QUERIES = 15
#: The conversation page also reads its notes, canned replies and wrap-up codes (3), the agent's
#: read marker (1) and the tags (2) — issue 15.
CONVERSATION_PAGE_QUERIES = PAGE_QUERIES + 6
API_QUERIES = 9
TIMELINE_QUERIES = 8


@pytest.mark.parametrize("items", [10, 10_000])
def test_the_page_and_the_api_take_a_fixed_number_of_queries_at_10_and_10000_items(
    client, agent, workstream, items, django_assert_max_num_queries
):
    # spec: SUM-17
    contact = customer_with_history(items, workstream=workstream, exact_times=False)
    conversation = chat_given_to(agent, workstream=workstream, contact=contact, account=contact.account)
    client.force_login(agent.user)
    with django_assert_max_num_queries(CONVERSATION_PAGE_QUERIES):
        response = client.get(f"/workspace/conversations/{conversation.pk}/")
    assert response.status_code == 200
    assert len(response.context["summary"].timeline.items) == min(items, 20)
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get(summary_url(conversation.pk)).status_code == 200
    with django_assert_max_num_queries(TIMELINE_QUERIES):
        assert client.get(summary_url(conversation.pk, "timeline/"), {"record": "contact"}).status_code == 200
    api = token_client(agent.user)
    with django_assert_max_num_queries(API_QUERIES):
        data = api.get(f"{API}/{conversation.pk}/summary/").json()
    assert len(data["timeline"]["items"]) == min(items, 20)
    params = {"record": "contact", "limit": 100}
    if data["timeline"]["next_cursor"]:
        params["cursor"] = data["timeline"]["next_cursor"]
    with django_assert_max_num_queries(TIMELINE_QUERIES):
        page = api.get(f"{API}/{conversation.pk}/timeline/", params)
    assert page.status_code == 200
    assert len(page.json()["items"]) == (10 if items == 10 else 100)


# --- SUM-9: the frame the page re-reads on -------------------------------------------------------


def test_a_joined_workspace_socket_gets_summary_changed_when_a_record_is_linked(asgi_server, client, in_memory_layer):
    # spec: SUM-9 — the page re-reads its summary on this frame (summary.js)
    workstream = WorkstreamFactory(default_queue=QueueFactory(name="Live"))
    agent = AgentProfileFactory(queues=[workstream.default_queue])
    conversation = chat_given_to(agent, workstream=workstream)
    contact = ContactFactory()
    client.force_login(agent.user)
    with connect(
        f"{asgi_server.ws_url}/ws/workspace/",
        origin=asgi_server.url,
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
        open_timeout=5,
    ) as ws:
        assert until(ws, "hello")["agent"] == agent.pk
        ws.send(json.dumps({"type": "conversation.join", "conversation": conversation.pk, "after": 10**6}))
        until(ws, "conversation.joined")
        customer_links.conversation_record_link(
            conversation_id=conversation.pk, kind="contact", record_id=contact.pk, by=agent.user
        )
        frame = until(ws, "summary.changed")
    assert frame == {"type": "summary.changed", "conversation": conversation.pk, "changed": ["contact", "timeline"]}


def until(ws, frame_type: str) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] == frame_type:
            return frame
