"""Public ids for page visits and invitations (the widget names them; never by database id),
the SDK invitation's pre-chat choice, and one open invitation per visitor (PRO-3, PRO-4, PRO-7)."""

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    # Rows from before this migration each get their own id (a column default would give them one).
    for model_name in ("PageVisit", "Invitation"):
        model = apps.get_model("widgets", model_name)
        for pk in model.objects.filter(public_id__isnull=True).values_list("pk", flat=True).iterator():
            model.objects.filter(pk=pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0003_initial"),
        ("widgets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation", name="public_id", field=models.UUIDField(null=True, editable=False)
        ),
        migrations.AddField(model_name="pagevisit", name="public_id", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="invitation",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="pagevisit",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="invitation",
            name="show_prechat",
            field=models.BooleanField(
                default=True,
                help_text="Ask the pre-chat survey before the chat starts (SDK invitations may skip it).",
            ),
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "shown")), fields=("visitor",), name="one_open_invitation_per_visitor"
            ),
        ),
    ]
