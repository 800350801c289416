"""Issue 11: a note keeps the conversation it came from as a plain id, not a foreign key:
conversations sits above customers. The column ``conversation_id`` and its index stay as they
are (no row is touched); only the foreign-key constraint goes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_work_item_reverse_name"),
    ]

    operations = [
        migrations.AlterField(  # drops the constraint, keeps the column, its values and its index
            model_name="note",
            name="conversation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_constraint=False,
                on_delete=models.SET_NULL,
                related_name="notes",
                to="conversations.conversation",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="note", name="conversation"),
                migrations.AddField(
                    model_name="note",
                    name="conversation_id",
                    field=models.BigIntegerField(
                        blank=True, db_index=True, editable=False, null=True, verbose_name="conversation"
                    ),
                ),
            ],
        ),
    ]
