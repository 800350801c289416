"""No internal spec code reaches a screen (issue 17): admins, agents and customers read plain
words, never "PER-2" or "(NOT-6a)". Spec references live in code comments, docstrings of code
that is not shown, and tests.

Every check here plants a code first where it can, so a check that finds nothing is known to look."""

import ast
import re

import polib
import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.utils.module_loading import autodiscover_modules
from drf_spectacular.generators import SchemaGenerator

from tests.project import PRODUCT_APPS, ROOT, product_python_files

# The spec's line prefixes (every "- XXX-n" line of the spec's documents). A new prefix in the
# spec belongs here too.
SPEC_PREFIXES = (
    "ADM",
    "API",
    "AUTH",
    "CONV",
    "I18N",
    "LIVE",
    "NOT",
    "PER",
    "PERF",
    "PRO",
    "REC",
    "REL",
    "ROU",
    "SEC",
    "SMS",
    "SUM",
    "VOI",
    "WID",
)
SPEC_CODE = re.compile(r"\b(?:" + "|".join(SPEC_PREFIXES) + r")-\d+[a-z]?\b")


def codes_in(text) -> list[str]:
    return SPEC_CODE.findall(str(text)) if text else []


def test_the_pattern_finds_the_spec_codes_and_nothing_else():
    assert codes_in("Persistent requires chat authentication (PER-2).") == ["PER-2"]
    assert codes_in("Template per language (NOT-6a)") == ["NOT-6a"]
    assert codes_in("SUM-13") == ["SUM-13"]
    assert codes_in("I18N-1 and ROU-8, SMS-1") == ["I18N-1", "ROU-8", "SMS-1"]
    # Words that look alike but are no spec line.
    assert codes_in("UTF-8, ISO-8601, COVID-19, E-2, ABCDEF-1, per-2, SUMMARY-3") == []


def _model_texts():
    for model in apps.get_models():
        if model._meta.app_label not in PRODUCT_APPS:
            continue
        where = model._meta.label
        yield where, model._meta.verbose_name
        yield where, model._meta.verbose_name_plural
        for field in model._meta.get_fields(include_hidden=True):
            if field.auto_created and not field.concrete:
                continue
            yield f"{where}.{field.name}", getattr(field, "verbose_name", "")
            yield f"{where}.{field.name}", getattr(field, "help_text", "")
            for _value, label in getattr(field, "flatchoices", None) or ():
                yield f"{where}.{field.name} choice", label
            for message in (getattr(field, "error_messages", None) or {}).values():
                yield f"{where}.{field.name} error", message


def _form_classes(base=forms.BaseForm):
    for cls in base.__subclasses__():
        if cls.__module__.split(".")[0] in PRODUCT_APPS:
            yield cls
        yield from _form_classes(cls)


def _form_texts():
    autodiscover_modules("forms", "admin", "views")
    for cls in set(_form_classes()):
        for name, field in cls.base_fields.items():
            where = f"{cls.__module__}.{cls.__qualname__}.{name}"
            yield where, field.label
            yield where, field.help_text
            if not isinstance(field, forms.ModelChoiceField):  # those choices are rows, not words of ours
                for _value, label in getattr(field, "choices", None) or ():
                    yield f"{where} choice", label
            for message in field.error_messages.values():
                yield f"{where} error", message


def _admin_texts():
    for model, model_admin in admin.site._registry.items():
        where = f"admin {model._meta.label}"
        for name, options in model_admin.fieldsets or ():
            yield f"{where} fieldset", name
            yield f"{where} fieldset", options.get("description")
        for item in model_admin.list_display:
            if callable(item) or hasattr(model_admin, str(item)):
                shown = item if callable(item) else getattr(model_admin, item)
                yield f"{where} column {item}", getattr(shown, "short_description", "")
        for action in model_admin.actions or ():
            shown = action if callable(action) else getattr(model_admin, action, None)
            yield f"{where} action", getattr(shown, "short_description", "")
        for inline in model_admin.inlines:
            yield f"{where} inline", inline.verbose_name
            yield f"{where} inline", inline.verbose_name_plural


@pytest.mark.parametrize("source", [_model_texts, _form_texts, _admin_texts])
def test_models_forms_and_the_admin_center_show_no_spec_code(source):
    # spec: I18N-1
    found = [(where, str(text)) for where, text in source() if codes_in(text)]
    assert found == []


