from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Imported here because services import models, which are not loaded before ready().
        from agents.availability import register_availability_listener, register_presence_hold
        from notifications.selectors import has_open_banner
        from notifications.services import agent_availability_changed

        register_availability_listener(agent_availability_changed)
        # NOT-10..12: automatic presence leaves an agent alone while a presence-changing banner is open.
        register_presence_hold(has_open_banner)
