"""Issue 11: the case owns the link to its work item (``Case.work_item``, one to one); the
work item's ``case`` column goes in routing's 0009. A case routed more than once keeps its
latest work item (the older ones still name it in their facts, which undoing it reads)."""

import django.db.models.deletion
from django.db import migrations, models


def move_links(apps, schema_editor):
    WorkItem = apps.get_model("routing", "WorkItem")
    Case = apps.get_model("customers", "Case")
    for work_item_id, case_id in (
        WorkItem.objects.filter(case__isnull=False).order_by("pk").values_list("pk", "case_id")
    ):
        Case.objects.filter(pk=case_id).update(work_item_id=work_item_id)  # the latest wins


def move_links_back(apps, schema_editor):
    # Every case's work item, also an older one the case no longer links: its facts name the case.
    WorkItem = apps.get_model("routing", "WorkItem")
    Case = apps.get_model("customers", "Case")
    cases = set(Case.objects.values_list("pk", flat=True))
    for work_item_id, facts in WorkItem.objects.filter(kind="case").order_by("pk").values_list("pk", "facts"):
        case_id = (facts or {}).get("refs", {}).get("case")
        if case_id in cases:
            WorkItem.objects.filter(pk=work_item_id).update(case_id=case_id)


class Migration(migrations.Migration):
    # Undone, the links are written to the work items and then this column's foreign key goes:
    # PostgreSQL refuses that DDL in the transaction of the writes (pending trigger events), so
    # each operation runs in a transaction of its own.
    atomic = False

    dependencies = [
        ("customers", "0002_help_texts_in_admin_words"),
        ("routing", "0009_work_item_kind_scenario_facts"),
    ]

    # The reverse name ("case") is given in 0004, once routing's 0009 removed the work
    # item's own column of that name.
    operations = [
        migrations.AddField(
            model_name="case",
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