def test_the_model_check_sees_a_planted_code(monkeypatch):
    from routing.models import Workstream

    monkeypatch.setattr(Workstream._meta.get_field("auto_accept"), "help_text", "Accept (NOT-5).")
    assert ("routing.Workstream.auto_accept", "Accept (NOT-5).") in [
        (where, str(text)) for where, text in _model_texts() if codes_in(text)
    ]


def test_the_form_check_sees_a_planted_code():
    class Planted(forms.Form):
        name = forms.CharField(label="Name", help_text="Shown to customers (WID-4).")

    Planted.__module__ = "widgets.forms"
    assert [text for _where, text in _form_texts() if codes_in(text)] == ["Shown to customers (WID-4)."]
    del Planted


def _schema_strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _schema_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_strings(value)
    elif isinstance(node, str):
        yield node


def test_the_api_documentation_shows_no_spec_code():
    """The OpenAPI document is read on screen (/api/v1/docs/): its descriptions come from the API
    views' and serializers' docstrings and help texts."""
    # spec: API-1
    schema = SchemaGenerator().get_schema(request=None, public=True)
    strings = list(_schema_strings(schema))
    assert any("Authorization: Token" in text for text in strings)  # the walk reaches the descriptions
    assert [text for text in strings if codes_in(text)] == []


def _template_files():
    dirs = [ROOT / "templates", *(ROOT / app / "templates" for app in PRODUCT_APPS)]
    return sorted(path for directory in dirs if directory.is_dir() for path in directory.rglob("*.html"))


DJANGO_COMMENT = re.compile(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S)


def shown_template_text(source: str) -> str:
    """A template without its Django comments, which never reach the browser."""
    return DJANGO_COMMENT.sub("", source)


def test_template_text_carries_no_spec_code():
    # spec: I18N-1
    templates = _template_files()
    assert len(templates) > 30
    found = {
        str(path.relative_to(ROOT)): codes_in(shown_template_text(path.read_text()))
        for path in templates
        if codes_in(shown_template_text(path.read_text()))
    }
    assert found == {}


def test_the_template_check_keeps_comments_and_sees_text():
    assert codes_in(shown_template_text("{# ROU-14: to an agent #}{% comment %}NOT-9{% endcomment %}<p>Hi</p>")) == []
    assert codes_in(shown_template_text("{% load i18n %}<p>{% translate 'Wait (LIVE-1)' %}</p>")) == ["LIVE-1"]


JS_COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*", re.S)


def test_scripts_and_styles_show_no_spec_code():
    """What a script writes on screen (or a stylesheet's ``content``) is outside its comments."""
    # spec: I18N-1
    files = sorted(
        path for app in PRODUCT_APPS for ext in ("js", "css") for path in (ROOT / app / "static").rglob(f"*.{ext}")
    )
    assert len(files) > 5
    found = {
        str(path.relative_to(ROOT)): codes_in(JS_COMMENT.sub("", path.read_text()))
        for path in files
        if codes_in(JS_COMMENT.sub("", path.read_text()))
    }
    assert found == {}
    assert codes_in(JS_COMMENT.sub("", 'x = 1; // PER-2\n/* WID-5 */ el.textContent = "Wait (LIVE-1)";')) == ["LIVE-1"]


def _docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield first.value


def string_literals_with_codes(source: str) -> list[str]:
    """Every string the code may show — labels, error messages, gettext's msgids, an API's error
    text — is a literal that is not a docstring. Docstrings that do reach a screen (the API's) are
    checked through the OpenAPI document above."""
    tree = ast.parse(source)
    docstrings = {id(node) for node in _docstrings(tree)}
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and codes_in(node.value)
    ]


def test_no_product_string_carries_a_spec_code():
    # spec: I18N-1
    found = {}
    for path in product_python_files(migrations=False):  # the migrations' history is never shown
        if literals := string_literals_with_codes(path.read_text()):
            found[str(path.relative_to(ROOT))] = literals
    assert found == {}


def test_the_literal_check_skips_docstrings_and_comments_only():
    source = '''
"""A module (ROU-1)."""
def f():
    """Its contract (NOT-6)."""
    raise ValueError(_("Choose an authentication setting (PER-2)."))  # spec: PER-2
'''
    assert string_literals_with_codes(source) == ["Choose an authentication setting (PER-2)."]


def test_the_catalogs_hold_no_spec_code():
    """What the translators see is what the screens show."""
    catalogs = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))
    assert catalogs
    found = [
        (str(path.relative_to(ROOT)), entry.msgid)
        for path in catalogs
        for entry in polib.pofile(str(path))
        if codes_in(entry.msgid) or codes_in(entry.msgid_plural)
    ]
    assert found == []
