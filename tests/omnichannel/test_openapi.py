"""The developer API's OpenAPI document, its docs page, and its endpoints' access rules (API-1, SEC-1)."""

import json
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from drf_spectacular.management.commands.spectacular import SchemaGenerationError
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from tests.routing.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"

# Every operation of the developer API: (path template, method).
OPERATIONS = {
    *((f"{API}/{kind}/", "get") for kind in ("contacts", "accounts", "cases", "notes")),
    *((f"{API}/{kind}/", "post") for kind in ("contacts", "accounts", "cases", "notes")),
    *(
        (f"{API}/{kind}/{{id}}/", method)
        for kind in ("contacts", "accounts", "cases", "notes")
        for method in ("get", "put", "patch")
    ),
    (f"{API}/notes/{{id}}/", "delete"),
    (f"{API}/conversations/", "get"),
    (f"{API}/conversations/{{id}}/", "get"),
    (f"{API}/conversations/{{conversation_id}}/messages/", "get"),
    # The customer summary (SUM-2..17).
    (f"{API}/conversations/{{conversation_id}}/summary/", "get"),
    (f"{API}/conversations/{{conversation_id}}/timeline/", "get"),
    (f"{API}/conversations/{{conversation_id}}/links/", "post"),
    (f"{API}/conversations/{{conversation_id}}/links/{{kind}}/", "delete"),
    (f"{API}/conversations/{{conversation_id}}/quick-notes/", "post"),
    (f"{API}/conversations/{{conversation_id}}/skills/", "put"),
    # Issue 15: tags and the search.
    (f"{API}/tags/", "get"),
    (f"{API}/conversations/search/", "get"),
    (f"{API}/conversations/{{conversation_id}}/tags/", "post"),
    (f"{API}/conversations/{{conversation_id}}/tags/{{tag_id}}/", "delete"),
    *((f"{API}/{kind}/", "get") for kind in ("queues", "workstreams", "agents", "presences")),
    *((f"{API}/{kind}/{{id}}/", "get") for kind in ("queues", "workstreams", "agents", "presences")),
    (f"{API}/agents/me/presence/", "get"),
    (f"{API}/agents/me/presence/", "put"),
    # ROU-13 pick mode, ROU-15 bots
    (f"{API}/work-items/open/", "get"),
    (f"{API}/work-items/{{work_item_id}}/pick/", "post"),
    (f"{API}/bot/conversations/", "post"),
    (f"{API}/bot/conversations/{{conversation_id}}/messages/", "get"),
    (f"{API}/bot/conversations/{{conversation_id}}/messages/", "post"),
    (f"{API}/bot/conversations/{{conversation_id}}/escalate/", "post"),
    # Issue 15: canned responses, the wrap-up code and closing
    (f"{API}/canned-responses/", "get"),
    (f"{API}/canned-responses/", "post"),
    *((f"{API}/canned-responses/{{canned_id}}/", method) for method in ("get", "patch", "delete")),
    (f"{API}/conversations/{{conversation_id}}/wrap-up-code/", "put"),
    (f"{API}/conversations/{{conversation_id}}/close/", "post"),
    # API-2: outbound webhook endpoints (admins)
    (f"{API}/webhook-endpoints/", "get"),
    (f"{API}/webhook-endpoints/", "post"),
    *((f"{API}/webhook-endpoints/{{id}}/", method) for method in ("get", "patch", "delete")),
    (f"{API}/webhook-endpoints/{{id}}/rotate-secret/", "post"),
}
HTTP_METHODS = {"get", "put", "patch", "post", "delete"}


