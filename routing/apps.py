from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Imported here because services import models, which are not loaded before ready().
        from agents.availability import register_availability_listener
        from routing.services.availability import agent_availability_changed

        register_availability_listener(agent_availability_changed)
