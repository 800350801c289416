"""Issue 11: the conversation owns the link to its work item (``Conversation.work_item``); the
work item's ``conversation`` column goes in routing's 0009. Moves every link, both ways."""

import django.db.models.deletion
from django.db import migrations, models


def move_links(apps, schema_editor):
    WorkItem = apps.get_model("routing", "WorkItem")
    Conversation = apps.get_model("conversations", "Conversation")
    for work_item_id, conversation_id in (
        WorkItem.objects.filter(conversation__isnull=False).order_by("pk").values_list("pk", "conversation_id")
    ):
        Conversation.objects.filter(pk=conversation_id).update(work_item_id=work_item_id)


def move_links_back(apps, schema_editor):
    WorkItem = apps.get_model("routing", "WorkItem")
    Conversation = apps.get_model("conversations", "Conversation")
    for conversation_id, work_item_id in (
        Conversation.objects.filter(work_item__isnull=False).order_by("pk").values_list("pk", "work_item_id")
    ):
        WorkItem.objects.filter(pk=work_item_id).update(conversation_id=conversation_id)


class Migration(migrations.Migration):
    # Undone, the links are written to the work items and then this column's foreign key goes:
    # PostgreSQL refuses that DDL in the transaction of the writes (pending trigger events), so
    # each operation runs in a transaction of its own.
    atomic = False

    dependencies = [
        ("conversations", "0016_post_chat_survey"),
        ("routing", "0009_work_item_kind_scenario_facts"),
    ]

    # The reverse name ("conversation") is given in 0014, once routing's 0009 removed the work
    # item's own column of that name.
    operations = [
        migrations.AddField(
            model_name="conversation",
            name="work_item",
            field=models.OneToOneField(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="routing.workitem",
            ),
        ),
        migrations.RunPython(move_links, move_links_back),
    ]
