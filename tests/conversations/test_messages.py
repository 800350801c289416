"""Messages: stored first, numbered per conversation, idempotent by client id (CONV-2, CONV-2a)."""

import pytest

from conversations.errors import ConversationError
from conversations.models import Conversation, Message
from conversations.services import message_post
from core.errors import NotFound
from core.realtime import conversation_group
from tests.conversations.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_messages_get_consecutive_numbers_per_conversation():
    # spec: CONV-2
    first, second = ConversationFactory(), ConversationFactory()
    seqs = [message_post(conversation_id=c.pk, sender="customer", text="hi")[0].seq for c in (first, second, first)]
    assert seqs == [1, 1, 2]
    assert list(first.messages.values_list("seq", flat=True)) == [1, 2]


def test_the_same_client_id_twice_stores_one_message(published, django_capture_on_commit_callbacks):
    # spec: CONV-2
    conversation = ConversationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message, created = message_post(conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1")
        again, created_again = message_post(
            conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1"
        )
    assert (created, created_again, again.pk) == (True, False, message.pk)
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert [event["seq"] for _, event in published] == [1]
    assert published[0][0] == conversation_group(conversation.pk)


def test_a_message_of_exactly_28_kb_is_stored_and_one_byte_more_is_refused():
    # spec: CONV-2a
    conversation = ConversationFactory()
    message_post(conversation_id=conversation.pk, sender="customer", text="é" * (28 * 512))
    with pytest.raises(ConversationError) as refused:
        message_post(conversation_id=conversation.pk, sender="customer", text="x" + "é" * (28 * 512))
    assert refused.value.code == "message_too_large"
    assert "at most 28 KB" in str(refused.value)
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert Conversation.objects.get(pk=conversation.pk).last_message_seq == 1


@pytest.mark.parametrize("text", ["", "   ", None, 42])
def test_empty_or_non_text_messages_are_refused(text):
    # spec: REL-3
    conversation = ConversationFactory()
    with pytest.raises(ConversationError):
        message_post(conversation_id=conversation.pk, sender="customer", text=text)
    assert not Message.objects.exists()


def test_a_closed_conversation_takes_no_more_messages():
    # spec: CONV-1
    conversation = ConversationFactory()
    Conversation.objects.filter(pk=conversation.pk).update(status="closed")
    with pytest.raises(ConversationError) as refused:
        message_post(conversation_id=conversation.pk, sender="customer", text="hello?")
    assert refused.value.code == "conversation_closed"
    assert not Message.objects.exists()


def test_text_is_stored_as_given_plain_text():
    # spec: SEC-2 — stored as plain text; escaping happens where it is rendered
    conversation = ConversationFactory()
    message, _ = message_post(conversation_id=conversation.pk, sender="customer", text="<script>x</script>")
    assert Message.objects.get(pk=message.pk).text == "<script>x</script>"


@pytest.mark.django_db(transaction=True)
def test_a_chat_message_costs_two_statements_and_a_repeat_leaves_no_gap(django_assert_max_num_queries):
    # spec: PERF-1, CONV-2 — UPDATE … RETURNING the number, INSERT … ON CONFLICT on the client id
    conversation = ConversationFactory()
    # BEGIN and COMMIT, the two statements, and the webhook sink's read of the enabled endpoints
    # (once per transaction: webhooks.endpoint_memo).
    with django_assert_max_num_queries(5) as captured:
        message, created = message_post(conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1")
    sql = [query["sql"] for query in captured.captured_queries if query["sql"].split()[0] not in ("BEGIN", "COMMIT")]
    ours = [statement for statement in sql if "webhooks_webhookendpoint" not in statement]
    assert [statement.split()[0] for statement in ours] == ["UPDATE", "INSERT"]
    assert len(sql) - len(ours) <= 1
    assert not any(" JOIN " in statement or "ORDER BY" in statement for statement in sql)
    assert "prechat_answers" not in ours[0] and "context_variables" not in ours[0]  # no JSON column read
    again, created_again = message_post(conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1")
    after, _ = message_post(conversation_id=conversation.pk, sender="customer", text="next", client_id="c-2")
    assert (created, created_again, again.pk, again.seq) == (True, False, message.pk, 1)
    assert after.seq == 2  # the repeat gave its number back
    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.last_message_seq == 2
    assert stored.last_customer_activity_at is not None
    assert list(Message.objects.filter(conversation=conversation).values_list("seq", "client_id")) == [
        (1, "c-1"),
        (2, "c-2"),
    ]


def test_a_repeat_after_the_conversation_ended_gets_its_stored_message_and_changes_nothing():
    # spec: CONV-2 — the customer's retry of a message already stored is acknowledged, not refused
    conversation = ConversationFactory()
    message, _ = message_post(conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1")
    Conversation.objects.filter(pk=conversation.pk).update(status="closed")
    again, created = message_post(conversation_id=conversation.pk, sender="customer", text="hi", client_id="c-1")
    assert (again.pk, again.seq, created) == (message.pk, 1, False)
    with pytest.raises(ConversationError) as refused:
        message_post(conversation_id=conversation.pk, sender="customer", text="more", client_id="c-2")
    assert refused.value.code == "conversation_closed"
    assert Conversation.objects.get(pk=conversation.pk).last_message_seq == 1
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_a_message_to_a_conversation_that_does_not_exist_is_refused():
    # spec: REL-3
    with pytest.raises(NotFound):
        message_post(conversation_id=987654321, sender="customer", text="hello")
    assert not Message.objects.exists()
