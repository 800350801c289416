from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Notifications sit below routing: routing tells them which template a workstream uses,
        # hears from them when an offer's notification is shown, and reads a notification's
        # work item back for them.
        from notifications.selectors import register_template_chooser, register_work_item_reader
        from notifications.services import register_offer_displayed_listener
        from routing.selectors import work_items_with_workstream, workstream_template_chosen
        from routing.services.notification_answers import offer_displayed_record

        register_template_chooser(workstream_template_chosen)  # NOT-2
        register_offer_displayed_listener(offer_displayed_record)  # NOT-8
        register_work_item_reader(work_items_with_workstream)

        # Imported here because services import models, which are not loaded before ready().
        from agents.availability import register_availability_listener
        from routing.services.availability import agent_availability_changed

        register_availability_listener(agent_availability_changed)

        # Services send this app's tasks by name (core.tasks_by_name): register them in every process.
        from routing import tasks  # noqa: F401
