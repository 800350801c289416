"""Bot clients of the bot API: their own keys, scoped to workstreams, throttled per key (SEC-1, ROU-15)."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations.bots import bot_client_create, bot_client_key_rotate
from conversations.models import BotClient, Conversation
from tests.customers.factories import ContactFactory
from tests.routing.factories import AgentProfileFactory, UserFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db

BOT = "/api/v1/bot/conversations/"


def bot_api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bot {key}")
    return client


def token_api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def sales():
    return WorkstreamFactory(name="Sales")


@pytest.fixture
def billing():
    return WorkstreamFactory(name="Billing")


@pytest.mark.embedded  # the throttle's cache and the scoping in embedded mode too
def test_a_bot_may_not_start_a_conversation_in_a_workstream_it_was_not_granted(sales, billing):
    # spec: SEC-1 — bot API keys are scoped to workstreams
    _, key = bot_client_create(name="Sales bot", workstreams=[sales])
    refused = bot_api(key).post(BOT, {"workstream": billing.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This bot may not act in that workstream.", "code": "workstream_not_granted"}
    assert not Conversation.objects.exists()
    assert bot_api(key).post(BOT, {"workstream": sales.pk}, format="json").status_code == 201


def test_a_bot_whose_grant_was_withdrawn_gets_403_on_its_conversation_and_changes_nothing(sales):
    # spec: SEC-1 — a bot API call with a key not granted the conversation's workstream
    client, key = bot_client_create(name="Sales bot", workstreams=[sales])
    api = bot_api(key)
    conversation_id = api.post(BOT, {"workstream": sales.pk}, format="json").json()["id"]
    client.workstreams.clear()
    url = f"{BOT}{conversation_id}"
    answers = [
        api.get(f"{url}/messages/"),
        api.post(f"{url}/messages/", {"text": "Hello"}, format="json"),
        api.post(f"{url}/escalate/", {}, format="json"),
    ]
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.messages.count() == 0
    assert not conversation.events.filter(kind="escalated").exists()


@pytest.mark.parametrize("who", ["agent", "admin", "user"])
def test_a_users_token_is_not_a_bot_key(sales, who):
    # spec: SEC-1 — a bot is not an agent: the bot API takes only a bot client's key
    user = {
        "agent": lambda: AgentProfileFactory().user,
        "admin": lambda: UserFactory(is_staff=True, is_superuser=True),
        "user": UserFactory,
    }[who]()
    response = token_api(user).post(BOT, {"workstream": sales.pk}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only a bot client's key may use the bot API."}
    assert not Conversation.objects.exists()


def test_a_bot_key_opens_nothing_but_the_bot_api(sales):
    # spec: SEC-1 — a bot's key does not reach customer records or conversations
    ContactFactory()
    _, key = bot_client_create(name="Sales bot", workstreams=[sales])
    for path in ("/api/v1/contacts/", "/api/v1/conversations/", "/api/v1/queues/"):
        assert bot_api(key).get(path).status_code == 401


@pytest.mark.parametrize("header", ["Bot not-a-key", "Bot", "Bot a b"])
def test_a_wrong_or_malformed_bot_key_is_a_401(sales, header):
    # spec: SEC-1, REL-3
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(BOT, {"workstream": sales.pk}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bot"


def test_a_deactivated_client_or_a_rotated_key_stops_working(sales):
    # spec: SEC-1 — keys managed in the admin center
    client, key = bot_client_create(name="Sales bot", workstreams=[sales])
    new_key = bot_client_key_rotate(client_id=client.pk)
    assert bot_api(key).post(BOT, {"workstream": sales.pk}, format="json").status_code == 401
    assert bot_api(new_key).post(BOT, {"workstream": sales.pk}, format="json").status_code == 201
    BotClient.objects.filter(pk=client.pk).update(is_active=False)
    assert bot_api(new_key).post(BOT, {"workstream": sales.pk}, format="json").status_code == 401


def test_only_a_hash_of_the_key_is_stored_and_the_bot_user_cannot_log_in(sales):
    # spec: SEC-1
    client, key = bot_client_create(name="Sales bot", workstreams=[sales])
    stored = BotClient.objects.values().get(pk=client.pk)
    assert key not in str(stored) and stored["key_prefix"] == key[:8]
    user = get_user_model().objects.get(pk=client.user_id)
    assert not user.has_usable_password() and not user.is_staff


# --- Throttles: per token, in the shared cache ----------------------------------------------------


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


@pytest.mark.embedded  # the throttle's cache and the scoping in embedded mode too
def test_a_token_past_its_rate_gets_429_with_retry_after_and_another_token_does_not(rates):
    # spec: SEC-1 — per-token API throttles (configurable rates)
    rates(api_token="3/min")
    first, second = token_api(AgentProfileFactory().user), token_api(AgentProfileFactory().user)
    assert [first.get("/api/v1/contacts/").status_code for _ in range(3)] == [200, 200, 200]
    refused = first.get("/api/v1/contacts/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert second.get("/api/v1/contacts/").status_code == 200


@pytest.mark.embedded  # the throttle's cache and the scoping in embedded mode too
def test_a_bot_key_has_its_own_rate_and_a_client_may_have_a_rate_of_its_own(sales, rates):
    # spec: SEC-1 — per-token API throttles for bots
    rates(bot="2/min")
    _, default_key = bot_client_create(name="Default bot", workstreams=[sales])
    _, own_key = bot_client_create(name="Busy bot", workstreams=[sales], throttle_rate="4/min")
    default, own = bot_api(default_key), bot_api(own_key)
    assert [default.post(BOT, {"workstream": sales.pk}, format="json").status_code for _ in range(3)] == [
        201,
        201,
        429,
    ]
    assert "Retry-After" in default.post(BOT, {"workstream": sales.pk}, format="json")
    assert [own.post(BOT, {"workstream": sales.pk}, format="json").status_code for _ in range(5)] == [
        201,
        201,
        201,
        201,
        429,
    ]
    assert Conversation.objects.count() == 6  # a refused call stored nothing


def test_a_bot_rate_that_drf_cannot_read_is_refused_with_a_clear_message(sales):
    # spec: REL-3 — invalid settings are refused on the field (ADM-1)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        bot_client_create(name="Odd bot", workstreams=[sales], throttle_rate="lots")
    message = "Write a rate like 120/min: a number, then s, min, h or day."
    assert refused.value.message_dict == {"throttle_rate": [message]}
    assert not BotClient.objects.exists()
