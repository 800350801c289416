from django.db import migrations, models


class Migration(migrations.Migration):
    """Lists and the search read conversations newest first (issue 15's search tuning)."""

    dependencies = [
        ("conversations", "0021_event_kinds_tags_and_wrap_up"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["-created_at", "-id"], name="conversation_newest_first"),
        ),
    ]
