"""Admin helpers every app's admin shares."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the system writes (conversations, work items, offers, …): list, filter, search, detail.

    Their statuses move only through services (design.md, "State machines"), so nobody adds,
    edits or deletes them here.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        # Every column, including those a model form skips (status, deadlines: editable=False).
        opts = self.model._meta
        return [
            *(field.name for field in opts.concrete_fields if not field.primary_key),
            *(field.name for field in opts.many_to_many),
        ]


class ReadOnlyTabularInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _refuse_constant(name: str):
    raise ValueError(name)


class JSONListField(forms.JSONField):
    """A JSON list typed by an admin, refused on the field when malformed, never at save (REL-3).

    Empty input means ``[]`` (the columns are NOT NULL); NaN and Infinity, which PostgreSQL's
    jsonb cannot hold, and absurdly deep nesting are reported as invalid JSON.
    """

    default_error_messages = {"not_list": _("Enter a JSON list: it starts with [ and ends with ].")}

    def __init__(self, **kwargs):
        kwargs["required"] = False
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 60}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not self.disabled:
            try:
                json.loads(value, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        value = super().to_python(value)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValidationError(self.error_messages["not_list"], code="not_list")
        return value

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except (ValueError, RecursionError):
            return forms.fields.InvalidJSONInput(data)


JSON_LIST_OVERRIDES = {models.JSONField: {"form_class": JSONListField}}
