"""Issue 11: a note's conversation and a notification's offer and work item become plain ids
(customers and notifications sit below conversations and routing). The migrations drop only
the foreign-key constraints: every value, the unique offer and the indexes stay."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from routing.models import Offer
from tests.conversations.factories import ConversationFactory
from tests.customers.factories import ContactFactory
from tests.migrations import latest, latest_schema_after, migrate  # noqa: F401 (a fixture)
from tests.routing.factories import AgentProfileFactory, WorkItemFactory

BEFORE = [("customers", "0004_work_item_reverse_name"), ("notifications", "0005_help_texts_in_admin_words")]


def constraints_on(table: str, column: str) -> list[dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return [c for c in found.values() if c["columns"] == [column]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_upward_foreign_keys_become_plain_ids_and_keep_their_values():
    # spec: issue 11 — a lower app does not point at a higher one; no value is lost
    apps = migrate(BEFORE)
    # Only customers and notifications went back: the rows they point at come from today's models.
    conversation = ConversationFactory()
    contact = ContactFactory()
    Note = apps.get_model("customers", "Note")
    quick = Note.objects.create(text="Wants a refund", contact_id=contact.pk, conversation_id=conversation.pk)
    plain = Note.objects.create(text="Prefers email", contact_id=contact.pk)
    agent = AgentProfileFactory()
    work_item = WorkItemFactory()
    offer = Offer.objects.create(work_item=work_item, agent=agent, expires_at=timezone.now() + timedelta(minutes=2))
    Notification = apps.get_model("notifications", "Notification")
    alert = Notification.objects.create(
        agent_id=agent.pk,
        scenario="incoming_chat",
        kind="alert",
        offer_id=offer.pk,
        work_item_id=work_item.pk,
        title="Chat",
    )
    toast = Notification.objects.create(
        agent_id=agent.pk, scenario="transfer", kind="toast", work_item_id=work_item.pk, title="Transfer"
    )
    assert [c["foreign_key"] for c in constraints_on("notifications_notification", "offer_id") if c["foreign_key"]]

    apps = migrate(latest())
    Note = apps.get_model("customers", "Note")
    Notification = apps.get_model("notifications", "Notification")
    assert dict(Note.objects.values_list("pk", "conversation_id")) == {quick.pk: conversation.pk, plain.pk: None}
    assert set(Notification.objects.values_list("pk", "offer_id", "work_item_id")) == {
        (alert.pk, offer.pk, work_item.pk),
        (toast.pk, None, work_item.pk),
    }
    for table, column in (
        ("customers_note", "conversation_id"),
        ("notifications_notification", "offer_id"),
        ("notifications_notification", "work_item_id"),
    ):
        kept = constraints_on(table, column)
        assert not [c for c in kept if c["foreign_key"]], (table, column)
        assert [c for c in kept if c["index"] or c["unique"]], (table, column)  # still found fast
    assert [c for c in constraints_on("notifications_notification", "offer_id") if c["unique"]]  # one per offer

    apps = migrate(BEFORE)  # reversible: the foreign keys come back over the same values
    assert apps.get_model("customers", "Note").objects.get(pk=quick.pk).conversation_id == conversation.pk
    assert apps.get_model("notifications", "Notification").objects.get(pk=alert.pk).offer_id == offer.pk
    assert [c for c in constraints_on("customers_note", "conversation_id") if c["foreign_key"]]
