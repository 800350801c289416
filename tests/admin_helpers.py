"""Helpers for admin-center tests: post a page's own form back with a few changes."""

from django.forms import CheckboxInput


def admin_form_data(response) -> dict:
    """The POST body an admin change/add page sends back untouched: its form and every inline.

    Tests then change only what they are about, so they keep working when a field is added.
    """
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.append(formset.management_form)
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if hasattr(field.widget, "as_post_data"):  # a row editor posts one key per cell
                data.update(field.widget.as_post_data(key, value))
            elif isinstance(field.widget, CheckboxInput):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            elif value is not None:
                data[key] = str(value)
    return data


def inline_prefix(response, model) -> str:
    """The form prefix of the page's inline for ``model``."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"no inline for {model.__name__}")


def add_inline_rows(data: dict, prefix: str, rows: list[dict]) -> dict:
    """Append new rows to an inline formset in a POST body built by :func:`admin_form_data`."""
    start = int(data[f"{prefix}-TOTAL_FORMS"])
    # Drop the page's empty extra rows first: they would be posted unchanged anyway.
    initial = int(data[f"{prefix}-INITIAL_FORMS"])
    for index in range(initial, start):
        for key in [k for k in data if k.startswith(f"{prefix}-{index}-")]:
            del data[key]
    for offset, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{initial + offset}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(initial + len(rows))
    return data


def field_errors(response, field: str) -> list[str]:
    return list(response.context["adminform"].form.errors.get(field, []))


def inline_errors(response, model) -> list[dict]:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return [dict(form.errors) for form in inline.formset.forms]
    raise AssertionError(f"no inline for {model.__name__}")
