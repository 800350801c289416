"""The agents app takes over the routing app's agent tables (issue 11). The tables exist already
(made by routing's migrations, which this one follows) and keep their names, so only Django's
model state changes: no table is created, copied or renamed.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("routing", "0005_offer_released_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Presence",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=64, unique=True)),
                        (
                            "base",
                            models.CharField(
                                choices=[
                                    ("available", "Available"),
                                    ("busy", "Busy"),
                                    ("busy_dnd", "Busy – Do not disturb"),
                                    ("away", "Away"),
                                    ("offline", "Offline"),
                                    ("inactive", "Inactive"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "is_system",
                            models.BooleanField(
                                default=False, editable=False, help_text="Shipped with the product; cannot be deleted."
                            ),
                        ),
                        (
                            "agent_selectable",
                            models.BooleanField(
                                default=True,
                                help_text="Agents may choose it themselves (Inactive is set by the system).",
                            ),
                        ),
                        ("color", models.CharField(default="#8a8886", max_length=7)),
                        ("order", models.PositiveSmallIntegerField(default=100)),
                    ],
                    options={
                        "db_table": "routing_presence",
                        "ordering": ["order", "name"],
                    },
                ),
                migrations.CreateModel(
                    name="Skill",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("description", models.CharField(blank=True, max_length=300)),
                    ],
                    options={
                        "db_table": "routing_skill",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="AgentProfile",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("display_name", models.CharField(max_length=100)),
                        (
                            "role",
                            models.CharField(
                                choices=[("agent", "Agent"), ("supervisor", "Supervisor")],
                                default="agent",
                                max_length=16,
                            ),
                        ),
                        (
                            "capacity",
                            models.PositiveSmallIntegerField(
                                default=100,
                                help_text="Capacity units this agent can hold at once (ROU-6).",
                                validators=[
                                    django.core.validators.MinValueValidator(1),
                                    django.core.validators.MaxValueValidator(10000),
                                ],
                            ),
                        ),
                        ("capacity_used", models.PositiveIntegerField(default=0, editable=False)),
                        ("session_count", models.PositiveSmallIntegerField(default=0, editable=False)),
                        (
                            "presence_changed_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        ("disconnected_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("last_assigned_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("last_work_ended_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "desktop_notifications",
                            models.CharField(
                                choices=[
                                    ("template", "As the template says"),
                                    ("never", "Never"),
                                    ("always", "Always"),
                                    ("background", "When the workspace is in the background"),
                                ],
                                default="template",
                                max_length=16,
                            ),
                        ),
                        (
                            "language",
                            models.CharField(
                                choices=[
                                    ("en", "English"),
                                    ("id", "Bahasa Indonesia"),
                                    ("fr", "Français"),
                                    ("ro", "Română"),
                                    ("pl", "Polski"),
                                ],
                                default="en",
                                max_length=8,
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="agent",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "presence",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="agents.presence"
                            ),
                        ),
                        (
                            "presence_before_disconnect",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="agents.presence",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "routing_agentprofile",
                        "ordering": ["display_name"],
                    },
                ),
                migrations.CreateModel(
                    name="AgentSkill",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "proficiency",
                            models.PositiveSmallIntegerField(
                                default=5,
                                help_text="1 (novice) to 10 (expert).",
                                validators=[
                                    django.core.validators.MinValueValidator(1),
                                    django.core.validators.MaxValueValidator(10),
                                ],
                            ),
                        ),
                        (
                            "agent",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="agent_skills",
                                to="agents.agentprofile",
                            ),
                        ),
                        (
                            "skill",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="agent_skills",
                                to="agents.skill",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "routing_agentskill",
                    },
                ),
                migrations.AddField(
                    model_name="agentprofile",
                    name="skills",
                    field=models.ManyToManyField(related_name="agents", through="agents.AgentSkill", to="agents.skill"),
                ),
                migrations.CreateModel(
                    name="AgentConnection",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("channel_name", models.CharField(max_length=200, unique=True)),
                        ("connected_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_seen_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "agent",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="connections",
                                to="agents.agentprofile",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "routing_agentconnection",
                        "indexes": [
                            models.Index(fields=["agent", "last_seen_at"], name="routing_age_agent_i_07290e_idx"),
                            models.Index(fields=["last_seen_at"], name="routing_age_last_se_e2a1d5_idx"),
                        ],
                    },
                ),
                migrations.AddConstraint(
                    model_name="agentskill",
                    constraint=models.UniqueConstraint(fields=("agent", "skill"), name="one_proficiency_per_skill"),
                ),
                migrations.AddIndex(
                    model_name="agentprofile",
                    index=models.Index(fields=["presence"], name="routing_age_presenc_6c381f_idx"),
                ),
                migrations.AddConstraint(
                    model_name="agentprofile",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("session_count__lte", 10)), name="agent_at_most_ten_sessions"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="agentprofile",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("capacity_used__gte", 0)), name="agent_capacity_used_not_negative"
                    ),
                ),
            ],
        ),
    ]
