"""CI's translation checks of the scripts (issue 17, I18N-1): every shipped catalog of the scripts'
domain (djangojs: id, fr, ro, pl) is complete, compiles, and is compiled as it reads (the server's
django domain: test_catalogs.py); every word the scripts ask gettext for is in the catalog; and no
template or script puts words on screen outside gettext — each check tested by planting what it
must catch."""

import subprocess
from pathlib import Path

import polib
import pytest

from tests.i18n_checks import (
    PLURAL_FORMS,
    SHIPPED,
    catalog_path,
    catalog_problems,
    msgfmt_problems,
    script_calls,
    script_files,
    script_msgids,
    script_strings_outside_gettext,
    stale_compiled,
    template_strings_outside_gettext,
)

CATALOGS = [(lang, "djangojs") for lang in SHIPPED]
IDS = [f"{domain}-{lang}" for lang, domain in CATALOGS]


@pytest.mark.parametrize("lang, domain", CATALOGS, ids=IDS)
def test_every_shipped_catalog_is_complete_none_fuzzy_with_the_languages_plural_forms(lang, domain):
    # spec: I18N-1
    assert catalog_problems(catalog_path(lang, domain), lang) == []


@pytest.mark.parametrize("lang, domain", CATALOGS, ids=IDS)
def test_every_shipped_catalog_compiles_with_its_formats_matching(lang, domain):
    # spec: I18N-1
    assert msgfmt_problems(catalog_path(lang, domain)) == ""


@pytest.mark.parametrize("lang, domain", CATALOGS, ids=IDS)
def test_every_compiled_catalog_says_what_its_po_file_says(lang, domain):
    # spec: I18N-1 — a .po edited after its .mo was built fails here
    assert stale_compiled(catalog_path(lang, domain)) == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_the_scripts_catalog_holds_every_word_the_scripts_ask_for(lang):
    # spec: I18N-1 — a gettext("…") added to a script without makemessages is an untranslated word
    po = polib.pofile(str(catalog_path(lang, "djangojs")))
    in_catalog = {(entry.msgctxt, entry.msgid) for entry in po if not entry.obsolete}
    asked = script_msgids(script_files())
    assert asked
    assert sorted(asked - in_catalog, key=str) == []


def test_xgettext_sees_every_gettext_call_of_the_scripts():
    # A regular expression xgettext misreads hides every word after it from makemessages (it did,
    # in the widget's loader): each call a plain search finds must be in the extraction.
    files = script_files()
    called = script_calls(files)
    assert len(called) > 30
    assert sorted(called - script_msgids(files), key=str) == []


# --- the checks catch what they must -----------------------------------------------------------

HEADER = """msgid ""
msgstr ""
"Project-Id-Version: omnichannel\\n"
"PO-Revision-Date: 2026-12-02 18:00+0000\\n"
"Last-Translator: Omnichannel translators\\n"
"Language-Team: French\\n"
"Language: fr\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

"""


def test_the_catalog_check_names_untranslated_fuzzy_and_short_plural_entries(tmp_path):
    path = tmp_path / "djangojs.po"
    path.write_text(
        HEADER
        + 'msgid "Send"\nmsgstr "Envoyer"\n\n'
        + 'msgid "Cancel"\nmsgstr ""\n\n'
        + '#, fuzzy\nmsgid "End chat"\nmsgstr "Terminer"\n\n'
        + 'msgid "%(n)s message"\nmsgid_plural "%(n)s messages"\nmsgstr[0] "%(n)s message"\n\n'
        + '#~ msgid "Gone"\n#~ msgstr "Parti"\n',
        encoding="utf-8",
    )
    assert catalog_problems(path, "fr") == [
        "untranslated: 'Cancel'",
        "fuzzy: 'End chat'",
        "1 plural forms, not 2: '%(n)s message'",
        "obsolete: 'Gone'",
    ]
    assert PLURAL_FORMS["fr"] in path.read_text()


def test_the_msgfmt_check_names_a_catalog_that_does_not_compile(tmp_path):
    path = tmp_path / "djangojs.po"
    path.write_text(HEADER + 'msgid "Send"\nmsgstr "Envoyer"\n', encoding="utf-8")
    assert msgfmt_problems(path) == ""
    path.write_text(
        HEADER + '#, python-format\nmsgid "Linked to %(name)s."\nmsgstr "Lié à %(nom)s."\n', encoding="utf-8"
    )
    assert "argument 'name' doesn't exist" in msgfmt_problems(path)  # the code fills %(name)s, not %(nom)s
    path.write_text(HEADER + 'msgid "Send"\nmsgstr "Envoyer\n', encoding="utf-8")  # unterminated
    assert msgfmt_problems(path)


def test_the_compiled_check_names_a_mo_older_than_its_po(tmp_path):
    path = tmp_path / "djangojs.po"
    assert stale_compiled(path) == ["missing .mo"]
    path.write_text(HEADER + 'msgid "Send"\nmsgstr "Envoyer"\n', encoding="utf-8")
    subprocess.run(["msgfmt", "-o", str(path.with_suffix(".mo")), str(path)], check=True)
    assert stale_compiled(path) == []
    path.write_text(HEADER + 'msgid "Send"\nmsgstr "Expédier"\n\nmsgid "Cancel"\nmsgstr "Annuler"\n', encoding="utf-8")
    assert stale_compiled(path) == ["Send", "Cancel"]


PLANTED_TEMPLATE = """{% load i18n %}
<h1>{% translate "Dashboard" %}</h1>
<p>Hello there</p>
<p>{% blocktranslate %}Shown to {{ name }}{% endblocktranslate %}</p>
<img src="x.png" alt="A cat">
<button title="Close it" aria-label="{% translate 'Close' %}">✕</button>
<input type="submit" value="Save it"> <input type="text" value="data" placeholder="{{ hint }}">
{# A comment in English #}<span>{{ agent.name }} · 3</span>
"""
PLANTED_SCRIPT = """const a = gettext("Fine");
node.textContent = "Untranslated words";
other.textContent = gettext("Translated");
el("p", { class: "note", text: "Also plain" });
el("span", { class: "who" }, `${name} said hi`);
button.setAttribute("aria-label", interpolate(gettext("Open %(n)s"), { n }, true));
input.placeholder = "Type here";
"""


def test_the_scan_names_a_planted_untranslated_string_in_a_template_and_a_script(tmp_path):
    # spec: I18N-1 — tested by planting: what it must find, and nothing that is translated
    template = tmp_path / "planted.html"
    template.write_text(PLANTED_TEMPLATE, encoding="utf-8")
    script = tmp_path / "planted.js"
    script.write_text(PLANTED_SCRIPT, encoding="utf-8")
    assert template_strings_outside_gettext([template]) == [
        f"{template}:3: Hello there",
        f'{template}:5: alt="A cat"',
        f'{template}:6: title="Close it"',
        f'{template}:7: value="Save it"',
    ]
    assert script_strings_outside_gettext([script]) == [
        f'{script}:2: "Untranslated words"',
        f'{script}:4: "Also plain"',
        f"{script}:5: `${{name}} said hi`",
        f'{script}:7: "Type here"',
    ]


def test_no_template_or_script_of_the_product_shows_words_outside_gettext():
    # spec: I18N-1
    base = str(Path(__file__).resolve().parents[2]) + "/"
    assert [line.replace(base, "") for line in template_strings_outside_gettext()] == []
    assert [line.replace(base, "") for line in script_strings_outside_gettext()] == []
