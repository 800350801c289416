"""Admin center: notification templates and the alert switches (ADM-1, NOT-6a, NOT-10..12).

Notifications and banners are shown for inspection only: their lifecycle belongs to services.
"""

from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from notifications.models import (
    AgentBanner,
    AlertSettings,
    Notification,
    NotificationTemplate,
    NotificationTemplateField,
)
from notifications.scenarios import Scenario

# --- Templates ------------------------------------------------------------------------------


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        # The one-default-per-scenario constraint would otherwise surface as a form-wide error
        # (or, with the scenario read-only, as an IntegrityError); say it on the checkbox.
        scenario = cleaned.get("scenario") or self.instance.scenario
        if cleaned.get("is_default") and scenario:
            current = (
                NotificationTemplate.objects.filter(scenario=scenario, is_default=True)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if current is not None:
                self.add_error(
                    "is_default",
                    _("“%(name)s” is already the default template for %(scenario)s; a scenario has one default.")
                    % {"name": current.name, "scenario": Scenario(scenario).label},
                )
        return cleaned


class NotificationTemplateFieldInline(admin.TabularInline):
    """Header + value lines; values take placeholders such as {customerName} (NOT-6a)."""

    model = NotificationTemplateField
    extra = 1
    fields = ["order", "header", "value"]


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ["name", "scenario", "is_default", "kind", "timeout_seconds", "show_timeout", "desktop_mode"]
    list_filter = ["scenario", "is_default", "kind", "desktop_mode", "auto_accept"]
    search_fields = ["name", "title"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [NotificationTemplateFieldInline]
    fieldsets = [
        (None, {"fields": ["name", "scenario", "is_default", "kind"]}),
        (_("Look"), {"fields": ["title", "icon", "accept_label", "show_reject"]}),
        (_("Behaviour"), {"fields": ["auto_accept", "timeout_seconds", "show_timeout", "desktop_mode"]}),
        (_("History"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # A template is made for one scenario: workstreams pick it for that scenario (NOT-2).
        if obj is not None:
            return [*self.readonly_fields, "scenario"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        # Each scenario keeps its default template (NOT-6a).
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)


# --- Alert switches -------------------------------------------------------------------------


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    """One settings page: missed-notification, agent-reject and maximum-sessions alerts (NOT-10..12)."""

    list_display = [
        "__str__",
        "missed_notification_enabled",
        "agent_reject_enabled",
        "max_sessions_enabled",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return not AlertSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        settings = AlertSettings.objects.first()
        if settings is not None:
            return redirect(reverse("admin:notifications_alertsettings_change", args=[settings.pk]))
        return super().changelist_view(request, extra_context)


# --- Notifications and banners (inspection only) --------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["title", "agent", "scenario", "kind", "status", "created_at", "expires_at", "closed_at"]
    list_filter = ["status", "scenario", "kind"]
    list_select_related = ["agent"]
    search_fields = ["title", "agent__display_name"]
    date_hierarchy = "created_at"


@admin.register(AgentBanner)
class AgentBannerAdmin(ReadOnlyAdmin):
    list_display = ["kind", "agent", "message", "created_at", "cleared_at"]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    list_select_related = ["agent"]
    search_fields = ["agent__display_name", "message"]
    date_hierarchy = "created_at"
