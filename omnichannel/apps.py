from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = "Platform"


class AdminCenterConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the admin center's site (sections by task, a start page)."""

    default = False  # named in INSTALLED_APPS by itself; OmnichannelConfig stays this module's default
    default_site = "omnichannel.admin_site.AdminCenterSite"
