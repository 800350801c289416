# An agent's language may be blank: follow the browser (I18N-1). Until now the setting was never
# applied (every page followed the browser) and "en" was only its default, so "en" becomes blank
# and nobody's screens change language with this migration.

from django.db import migrations, models


def follow_the_browser(apps, schema_editor):
    apps.get_model("agents", "AgentProfile").objects.filter(language="en").update(language="")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0005_agent_avatar"),
    ]

    operations = [
        migrations.AlterField(
            model_name="agentprofile",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[
                    ("en", "English"),
                    ("id", "Bahasa Indonesia"),
                    ("fr", "Français"),
                    ("ro", "Română"),
                    ("pl", "Polski"),
                ],
                default="",
                help_text="The language of this person's workspace and admin center. Empty: their browser's language.",
                max_length=8,
            ),
        ),
        migrations.RunPython(follow_the_browser, migrations.RunPython.noop),
    ]
