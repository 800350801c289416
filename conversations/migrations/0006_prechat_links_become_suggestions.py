"""Links made automatically from what an unverified customer typed become possible matches (SUM-5).

Before this release a pre-chat email or phone that matched a contact linked the conversation to
her (audit row: system, "matched by email" / "matched by mobile phone"). Such a link is a claim,
not an identity. For every conversation whose contact is still the one that claim linked — no
agent changed the contact link since — the contact moves to ``suggested_contact`` (nothing is
lost: the agent can confirm it while the conversation is open, an admin can relink a closed one),
the account linked along with it is unlinked, and an audit row says so.

Kept as they are: links from a verified token subject, from an SMS or call's phone number (a
channel identity: the conversation has a ``customer_phone``), and every link an agent made.
Reversible: the reverse relinks exactly the conversations this migration changed.
"""

from django.db import migrations

CLAIM_NOTES = ("matched by email", "matched by mobile phone")
MARK = "pre-chat match made a suggestion (unverified)"


def links_to_suggestions(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    ConversationEvent = apps.get_model("conversations", "ConversationEvent")
    claimed = (
        ConversationEvent.objects.filter(kind="linked", actor="system", note__in=CLAIM_NOTES)
        .order_by("conversation_id", "created_at", "pk")
        .values_list("conversation_id", "pk", "note", "data")
    )
    for conversation_id, event_pk, note, data in claimed.iterator(chunk_size=500):
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        if conversation is None or not isinstance(data, dict):
            continue
        if note == "matched by mobile phone" and conversation.customer_phone:
            continue  # the phone an SMS came from: a channel identity, verified
        if conversation.contact_id is None or conversation.contact_id != data.get("contact"):
            continue
        later_contact_change = (
            ConversationEvent.objects.filter(conversation_id=conversation_id, kind="linked", pk__gt=event_pk)
            .exclude(actor="system")
            .filter(data__has_key="contact")
            .exists()
        )
        if later_contact_change:
            continue  # an agent chose the contact link since: theirs stands
        changes = {"suggested_contact_id": conversation.contact_id, "suggested_by": note.removeprefix("matched by ")}
        unlinked = {"contact": None}
        changes["contact_id"] = None
        if data.get("account") is not None and conversation.account_id == data.get("account"):
            changes["account_id"] = None
            unlinked["account"] = None
        Conversation.objects.filter(pk=conversation_id).update(**changes)
        ConversationEvent.objects.create(
            conversation_id=conversation_id,
            kind="linked",
            actor="system",
            note=MARK,
            data={**unlinked, "suggested_contact": conversation.contact_id, "restore": data},
        )


def suggestions_to_links(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    ConversationEvent = apps.get_model("conversations", "ConversationEvent")
    for event in ConversationEvent.objects.filter(kind="linked", actor="system", note=MARK).order_by("pk"):
        restore = event.data.get("restore") or {}
        changes = {"suggested_contact_id": None, "suggested_by": "", "contact_id": restore.get("contact")}
        if "account" in event.data:
            changes["account_id"] = restore.get("account")
        Conversation.objects.filter(pk=event.conversation_id, contact_id__isnull=True).update(**changes)
        event.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_conversation_suggested_contact"),
    ]

    operations = [migrations.RunPython(links_to_suggestions, suggestions_to_links)]
