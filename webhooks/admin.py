"""Admin center: webhook endpoints, their delivery log, a test event and redelivery (API-2)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from webhooks import services
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "enabled")


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("created_at", "event_type", "status", "attempts", "response_code", "last_attempt_at", "message_id")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = _("latest deliveries")

    def get_queryset(self, request):
        return super().get_queryset(request)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "enabled", "failing_since", "disabled_reason")
    list_filter = ("enabled",)
    readonly_fields = ("failing_since", "disabled_reason")
    inlines = [DeliveryInline]
    actions = ["send_test_event", "rotate_secret"]

    def save_model(self, request, obj, form, change):
        created = obj.pk is None
        super().save_model(request, obj, form, change)
        if created:  # the secret is shown this once
            messages.warning(
                request, _("The signing secret of this endpoint (shown only now): %(secret)s") % {"secret": obj.secret}
            )

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset):
        # The new secret is shown this once; the old one signs beside it for the overlap.
        for endpoint in queryset:
            endpoint = services.webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk)
            messages.warning(
                request,
                _(
                    "New signing secret of %(endpoint)s (shown only now): %(secret)s. "
                    "The old one stays valid until %(until)s."
                )
                % {
                    "endpoint": endpoint,
                    "secret": endpoint.secret,
                    "until": endpoint.previous_secret_expires_at.isoformat(timespec="minutes"),
                },
            )

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            services.webhook_test_event_send(endpoint_id=endpoint.pk)
        self.message_user(request, _("Test events are on their way."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "event_type", "status", "attempts", "response_code", "last_attempt_at")
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    readonly_fields = (
        "endpoint",
        "message_id",
        "event_type",
        "ordering_key",
        "payload",
        "status",
        "attempts",
        "response_code",
        "error",
        "last_attempt_at",
        "next_attempt_at",
        "created_at",
    )
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Redeliver"), permissions=["view"])
    def redeliver(self, request, queryset):
        for delivery in queryset:
            services.webhook_redeliver(delivery_id=delivery.pk)
        self.message_user(request, _("Redelivery scheduled."))
