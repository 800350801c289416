"""Admin helpers every app's admin shares."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _


class NoWrites:
    """An admin page or inline nobody adds to, edits or deletes from."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(NoWrites, admin.ModelAdmin):
    """Records the system writes (conversations, work items, offers, …): list, filter, search, detail.

    Their statuses move only through services (design.md, "State machines"), so nobody adds,
    edits or deletes them here.
    """

    def get_readonly_fields(self, request, obj=None):
        # Every column, including those a model form skips (status, deadlines: editable=False).
        opts = self.model._meta
        return [
            *(field.name for field in opts.concrete_fields if not field.primary_key),
            *(field.name for field in opts.many_to_many),
        ]


class ReadOnlyTabularInline(NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class TextRowsWidget(forms.Widget):
    """A list of short texts as one input per row (choices, claim names), never typed as JSON.

    Rows post as ``<name>-0``, ``<name>-1``…; :data:`EMPTY_ROWS` empty ones follow the filled
    ones, and ``core/text_rows.js`` adds a button for more.
    """

    template_name = "admin/core/text_rows.html"
    EMPTY_ROWS = 2
    MAX_ROWS = 50

    class Media:
        js = ["core/text_rows.js"]

    def __init__(self, *, row_label, add_label, attrs=None):
        super().__init__(attrs)
        self.row_label = row_label
        self.add_label = add_label

    def rows_for(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            return ["" if item is None else str(item) for item in value]
        return []

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = [*self.rows_for(value), *[""] * self.EMPTY_ROWS][: self.MAX_ROWS]
        context["widget"].update({"rows": rows, "row_label": str(self.row_label), "add_label": str(self.add_label)})
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates/ folder, which the default form renderer does not search.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))

    def value_from_datadict(self, data, files, name):
        return [data[f"{name}-{index}"] for index in range(self.MAX_ROWS) if f"{name}-{index}" in data]

    def value_omitted_from_data(self, data, files, name):
        return not any(key.startswith(f"{name}-") for key in data)

    def as_post_data(self, name, value) -> dict[str, str]:
        """What a browser posts for ``value``: tests post a page back with it."""
        return {f"{name}-{index}": row for index, row in enumerate(self.rows_for(value))}


class TextRowsField(forms.Field):
    """A list of non-empty, stripped texts from :class:`TextRowsWidget`; empty rows are dropped."""

    def __init__(self, *, row_label, add_label, max_length: int = 200, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", TextRowsWidget(row_label=row_label, add_label=add_label))
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_python(self, value):
        if not isinstance(value, list | tuple):
            return []
        return [str(item).strip() for item in value if str(item).strip()]

    def validate(self, value):
        super().validate(value)
        too_long = [item for item in value if len(item) > self.max_length]
        if too_long:
            raise ValidationError(
                _("Keep each row under %(max)d characters: %(row)s…"),
                params={"max": self.max_length, "row": too_long[0][:40]},
                code="too_long",
            )

    def has_changed(self, initial, data):
        return self.to_python(data) != list(initial or [])
