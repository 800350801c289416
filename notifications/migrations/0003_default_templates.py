from django.db import migrations

# NOT-6a: each scenario has a default template. (scenario, name, kind, title, icon, show_reject,
# accept label, fields)
DEFAULTS = [
    ("incoming_chat", "Incoming chat (default)", "alert", "Incoming chat", "chat", True, "Accept",
     [("Customer", "{customerName}"), ("Queue", "{queueName}"), ("Language", "{visitorLanguage}"),
      ("Device", "{visitorDevice}"), ("Wait", "{waitTime}")]),
    ("incoming_sms", "Incoming SMS (default)", "alert", "Incoming SMS", "sms", True, "Accept",
     [("Customer", "{customerName}"), ("Queue", "{queueName}")]),
    ("incoming_voice", "Incoming call (default)", "alert", "Incoming call", "voice", True, "Accept",
     [("Customer", "{customerName}"), ("Queue", "{queueName}")]),
    ("case_assignment", "Case assignment (default)", "alert", "Case assigned to you", "case", False, "Open item",
     [("Case", "{caseTitle}"), ("Customer", "{customerName}"), ("Queue", "{queueName}")]),
    ("work_item", "Work item (default)", "toast", "New work item", "task", False, "Open",
     [("Customer", "{customerName}"), ("Queue", "{queueName}")]),
    ("transfer", "Transfer (default)", "toast", "Conversation transferred to you", "transfer", False, "Open",
     [("Customer", "{customerName}"), ("From", "{fromAgent}"), ("Note", "{transferNote}")]),
    ("escalation", "Escalation (default)", "toast", "Conversation escalated to you", "escalation", False, "Open",
     [("Customer", "{customerName}"), ("From", "{fromAgent}"), ("Note", "{transferNote}")]),
    ("bot_escalation", "Bot escalation (default)", "alert", "A bot needs a human", "bot", True, "Accept",
     [("Customer", "{customerName}"), ("Queue", "{queueName}")]),
    ("consult", "Consult (default)", "toast", "Consult request", "escalation", False, "Join",
     [("Customer", "{customerName}"), ("From", "{fromAgent}"), ("Note", "{transferNote}")]),
]


def create(apps, schema_editor):
    Template = apps.get_model("notifications", "NotificationTemplate")
    Field = apps.get_model("notifications", "NotificationTemplateField")
    AlertSettings = apps.get_model("notifications", "AlertSettings")
    for scenario, name, kind, title, icon, show_reject, accept, fields in DEFAULTS:
        if Template.objects.filter(scenario=scenario, is_default=True).exists():
            continue
        template = Template.objects.create(
            name=name, scenario=scenario, is_default=True, kind=kind, title=title, icon=icon,
            show_reject=show_reject, accept_label=accept, timeout_seconds=120, show_timeout=True,
            desktop_mode="background",
        )
        for order, (header, value) in enumerate(fields):
            Field.objects.create(template=template, order=order, header=header, value=value)
    AlertSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
