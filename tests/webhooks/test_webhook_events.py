"""Every webhook event the issue lists, from the domain events the services publish (API-2);
the endpoints' REST API (admins only, secret shown once, rotation with overlap); the admin's
rotate action. Deliveries are checked as stored and, sent, with the standardwebhooks library."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import AgentProfile
from conversations.services import conversation_agent_end, message_post
from conversations.transfer import conversation_transfer
from customers.services import case_create, case_update
from routing.models import Offer
from routing.services import offer_time_out
from tests.conversations.factories import chat_accepted_by, offer_to
from tests.routing.factories import AgentProfileFactory, QueueFactory, UserFactory, WorkstreamFactory, presence
from tests.webhooks.receiver import verified
from tests.widgets.factories import ChatWidgetFactory
from webhooks import services
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _endpoint(url="http://127.0.0.1:9/hook", events=None) -> WebhookEndpoint:
    return services.webhook_endpoint_create(url=url, events=events or list(Event.values))


def _types(key: str) -> list[str]:
    return list(WebhookDelivery.objects.filter(ordering_key=key).order_by("pk").values_list("event_type", flat=True))


def test_a_conversations_life_becomes_its_webhook_events_in_order(django_capture_on_commit_callbacks):
    # spec: API-2
    _endpoint()
    queue = QueueFactory()
    widget = ChatWidgetFactory(workstream=WorkstreamFactory(default_queue=queue, capacity_units=30))
    alice = AgentProfileFactory(queues=[queue], capacity=300, reachable=True)
    bogdan = AgentProfileFactory(queues=[queue], presence=presence("away"), reachable=True)
    conversation = chat_accepted_by(alice, widget)
    AgentProfile.objects.filter(pk=bogdan.pk).update(presence=presence("available"))
    with django_capture_on_commit_callbacks(execute=False):  # the deliveries are stored, not sent
        message_post(conversation_id=conversation.pk, sender="customer", text="My parcel never came.")
        conversation_transfer(conversation_id=conversation.pk, by=alice, to_agent_id=bogdan.pk, note="Billing")
        conversation_agent_end(conversation_id=conversation.pk, agent=AgentProfile.objects.get(pk=bogdan.pk))
    types = _types(f"conversation.{conversation.pk}")
    # System messages (queue position, the transfer notice) come between; the rest in the order it happened.
    assert [t for t in types if t != "message.created"] == [
        "conversation.started",
        "conversation.assigned",
        "conversation.transferred",
        "conversation.ended",
    ]
    texts = [
        d.payload["data"].get("text")
        for d in WebhookDelivery.objects.filter(ordering_key=f"conversation.{conversation.pk}").order_by("pk")
    ]
    customer_message = texts.index("My parcel never came.")
    assert types.index("conversation.assigned") < customer_message < types.index("conversation.transferred")
    started = WebhookDelivery.objects.get(event_type="conversation.started")
    assert started.payload["data"] | {"created_at": None} == {
        "conversation": conversation.pk,
        "channel": "live_chat",
        "origin": conversation.origin,
        "workstream": conversation.workstream_id,
        "queue": conversation.queue_id,
        "status": "open",
        "created_at": None,
    }
    transferred = WebhookDelivery.objects.get(event_type="conversation.transferred").payload["data"]
    assert (transferred["from_agent"], transferred["to_agent"]) == (alice.pk, bogdan.pk)


def test_a_missed_offer_is_an_offer_missed_event(run_on_commit, time_machine):
    # spec: API-2, NOT-7
    _endpoint()
    time_machine.move_to(timezone.now(), tick=False)
    agent = AgentProfileFactory()
    offer = offer_to(agent, seconds=30)
    Offer.objects.filter(pk=offer.pk).update(displayed_at=timezone.now())  # the page showed it (NOT-8)
    time_machine.shift(timedelta(seconds=31))
    run_on_commit(offer_time_out, offer_id=offer.pk)
    run_on_commit(offer_time_out, offer_id=offer.pk)  # a second call changes nothing
    missed = WebhookDelivery.objects.filter(event_type="offer.missed")
    assert missed.count() == 1
    conversation_id = offer.work_item.conversation.pk
    assert missed.get().payload["data"] | {"queue": None} == {
        "offer": offer.pk,
        "agent": agent.pk,
        "work_item": offer.work_item_id,
        "conversation": conversation_id,
        "case": None,
        "queue": None,
    }
    assert missed.get().ordering_key == f"conversation.{conversation_id}"


def test_cases_created_and_updated_are_sent_signed(receiver, django_capture_on_commit_callbacks):
    # spec: API-2
    endpoint = _endpoint(url=receiver.url, events=["case.created", "case.updated"])
    with django_capture_on_commit_callbacks(execute=False):
        case = case_create(title="Broken kettle", contact=None, account=_account())
        case_update(case_id=case.pk, changes={"status": "resolved"})
    assert _types(f"case.{case.pk}") == ["case.created", "case.updated"]
    delivered = services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=f"case.{case.pk}")
    assert delivered == 2
    bodies = [verified(endpoint.secret, request) for request in receiver.received]
    assert [(b["type"], b["data"]["case"], b["data"]["status"]) for b in bodies] == [
        ("case.created", case.pk, "active"),
        ("case.updated", case.pk, "resolved"),
    ]


def test_an_endpoint_gets_only_the_events_it_asked_for(django_capture_on_commit_callbacks):
    # spec: API-2
    _endpoint(events=["conversation.ended"])
    with django_capture_on_commit_callbacks(execute=False):
        case_create(title="Quiet", account=_account())
    assert not WebhookDelivery.objects.exists()


def _account():
    from customers.models import Account

    return Account.objects.create(name="Northwind")


# --- The REST API --------------------------------------------------------------------------------


def _api(user=None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user or UserFactory(is_staff=True, is_superuser=True))
    return client


URL = "/api/v1/webhook-endpoints/"


def test_admins_register_list_change_and_remove_endpoints_the_secret_shown_once():
    # spec: API-2
    api = _api()
    created = api.post(URL, {"url": "https://crm.example.com/hook", "events": ["case.created"]}, format="json")
    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert created.json()["secret"] == endpoint.secret and endpoint.secret.startswith("whsec_")
    listed = api.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [endpoint.pk] and "secret" not in listed[0]
    assert "secret" not in api.get(f"{URL}{endpoint.pk}/").json()
    changed = api.patch(f"{URL}{endpoint.pk}/", {"events": ["case.updated", "case.created"]}, format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["case.created", "case.updated"]
    assert endpoint.secret not in changed.content.decode()
    assert api.delete(f"{URL}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://crm.example.com/hook", "events": []},
        {"url": "https://crm.example.com/hook", "events": ["case.deleted"]},
        {"url": "https://crm.example.com/hook", "events": "case.created"},
        {"url": "not a url", "events": ["case.created"]},
        {"url": "https://crm.example.com/hook", "events": ["case.created"], "enabled": "yes please"},
        {"url": "https://crm.example.com/hook", "events": ["case.created"], "secret": "whsec_mine"},
    ],
)
def test_bad_input_is_refused_with_field_errors_and_stores_nothing(body):
    # spec: API-2, REL-3
    response = _api().post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert not WebhookEndpoint.objects.exists()


def test_only_admins_use_the_endpoints_api():
    # spec: API-2, SEC-1
    endpoint = _endpoint()
    agent = AgentProfileFactory()
    supervisor_without_permission = UserFactory(is_staff=True)
    for user in (agent.user, supervisor_without_permission):
        api = _api(user)
        assert api.get(URL).status_code == 403
        body = {"url": "https://x.example.com/", "events": ["case.created"]}
        assert api.post(URL, body, format="json").status_code == 403
        assert api.post(f"{URL}{endpoint.pk}/rotate-secret/").status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)
    assert WebhookEndpoint.objects.count() == 1


def test_rotating_the_secret_signs_with_both_until_the_overlap_ends(
    receiver,
    settings,
    django_capture_on_commit_callbacks,
):
    # spec: API-2
    endpoint = _endpoint(url=receiver.url, events=["case.created"])
    old = endpoint.secret
    answer = _api().post(f"{URL}{endpoint.pk}/rotate-secret/")
    assert answer.status_code == 200
    new = answer.json()["secret"]
    assert new != old and new == WebhookEndpoint.objects.get().secret
    with django_capture_on_commit_callbacks(execute=False):
        case = case_create(title="One", account=_account())
    services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=f"case.{case.pk}")
    request = receiver.received[0]
    assert verified(old, request)["type"] == verified(new, request)["type"] == "case.created"
    # After the overlap only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        case = case_create(title="Two", account=_account())
    services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=f"case.{case.pk}")
    later = receiver.received[1]
    assert len(later["headers"]["webhook-signature"].split(" ")) == 1
    assert verified(new, later)["data"]["title"] == "Two"
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        verified(old, later)


def test_the_admin_rotates_the_secret_and_shows_the_new_one_once(admin_client):
    # spec: API-2
    endpoint = _endpoint()
    old = endpoint.secret
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret.encode() in response.content
    page = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content
    assert endpoint.secret.encode() not in page and old.encode() not in page


def test_the_openapi_document_describes_the_endpoints_api():
    # spec: API-2
    schema = _api().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/webhook-endpoints/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/webhook-endpoints/{id}/"])
    assert "post" in paths["/api/v1/webhook-endpoints/{id}/rotate-secret/"]
    assert "put" not in paths["/api/v1/webhook-endpoints/{id}/"]
    created = paths["/api/v1/webhook-endpoints/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/WebhookEndpointWithSecret")
