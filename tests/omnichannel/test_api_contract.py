"""Real answers of the developer API, served for real, match its served OpenAPI document (API-1).

schemathesis' own response checks judge each answer against the document the app serves:
the status code is documented, the content type is, and the body conforms to the schema.
"""

import pytest
import requests
import schemathesis
from rest_framework.authtoken.models import Token

from tests.customers.factories import AccountFactory, ContactFactory
from tests.routing.factories import (
    OperatingHoursFactory,
    OperatingWindowFactory,
    QueueFactory,
    UserFactory,
    WorkstreamFactory,
)

API = "/api/v1"


@pytest.fixture
def admin_api(asgi_server):
    """Call the live server as an admin; ``check(template, path)`` GETs and validates the answer."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=UserFactory(is_staff=True)).key}"
    document = session.get(f"{asgi_server.url}{API}/schema/", params={"format": "json"}, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)

    def check(template: str, path: str | None = None) -> dict:
        response = session.get(f"{asgi_server.url}{path or template}", timeout=10)
        assert response.status_code == 200, response.text
        schema[template]["GET"].validate_response(response)  # raises on any violation
        return response.json()

    return check


def test_a_contact_without_email_or_language_matches_the_document(admin_api):
    # spec: API-1 — responses match the OpenAPI document (an empty email is no `format: email` violation)
    contact = ContactFactory(email="", preferred_language="")
    assert admin_api(f"{API}/contacts/")["results"][0]["email"] == ""
    body = admin_api(f"{API}/contacts/{{id}}/", f"{API}/contacts/{contact.pk}/")
    assert (body["email"], body["preferred_language"]) == ("", "")


def test_an_account_without_email_or_website_matches_the_document(admin_api):
    # spec: API-1 — responses match the OpenAPI document
    account = AccountFactory(email="", website="")
    body = admin_api(f"{API}/accounts/{{id}}/", f"{API}/accounts/{account.pk}/")
    assert (body["email"], body["website"]) == ("", "")
    admin_api(f"{API}/accounts/")


def test_a_workstream_without_a_chat_mode_matches_the_document(admin_api):
    # spec: API-1 — responses match the OpenAPI document (chat_mode "" for a non-chat workstream)
    workstream = WorkstreamFactory(channel="sms", chat_mode="")
    body = admin_api(f"{API}/workstreams/{{id}}/", f"{API}/workstreams/{workstream.pk}/")
    assert body["chat_mode"] == ""
    admin_api(f"{API}/workstreams/")


def test_a_queue_with_operating_hours_matches_the_document(admin_api):
    # spec: API-1 — responses match the OpenAPI document (opening times are local wall-clock times)
    window = OperatingWindowFactory(opens_at="08:00", closes_at="20:00")
    queue = QueueFactory(operating_hours=window.schedule)
    QueueFactory(operating_hours=None)
    QueueFactory(operating_hours=OperatingHoursFactory())
    body = admin_api(f"{API}/queues/{{id}}/", f"{API}/queues/{queue.pk}/")
    assert body["operating_hours"]["windows"] == [{"weekday": 0, "opens_at": "08:00:00", "closes_at": "20:00:00"}]
    assert len(admin_api(f"{API}/queues/")["results"]) == 3
