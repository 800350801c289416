"""Conversations, messages and sessions in the admin center: inspection only (ADM-1, SEC-2)."""

import pytest
from django.urls import reverse

from conversations.models import Conversation, ConversationEvent, Message, Session
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.routing.factories import AgentProfileFactory, WorkItemFactory

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
