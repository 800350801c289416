from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "widgets"
    verbose_name = "Chat widgets"

    def ready(self) -> None:
        from routing.rule_fields import register_rule_field_source
        from widgets.selectors import workstream_rule_fields

        # The rule editor offers the pre-chat questions and sign-in claims of a workstream's widgets.
        register_rule_field_source(workstream_rule_fields)
