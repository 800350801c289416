"""Issue 11: a notification keeps routing's offer and work item as plain ids, not foreign keys:
routing sits above notifications. The columns ``offer_id`` (unique) and ``work_item_id``
(indexed) stay as they are (no row is touched); only the foreign-key constraints go."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_help_texts_in_admin_words"),
    ]

    operations = [
        # These two drop the constraints and keep the columns, their values and their indexes.
        migrations.AlterField(
            model_name="notification",
            name="offer",
            field=models.OneToOneField(
                blank=True,
                null=True,
                db_constraint=False,
                on_delete=models.CASCADE,
                related_name="notification",
                to="routing.offer",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="work_item",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_constraint=False,
                on_delete=models.CASCADE,
                related_name="notifications",
                to="routing.workitem",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="notification", name="offer"),
                migrations.RemoveField(model_name="notification", name="work_item"),
                migrations.AddField(
                    model_name="notification",
                    name="offer_id",
                    field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
                ),
                migrations.AddField(
                    model_name="notification",
                    name="work_item_id",
                    field=models.BigIntegerField(blank=True, db_index=True, editable=False, null=True),
                ),
            ],
        ),
    ]
