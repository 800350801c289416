from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Notifications sit below routing: routing tells them which template a workstream uses
        # and hears from them when an offer's notification is shown.
        from notifications.selectors import register_template_chooser
        from notifications.services import register_offer_displayed_listener
        from routing.selectors import workstream_template_chosen
        from routing.services.notification_answers import offer_displayed_record

        register_template_chooser(workstream_template_chosen)  # NOT-2
        register_offer_displayed_listener(offer_displayed_record)  # NOT-8

        # Imported here because services import models, which are not loaded before ready().
        from agents.availability import register_availability_listener
        from routing.services.availability import agent_availability_changed

        register_availability_listener(agent_availability_changed)
