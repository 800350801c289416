"""The agent and skill models moved to the agents app (issue 11); the foreign keys follow them
in Django's state only, the columns and constraints stay as they are.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("conversations", "0010_sms_inactivity_deadline"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="conversation",
                    name="agent",
                    field=models.ForeignKey(
                        blank=True,
                        help_text="The agent who holds it now (or last held it).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="conversations",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.AlterField(
                    model_name="conversation",
                    name="skills",
                    field=models.ManyToManyField(blank=True, related_name="conversations", to="agents.skill"),
                ),
                migrations.AlterField(
                    model_name="conversationparticipant",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="participations",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.AlterField(
                    model_name="conversationparticipant",
                    name="invited_by",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.AlterField(
                    model_name="session",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="sessions", to="agents.agentprofile"
                    ),
                ),
            ],
        ),
    ]
