"""The moved models' content types change app label (issue 11), so the admin permissions that
groups and users already hold (``routing.change_agentprofile`` …) become ``agents.…`` ones:
the permission rows and their grants stay, only the content type they hang on is relabelled.

On a new database there is nothing to relabel: the content types are created after the
migrations, under their new label. A database where ``agents`` content types already exist
next to the old ``routing`` ones (a partial migrate created them) keeps the old rows, which
carry the grants, and drops the empty new ones.
"""

from django.db import migrations

MOVED_MODELS = ("presence", "skill", "agentprofile", "agentskill", "agentconnection")


def relabel(apps, schema_editor, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED_MODELS:
        old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue
        ContentType.objects.using(db).filter(app_label=target, model=model).delete()
        old.app_label = target
        old.save(update_fields=["app_label"])


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, source="routing", target="agents")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, source="agents", target="routing")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
