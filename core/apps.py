from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app uses and that knows no domain: real time, sockets, errors, API bases."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import logfilters

        logfilters.install()
