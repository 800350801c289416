"""Issue 11: ``work_item.case`` names the case that owns a work item, now that
routing's 0009 removed the work item's column of that name (the case's old reverse name ``work_items`` goes with it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_case_owns_work_item_link"),
        ("routing", "0010_work_item_link_owned_by_work"),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="work_item",
            field=models.OneToOneField(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="case",
                to="routing.workitem",
            ),
        ),
    ]
