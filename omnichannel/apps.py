from django.apps import AppConfig


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = "Platform"

    def ready(self) -> None:
        from omnichannel import logfilters

        logfilters.install()
