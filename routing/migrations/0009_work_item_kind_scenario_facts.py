"""Issue 11: a work item carries its kind, its notification scenario and a snapshot of the facts
a notification shows, so routing and notifications need not reach up to the conversation or the
case. Filled here from the links the work item still has (removed in 0009)."""

import django.db.models.deletion
from django.db import migrations, models

CHANNEL_LABELS = {
    "live_chat": "Live chat",
    "persistent_chat": "Persistent chat",
    "sms": "SMS",
    "voice": "Voice",
    "custom": "Custom channel",
}


def conversation_facts(conversation, contact_name, suggested_name):
    answers = conversation.prechat_answers if isinstance(conversation.prechat_answers, dict) else {}
    values = {}
    for name, variable in (conversation.context_variables or {}).items():
        values[name] = str(variable.get("value", "")) if isinstance(variable, dict) else str(variable)
    for name, answer in answers.items():
        values[name] = str(answer)
    return {
        "refs": {"conversation": conversation.pk},
        "url": f"/workspace/conversations/{conversation.pk}/",
        "customer_name": contact_name or str(answers.get("name", "")) or conversation.customer_phone or "Visitor",
        "channel": CHANNEL_LABELS.get(conversation.channel, conversation.channel),
        "language": conversation.language,
        "device": " on ".join(p for p in (conversation.browser, conversation.operating_system) if p),
        "started_at": conversation.created_at.isoformat(),
        "proactive": conversation.origin == "proactive",
        "possible_match": "" if contact_name else suggested_name,
        "values": values,
    }


def full_name(contact):
    if contact is None:
        return ""
    return " ".join(part for part in (contact.first_name, contact.last_name) if part)


def fill(apps, schema_editor):
    WorkItem = apps.get_model("routing", "WorkItem")
    items = WorkItem.objects.select_related(
        "workstream", "conversation__contact", "conversation__suggested_contact", "case__contact"
    ).order_by("pk")
    for item in items.iterator(chunk_size=500):
        if item.case_id:
            case = item.case
            item.kind, item.scenario = "case", "case_assignment"
            item.facts = {
                "refs": {"case": case.pk},
                "customer_name": full_name(case.contact),
                "case_title": case.title,
                "channel": "",
                "started_at": case.created_at.isoformat(),
            }
        else:
            conversation = item.conversation
            item.kind = "conversation"
            if conversation.origin == "bot":
                item.scenario = "bot_escalation"
            else:
                item.scenario = {"sms": "incoming_sms", "voice": "incoming_voice"}.get(
                    item.workstream.channel, "incoming_chat"
                )
            item.facts = conversation_facts(
                conversation, full_name(conversation.contact), full_name(conversation.suggested_contact)
            )
        item.save(update_fields=["kind", "scenario", "facts"])


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0008_chat_settings_move_to_conversations"),
        ("conversations", "0016_post_chat_survey"),
        ("customers", "0002_help_texts_in_admin_words"),
    ]

    operations = [
        migrations.AddField(
            model_name="workitem",
            name="kind",
            field=models.CharField(
                choices=[("conversation", "Conversation"), ("case", "Case")],
                default="conversation",
                editable=False,
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="workitem",
            name="scenario",
            field=models.CharField(
                choices=[
                    ("incoming_chat", "Incoming chat"),
                    ("incoming_sms", "Incoming SMS"),
                    ("incoming_voice", "Incoming voice call"),
                    ("case_assignment", "Case assignment"),
                    ("work_item", "Work item assigned"),
                    ("transfer", "Conversation transfer"),
                    ("escalation", "Conversation escalation"),
                    ("bot_escalation", "Escalation from a bot"),
                    ("consult", "Consult request"),
                ],
                default="incoming_chat",
                editable=False,
                help_text="How the offer is announced.",
                max_length=32,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="workitem",
            name="facts",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        # The owners take the links (conversations 0013, customers 0003) and 0009 drops these
        # columns; the rule that an item is exactly one of the two goes first, so that undoing
        # the move puts the links back before the rule is checked again.
        migrations.RemoveConstraint(model_name="workitem", name="work_item_is_conversation_or_case"),
        # The conversation's own column takes the name ``work_item``.
        migrations.AlterField(
            model_name="workitem",
            name="conversation",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="conversations.conversation",
            ),
        ),
    ]
