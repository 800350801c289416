from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        # One source: the webhooks follow the domain events the realtime layer publishes (API-2).
        from core.realtime import register_event_sink
        from webhooks.services import webhook_events_capture

        register_event_sink(webhook_events_capture)
