from django.apps import AppConfig


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = "Platform"
