"""Conversations, messages and sessions in the admin center: inspection only (ADM-1, SEC-2)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conversations.bots import bot_client_create
from conversations.models import BotClient, Conversation, ConversationEvent, Message, Session
from tests.admin_helpers import field_errors
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.routing.factories import AgentProfileFactory, WorkItemFactory, WorkstreamFactory

pytestmark = pytest.mark.django_db


def _conversation_with_history() -> Conversation:
    agent = AgentProfileFactory(display_name="Maria")
    conversation = ConversationFactory(agent=agent)
    item = WorkItemFactory(conversation=conversation)
    MessageFactory(conversation=conversation, seq=1, text="<b>Where is my order?</b>")
    MessageFactory(conversation=conversation, seq=2, sender="agent", text="Let me check.")
    ConversationEvent.objects.create(
        conversation=conversation, from_status="open", to_status="active", actor="agent", note="Accepted"
    )
    Session.objects.create(agent=agent, work_item=item, conversation=conversation)
    return conversation


@pytest.mark.parametrize("model, queries", [("conversation", 10), ("message", 8), ("session", 8)])
def test_every_changelist_answers_with_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, model, queries
):
    # spec: ADM-1
    for _ in range(5):  # one query a row would break the bound
        _conversation_with_history()
    url = reverse(f"admin:conversations_{model}_changelist")
    with django_assert_max_num_queries(queries):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert admin_client.get(url, {"q": "order"}).status_code == 200


@pytest.mark.parametrize("model", ["conversation", "message", "session"])
def test_nothing_is_added_changed_or_deleted_here(admin_client, model):
    # spec: ADM-1
    conversation = _conversation_with_history()
    record = {"conversation": conversation, "message": Message.objects.first(), "session": Session.objects.first()}[
        model
    ]
    assert admin_client.get(reverse(f"admin:conversations_{model}_add")).status_code == 403
    change = reverse(f"admin:conversations_{model}_change", args=[record.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"status": "closed", "text": "Edited"}).status_code == 403
    assert admin_client.get(reverse(f"admin:conversations_{model}_delete", args=[record.pk])).status_code == 403
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert list(conversation.messages.values_list("text", flat=True)) == ["<b>Where is my order?</b>", "Let me check."]


def test_a_conversation_shows_its_status_events_and_messages_escaped(admin_client, django_assert_max_num_queries):
    # spec: ADM-1, CONV-1, SEC-2
    conversation = _conversation_with_history()
    for seq in range(3, 13):  # more history must not mean more queries
        MessageFactory(conversation=conversation, seq=seq, sender="agent", sender_user=conversation.agent.user)
        ConversationEvent.objects.create(
            conversation=conversation, kind="assigned", actor="system", actor_user=conversation.agent.user
        )
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    with django_assert_max_num_queries(12):
        page = admin_client.get(url).content.decode()
    assert '<div class="readonly">Open</div>' in page
    assert 'name="status"' not in page
    assert "Accepted" in page  # the audit trail
    assert "&lt;b&gt;Where is my order?&lt;/b&gt;" in page
    assert "<b>Where is my order?</b>" not in page
    assert "Let me check." in page


def test_conversations_filter_by_status_and_search_by_agent(admin_client):
    # spec: ADM-1
    _conversation_with_history()
    ConversationFactory()
    url = reverse("admin:conversations_conversation_changelist")
    assert admin_client.get(url, {"status__exact": "open"}).context["cl"].result_count == 2
    assert admin_client.get(url, {"status__exact": "closed"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"q": "Maria"}).context["cl"].result_count == 1


# --- Bot clients of the bot API (SEC-1, ROU-15) ---------------------------------------------------


def test_an_admin_adds_a_bot_client_sees_its_key_once_and_the_key_works_in_its_workstreams(admin_client):
    # spec: ADM-1, SEC-1 — bot API keys scoped to workstreams, managed in the admin center
    sales, billing = WorkstreamFactory(name="Sales"), WorkstreamFactory(name="Billing")
    response = admin_client.post(
        reverse("admin:conversations_botclient_add"),
        {"name": "Order bot", "workstreams": [sales.pk], "throttle_rate": "", "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 2 and shown[0].startswith("The key of Order bot, shown only now: ")
    key = shown[0].split("shown only now: ")[1].split(" ")[0]
    client = BotClient.objects.get(name="Order bot")
    assert list(client.workstreams.all()) == [sales]
    assert key not in str(BotClient.objects.values().get(pk=client.pk))
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bot {key}")
    assert bot.post("/api/v1/bot/conversations/", {"workstream": sales.pk}, format="json").status_code == 201
    assert bot.post("/api/v1/bot/conversations/", {"workstream": billing.pk}, format="json").status_code == 403
    # The change page never shows the key again.
    page = admin_client.get(reverse("admin:conversations_botclient_change", args=[client.pk])).content.decode()
    assert key not in page and client.key_prefix in page


def test_issuing_a_new_bot_key_in_the_admin_stops_the_old_one(admin_client):
    # spec: ADM-1, SEC-1
    sales = WorkstreamFactory()
    client, old_key = bot_client_create(name="Order bot", workstreams=[sales])
    response = admin_client.post(
        reverse("admin:conversations_botclient_changelist"),
        {"action": "issue_new_key", "_selected_action": [client.pk]},
        follow=True,
    )
    new_key = [str(m) for m in response.context["messages"]][0].split("shown only now: ")[1].split(" ")[0]
    for key, expected in ((old_key, 401), (new_key, 201)):
        bot = APIClient()
        bot.credentials(HTTP_AUTHORIZATION=f"Bot {key}")
        assert bot.post("/api/v1/bot/conversations/", {"workstream": sales.pk}, format="json").status_code == expected


def test_a_bot_rate_drf_cannot_read_is_refused_on_the_field(admin_client):
    # spec: ADM-1 — invalid settings are refused with a clear message on the field
    response = admin_client.post(
        reverse("admin:conversations_botclient_add"), {"name": "Odd bot", "throttle_rate": "lots", "is_active": "on"}
    )
    assert field_errors(response, "throttle_rate") == ["Write a rate like 120/min: a number, then s, min, h or day."]
    assert not BotClient.objects.exists()
