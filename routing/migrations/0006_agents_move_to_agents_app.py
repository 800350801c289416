"""Presences, skills, agents and their connections now belong to the agents app (issue 11).
Routing forgets them and its foreign keys point at the agents app's models; the tables and
their constraints stay exactly as they are.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("conversations", "0011_agents_move_to_agents_app"),
        ("notifications", "0004_agents_move_to_agents_app"),
        ("routing", "0005_offer_released_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="agentprofile",
                    name="presence",
                ),
                migrations.RemoveField(
                    model_name="agentprofile",
                    name="presence_before_disconnect",
                ),
                migrations.RemoveField(
                    model_name="agentprofile",
                    name="skills",
                ),
                migrations.RemoveField(
                    model_name="agentprofile",
                    name="user",
                ),
                migrations.AlterField(
                    model_name="offer",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="offers", to="agents.agentprofile"
                    ),
                ),
                migrations.RemoveField(
                    model_name="agentskill",
                    name="agent",
                ),
                migrations.AlterField(
                    model_name="queuemembership",
                    name="agent",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.AlterField(
                    model_name="workitem",
                    name="agent",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="work_items",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.AlterField(
                    model_name="workitem",
                    name="previous_agent",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="agents.agentprofile",
                    ),
                ),
                migrations.RemoveField(
                    model_name="agentskill",
                    name="skill",
                ),
                migrations.AlterField(
                    model_name="queue",
                    name="members",
                    field=models.ManyToManyField(
                        related_name="queues", through="routing.QueueMembership", to="agents.agentprofile"
                    ),
                ),
                migrations.AlterField(
                    model_name="routingrule",
                    name="skills",
                    field=models.ManyToManyField(blank=True, related_name="+", to="agents.skill"),
                ),
                migrations.AlterField(
                    model_name="workitem",
                    name="skills",
                    field=models.ManyToManyField(blank=True, related_name="+", to="agents.skill"),
                ),
                migrations.AlterField(
                    model_name="workstream",
                    name="allowed_presences",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="Agents in these presences may be assigned work. Empty means Available only.",
                        related_name="+",
                        to="agents.presence",
                    ),
                ),
                migrations.DeleteModel(
                    name="AgentConnection",
                ),
                migrations.DeleteModel(
                    name="Presence",
                ),
                migrations.DeleteModel(
                    name="AgentProfile",
                ),
                migrations.DeleteModel(
                    name="AgentSkill",
                ),
                migrations.DeleteModel(
                    name="Skill",
                ),
            ],
        ),
    ]
