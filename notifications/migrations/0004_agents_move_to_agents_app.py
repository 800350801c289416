"""The agent model moved to the agents app (issue 11); the foreign keys follow it in Django's
state only, the columns and constraints stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("notifications", "0003_default_templates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="agentbanner",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="banners", to="agents.agentprofile"
                    ),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="agents.agentprofile",
                    ),
                ),
            ],
        ),
    ]
