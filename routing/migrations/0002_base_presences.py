from django.db import migrations

# ROU-5: the six base presences. Custom presences map to one of these.
BASE_PRESENCES = [
    ("Available", "available", "#107c10", True, 10),
    ("Busy", "busy", "#c19c00", True, 20),
    ("Busy – Do not disturb", "busy_dnd", "#c50f1f", True, 30),
    ("Away", "away", "#ca5010", True, 40),
    ("Offline", "offline", "#8a8886", True, 50),
    ("Inactive", "inactive", "#5c5c5c", False, 60),
]


def create_base_presences(Presence) -> None:
    """Also used by the tests to restore them, with the model's current class (the agents app's)."""
    for name, base, color, selectable, order in BASE_PRESENCES:
        Presence.objects.update_or_create(
            name=name,
            defaults={"base": base, "color": color, "agent_selectable": selectable, "order": order, "is_system": True},
        )


def create(apps, schema_editor):
    create_base_presences(apps.get_model("routing", "Presence"))


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
