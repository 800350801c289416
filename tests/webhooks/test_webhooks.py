"""Signed outbound webhooks, verified by the standardwebhooks library (an independent implementation)."""

import pytest
from django.urls import reverse

from conversations.services import message_post
from tests.conversations.factories import ConversationFactory
from tests.live import celery_worker_running, wait_until
from tests.webhooks.receiver import verified
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def webhook_worker(transactional_db, settings):
    """A real worker with short retry delays."""
    fast = {"WEBHOOK_RETRY_BASE_SECONDS": "0.2", "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "1"}
    with celery_worker_running(settings, fast):
        yield


def test_a_message_reaches_the_endpoint_signed_as_standard_webhooks_say(receiver, webhook_worker):
    # spec: API-2
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["message.created"])
    conversation = ConversationFactory()
    message_post(conversation_id=conversation.pk, sender="customer", text="Hello there")
    wait_until(lambda: len(receiver.received) == 1)
    payload = verified(endpoint.secret, receiver.received[0])
    assert payload["type"] == "message.created"
    assert (payload["data"]["conversation"], payload["data"]["seq"], payload["data"]["text"]) == (
        conversation.pk,
        1,
        "Hello there",
    )
    delivery = WebhookDelivery.objects.get()
    assert receiver.received[0]["headers"]["webhook-id"] == delivery.message_id
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded", response_code=200, attempts=1).exists())


def test_failures_are_retried_with_the_same_id_and_events_stay_in_order(receiver, webhook_worker):
    # spec: API-2
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["message.created"])
    receiver.codes = [500, 503]
    conversation = ConversationFactory()
    message_post(conversation_id=conversation.pk, sender="customer", text="first")
    message_post(conversation_id=conversation.pk, sender="customer", text="second")
    wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 2, timeout=30)
    ids = [request["headers"]["webhook-id"] for request in receiver.received]
    first = WebhookDelivery.objects.get(payload__data__seq=1)
    assert ids[:3] == [first.message_id] * 3  # the same id across retries
    texts = [verified(endpoint.secret, request)["data"]["text"] for request in receiver.received]
    assert texts == ["first", "first", "first", "second"]  # the second waited for the first
    assert (first.attempts, first.response_code) == (3, 200)


def test_a_wrong_secret_or_a_changed_body_fails_verification(receiver, webhook_worker):
    # spec: API-2
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["message.created"])
    message_post(conversation_id=ConversationFactory().pk, sender="customer", text="Hi")
    wait_until(lambda: len(receiver.received) == 1)
    request = receiver.received[0]
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + "QUJD" * 8, request)
    with pytest.raises(WebhookVerificationError):
        verified(endpoint.secret, {**request, "body": request["body"].replace(b"Hi", b"Ho")})


@pytest.mark.django_db
def test_a_rotated_secret_signs_with_both_during_the_overlap(receiver, django_capture_on_commit_callbacks):
    # spec: API-2
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["message.created"])
    old = endpoint.secret
    endpoint.previous_secret, endpoint.secret = old, WebhookEndpoint._meta.get_field("secret").default()
    endpoint.save()
    with django_capture_on_commit_callbacks(execute=False):
        message_post(conversation_id=ConversationFactory().pk, sender="customer", text="Hi")
    services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=WebhookDelivery.objects.get().ordering_key)
    request = receiver.received[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verified(old, request)["type"] == "message.created"
    assert verified(endpoint.secret, request)["type"] == "message.created"


@pytest.mark.django_db
def test_an_endpoint_failing_for_long_is_disabled_and_the_admins_told(
    receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    # spec: API-2
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 0
    settings.ADMINS = [("Admin", "admin@example.com")]
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["message.created"])
    receiver.codes = [500, 500]
    with django_capture_on_commit_callbacks(execute=False):
        message_post(conversation_id=ConversationFactory().pk, sender="customer", text="Hi")
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=False):
        services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=delivery.ordering_key)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=delivery.ordering_key)
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.disabled_reason
    assert len(mailoutbox) == 1 and receiver.url in mailoutbox[0].body
    with django_capture_on_commit_callbacks(execute=False):
        message_post(conversation_id=ConversationFactory().pk, sender="customer", text="Again")
    assert WebhookDelivery.objects.count() == 1  # a disabled endpoint gets nothing new


@pytest.mark.django_db
def test_the_admin_shows_the_secret_once_sends_a_test_event_and_redelivers(
    admin_client, receiver, django_capture_on_commit_callbacks
):
    # spec: API-2
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "url": receiver.url,
            "description": "CRM",
            "events": ["message.created", "conversation.ended"],
            "enabled": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.encode() in response.content
    assert (
        endpoint.secret.encode()
        not in admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content
    )
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(
            reverse("admin:webhooks_webhookendpoint_changelist"),
            {"action": "send_test_event", "_selected_action": [endpoint.pk]},
        )
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")
    services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=delivery.ordering_key)
    assert verified(endpoint.secret, receiver.received[0])["type"] == "webhook.test"
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    services.webhook_drain(endpoint_id=endpoint.pk, ordering_key=delivery.ordering_key)
    assert len(receiver.received) == 2
    assert receiver.received[1]["headers"]["webhook-id"] == delivery.message_id
    delivery.refresh_from_db()
    assert delivery.attempts == 2
