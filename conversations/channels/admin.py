"""Admin center: phone channels (SMS numbers, voice hand-off lines) and their traffic (SMS-1, VOI-1)."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from conversations.channels.models import OutboundSms, PhoneChannel, ProviderDelivery, SmsOptOut


class PhoneChannelForm(forms.ModelForm):
    # Write-only: never rendered back, never shown again; blank on change keeps the stored one.
    auth_token = forms.CharField(
        label=_("auth token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only: it is never shown again. Leave blank to keep the current one."),
    )

    class Meta:
        model = PhoneChannel
        fields = "__all__"

    def clean_auth_token(self) -> str:
        token = self.cleaned_data.get("auth_token", "")
        if not token:
            if not self.instance.pk:
                raise forms.ValidationError(_("Give the provider's auth token."))
            return self.instance.auth_token
        return token


@admin.register(PhoneChannel)
class PhoneChannelAdmin(admin.ModelAdmin):
    form = PhoneChannelForm
    list_display = ("name", "kind", "provider", "phone_number", "messaging_service_sid", "workstream", "is_active")
    list_filter = ("kind", "provider", "is_active")
    readonly_fields = ("webhook_urls",)
    fieldsets = (
        (None, {"fields": ("name", "kind", "provider", "workstream", "is_active")}),
        (_("Provider account"), {"fields": ("account_sid", "auth_token", "phone_number", "messaging_service_sid")}),
        (_("Addresses"), {"fields": ("public_base_url", "api_base_url", "webhook_urls")}),
        (_("Conversations"), {"fields": ("inactivity_auto_close_seconds",)}),
    )

    @admin.display(description=_("webhook URLs to paste into the provider"))
    def webhook_urls(self, channel: PhoneChannel) -> str:
        if not channel.pk:
            return _("Shown once the channel is saved.")
        base = channel.public_base_url.rstrip("/")
        if channel.kind == PhoneChannel.Kind.SMS:
            rows = [(_("A message comes in (POST)"), base + reverse("sms_inbound"))]
            rows.append((_("Status callbacks"), _("set by each reply; nothing to paste")))
        else:
            rows = [(_("Call handed off by the voice bot (POST)"), base + reverse("voice_handoff"))]
        return format_html(
            "<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd><code>{}</code></dd>", ((str(a), b) for a, b in rows))
        )


@admin.register(ProviderDelivery)
class ProviderDeliveryAdmin(admin.ModelAdmin):
    list_display = ("provider_id", "kind", "channel", "from_number", "received_at", "processed_at")
    list_filter = ("kind", "channel")
    search_fields = ("provider_id", "from_number")
    readonly_fields = [field.name for field in ProviderDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboundSms)
class OutboundSmsAdmin(admin.ModelAdmin):
    list_display = ("to_number", "channel", "status", "attempts", "provider_id", "error_message", "created_at")
    list_filter = ("status", "channel")
    search_fields = ("provider_id", "to_number")
    readonly_fields = (
        "message",
        "channel",
        "to_number",
        "status",
        "provider_id",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    list_display = ("phone_number", "channel", "opted_out_at")
    list_filter = ("channel",)
    search_fields = ("phone_number",)

    def has_add_permission(self, request) -> bool:
        return False