@pytest.fixture(scope="module")
def document() -> dict:
    """The document as the app serves it (no database needed to build it)."""
    response = APIClient().get(f"{API}/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operations_of(document: dict) -> set[tuple[str, str]]:
    """The developer API's operations (the document may also describe other endpoints, e.g. the widget's)."""
    return {
        (path, method)
        for path, item in document["paths"].items()
        if path.startswith(f"{API}/")
        for method in item
        if method in HTTP_METHODS
    }


def test_the_served_document_is_valid_openapi_and_lists_every_endpoint(document):
    # spec: API-1 — described by an OpenAPI document served by the app
    validate(document)
    assert document["openapi"].startswith("3.")
    assert operations_of(document) == OPERATIONS
    assert document["components"]["securitySchemes"]["tokenAuth"]["type"] == "apiKey"


def test_the_document_describes_pagination_filters_and_separate_input_and_output(document):
    # spec: API-1 — pagination and filters
    contacts = document["paths"][f"{API}/contacts/"]
    parameters = {parameter["name"] for parameter in contacts["get"]["parameters"]}
    assert {"page", "search", "ordering", "email", "mobile_phone", "account"} <= parameters
    assert contacts["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContactRequest"
    }
    messages = document["paths"][f"{API}/conversations/{{conversation_id}}/messages/"]["get"]
    assert {parameter["name"] for parameter in messages["parameters"]} == {"conversation_id", "after", "page"}
    conversation = document["components"]["schemas"]["Conversation"]["properties"]
    assert {"channel", "status", "queue", "skills", "agent", "wait_seconds", "prechat_answers"} <= set(conversation)


def test_the_spectacular_command_validates_the_document_without_a_warning(tmp_path, capsys):
    # spec: API-1 — `manage.py spectacular --validate --fail-on-warn` passes
    reset_generator_stats()  # count only this run's warnings
    target = tmp_path / "schema.yaml"
    try:
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    except SchemaGenerationError:
        pytest.fail(f"The OpenAPI document has warnings or errors:\n{capsys.readouterr().err}")
    written = yaml.safe_load(target.read_text())
    validate(written)
    assert operations_of(written) == OPERATIONS


def test_the_docs_page_opens_for_a_logged_in_user(client):
    # spec: API-1 — Swagger UI with assets served by the app itself
    client.force_login(UserFactory())
    response = client.get(f"{API}/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert f"{API}/schema/" in page


def _requests(document: dict):
    """One request per operation, with 1 for every path parameter and a harmless body."""
    for path, method in sorted(operations_of(document)):
        yield method, re.sub(r"{[^}]+}", "1", path)


def test_every_endpoint_refuses_anonymous_callers_with_401_and_a_json_detail(document):
    # spec: API-1 — token authentication
    client = APIClient()
    answers = {
        (method, url): client.generic(method.upper(), url, "{}", "application/json")
        for method, url in _requests(document)
    }
    wrong = {
        key: (response.status_code, response.content)
        for key, response in answers.items()
        if response.status_code != 401 or response.json() != {"detail": "Authentication credentials were not provided."}
    }
    assert wrong == {}
    assert len(answers) == len(OPERATIONS)


def test_every_endpoint_refuses_a_user_who_is_neither_agent_nor_admin(document):
    # spec: SEC-1 — API tokens act with their user's rights
    client = APIClient()
    client.force_authenticate(UserFactory())
    answers = {
        (method, url): client.generic(method.upper(), url, "{}", "application/json")
        for method, url in _requests(document)
    }
    # ROU-15: the bot endpoints take a bot client's key only, not a user's token
    # (tests/conversations/test_bot_api.py).
    wrong = {key: response.status_code for key, response in answers.items() if response.status_code != 403}
    assert wrong == {}


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", [f"{API}/queues/0.5/", f"{API}/contacts/1/2/", f"{API}/nothing-here/", f"{API}/"])
def test_a_path_that_names_no_endpoint_is_a_json_404(method, path):
    # spec: API-1 — every answer of the API is documented JSON, an unknown path too (not the site's HTML page)
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    response = client.generic(method.upper(), path, "{}", "application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_every_operation_documents_its_errors_with_the_one_error_schema(document):
    # spec: API-1 — every 4xx the API can give is documented
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    missing = {}
    for path, method in OPERATIONS:
        responses = document["paths"][path][method]["responses"]
        required = {"401", "403", "404", "429"} | ({"409"} if method != "get" else set())
        if document["paths"][path][method].get("parameters") or document["paths"][path][method].get("requestBody"):
            required.add("400")
        lacking = sorted(code for code in required if responses.get(code, {}).get("content") != error)
        if lacking:
            missing[(path, method)] = lacking
    assert missing == {}
    assert "Retry-After" in document["paths"][f"{API}/contacts/"]["get"]["responses"]["429"]["headers"]


def test_a_validation_error_about_the_whole_input_is_an_object_of_the_error_schema():
    # spec: API-1 — one error schema: a bare list of errors becomes non_field_errors
    from rest_framework import serializers
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Refuses(APIView):
        permission_classes = []

        def get(self, request):
            raise serializers.ValidationError("Nothing fits.")

    response = Refuses.as_view()(APIRequestFactory().get("/"))
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Nothing fits."]}
