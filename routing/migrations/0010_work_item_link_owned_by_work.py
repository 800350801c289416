"""Issue 11: routing knows work items, not conversations or cases — the links moved to their
owners (conversations 0013, customers 0003); the work item's own columns go."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0009_work_item_kind_scenario_facts"),
        ("conversations", "0017_conversation_owns_work_item_link"),
        ("customers", "0003_case_owns_work_item_link"),
    ]

    operations = [
        migrations.RemoveField(model_name="workitem", name="conversation"),
        migrations.RemoveField(model_name="workitem", name="case"),
    ]
