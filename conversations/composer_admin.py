"""Canned responses and wrap-up codes in the admin center (issue 15). Imported by ``admin.py``."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from conversations.models import CannedResponse, WrapUpCode, WrapUpSettings
from conversations.placeholders import PLACEHOLDERS


class CannedResponseAdminForm(forms.ModelForm):
    """The model's checks (placeholders, owner) plus the queues, which only the form can see."""

    class Meta:
        model = CannedResponse
        fields = ["title", "shortcut", "text", "language", "visibility", "queues", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        known = ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items())
        self.fields["text"].help_text = _("Placeholders filled from the conversation: %(known)s.") % {"known": known}

    def clean(self):
        cleaned = super().clean()
        visibility = cleaned.get("visibility")
        queues = cleaned.get("queues")
        if visibility == CannedResponse.Visibility.QUEUES and not queues:
            self.add_error("queues", _("Choose the queues whose agents see this canned response."))
        if visibility != CannedResponse.Visibility.QUEUES and queues:
            self.add_error("queues", _("Queues apply only to “Agents of some queues”; clear them."))
        return cleaned


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    form = CannedResponseAdminForm
    list_display = ["title", "shortcut", "language", "visibility", "owner"]
    list_filter = ["visibility", "language", "queues"]
    list_select_related = ["owner"]
    search_fields = ["title", "shortcut", "text"]
    filter_horizontal = ["queues"]
    autocomplete_fields = ["owner"]


class WrapUpCodeInline(admin.TabularInline):
    model = WrapUpCode
    fields = ["name", "order", "is_active"]
    extra = 3


@admin.register(WrapUpSettings)
class WrapUpSettingsAdmin(admin.ModelAdmin):
    """A workstream's wrap-up codes, and whether closing needs one."""

    inlines = [WrapUpCodeInline]
    list_display = ["workstream", "code_required"]
    list_select_related = ["workstream"]
    list_filter = ["code_required"]
