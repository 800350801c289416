"""Checks of the translation catalogs and of strings left outside gettext (issue 17, I18N-1).

Shared by the catalog tests (tests/omnichannel/test_script_catalogs.py, and the per-language ones):
``catalog_problems`` (untranslated, fuzzy, obsolete, wrong plural forms), ``msgfmt_problems``
(GNU msgfmt's own checks: does it compile, do the formats match), ``stale_compiled`` (a ``.mo``
that does not say what its ``.po`` says: not rebuilt after an edit), and the scans
``template_strings_outside_gettext`` / ``script_strings_outside_gettext``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polib
from django.conf import settings

from tests.project import PRODUCT_APPS

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale"

#: The languages we ship besides English, and their plural rules as GNU gettext writes them (the
#: headers the catalogs carry): French 0 and 1 / more; Indonesian one form; Romanian and Polish three.
SHIPPED = ("id", "fr", "ro", "pl")
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "id": "nplurals=1; plural=0;",
    "ro": "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100>0 && n%100<20)) ? 1 : 2);",
    "pl": "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}


def catalog_path(lang: str, domain: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"


def catalog_problems(path: Path, lang: str) -> list[str]:
    """What makes a catalog incomplete: each problem names its entry."""
    po = polib.pofile(str(path))
    problems = []
    if po.metadata.get("Language") != lang:
        problems.append(f"Language header is {po.metadata.get('Language')!r}, not {lang!r}")
    if po.metadata.get("Plural-Forms") != PLURAL_FORMS[lang]:
        problems.append(f"Plural-Forms header is {po.metadata.get('Plural-Forms')!r}")
    if po.metadata_is_fuzzy:
        problems.append("the header is fuzzy")
    nplurals = int(re.search(r"nplurals=(\d)", PLURAL_FORMS[lang]).group(1))
    for entry in po:
        name = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.obsolete:
            problems.append(f"obsolete: {name!r}")
        elif "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {name!r}")
        elif not entry.translated():
            problems.append(f"untranslated: {name!r}")
        elif entry.msgid_plural and sorted(entry.msgstr_plural) != list(range(nplurals)):
            problems.append(f"{len(entry.msgstr_plural)} plural forms, not {nplurals}: {name!r}")
    return problems


def msgfmt_problems(path: Path) -> str:
    """GNU msgfmt's complaints about a catalog ("" when it compiles and its formats match)."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is needed (apt-get install gettext)"
    result = subprocess.run(
        [msgfmt, "--check", "--check-format", "-o", "/dev/null", str(path)], capture_output=True, text=True
    )
    return result.stderr if result.returncode or result.stderr else ""


def stale_compiled(path: Path) -> list[str]:
    """The entries a ``.po``'s compiled ``.mo`` (what the product reads) says differently, or
    "missing .mo": a catalog edited but not compiled again — however the files' dates fell on
    checkout — fails here."""
    mo_path = path.with_suffix(".mo")
    if not mo_path.exists():
        return ["missing .mo"]
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(mo_path))}
    differ = []
    for entry in polib.pofile(str(path)).translated_entries():
        if "fuzzy" in entry.flags:
            continue
        msgstr, plural = compiled.get((entry.msgctxt, entry.msgid), (None, None))
        if entry.msgid_plural:
            if {int(k): v for k, v in (plural or {}).items()} != {int(k): v for k, v in entry.msgstr_plural.items()}:
                differ.append(entry.msgid)
        elif msgstr != entry.msgstr:
            differ.append(entry.msgid)
    return differ


# --- strings on screen that no gettext went through -------------------------------------------

LETTER = re.compile(r"[^\W\d_]")
TAG = re.compile(r"{%.*?%}|{{.*?}}", re.S)
SKIPPED_BLOCKS = re.compile(
    r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}|<script\b.*?</script>|<style\b.*?</style>"
    r"|<pre\b.*?</pre>|<code\b.*?</code>|{%\s*block\s+\w*class\w*\s*%}.*?{%\s*endblock"  # code, class names
    r"|{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}|{%\s*blocktrans\b.*?{%\s*endblocktrans\s*%}",
    re.S,
)
LABEL_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description", "aria-roledescription"}


#: GNU xgettext as ``makemessages -d djangojs`` runs it (Django's keywords for scripts).
JS_KEYWORDS = ["gettext_noop", "gettext_lazy", "ngettext_lazy:1,2", "pgettext:1c,2", "npgettext:1c,2,3"]
JS_CALL = re.compile(r'\b(n?p?gettext)\(\s*"((?:[^"\\]|\\.)*)"(?:\s*,\s*"((?:[^"\\]|\\.)*)")?')


def script_msgids(paths: list[Path]) -> set[tuple[str | None, str]]:
    """What ``makemessages -d djangojs`` extracts from ``paths``: (context, msgid) pairs."""
    xgettext = shutil.which("xgettext")
    assert xgettext, "GNU gettext's xgettext is needed (apt-get install gettext)"
    result = subprocess.run(
        [xgettext, "--language=JavaScript", "--from-code=UTF-8", "--output=-"]
        + [f"--keyword={keyword}" for keyword in JS_KEYWORDS]
        + [str(path) for path in paths],
        capture_output=True,
        text=True,
        check=True,
    )
    return {(entry.msgctxt, entry.msgid) for entry in polib.pofile(result.stdout)}


def script_calls(paths: list[Path]) -> set[tuple[str | None, str]]:
    """The (context, msgid) of every gettext-family call with a literal, read by a regular
    expression: a word xgettext's parser misses (it loses its way on some regular expressions in
    scripts) shows up as one here and not in :func:`script_msgids`."""
    found = set()
    for path in paths:
        for name, first, second in JS_CALL.findall(path.read_text(encoding="utf-8")):
            unescape = lambda text: json.loads(f'"{text}"')  # noqa: E731
            found.add(
                (unescape(first), unescape(second))
                if name.startswith(("pgettext", "npgettext"))
                else (None, unescape(first))
            )
    return found


def template_files() -> list[Path]:
    files = list((BASE / "templates").rglob("*.html")) + list((BASE / "templates").rglob("*.txt"))
    for app in PRODUCT_APPS:
        files += list((BASE / app / "templates").rglob("*.html"))
    return sorted(files)


def script_files() -> list[Path]:
    return sorted(path for app in PRODUCT_APPS for path in (BASE / app / "static").rglob("*.js"))


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_data(self, data):
        if LETTER.search(data):
            self.found.append((self.getpos()[0], data.strip()))

    def handle_starttag(self, tag, attrs):
        button = tag == "input" and dict(attrs).get("type") in ("submit", "button", "reset")
        for name, value in attrs:
            if (name in LABEL_ATTRIBUTES or (button and name == "value")) and value and LETTER.search(value):
                self.found.append((self.getpos()[0], f'{name}="{value.strip()}"'))

    handle_startendtag = handle_starttag


def _blank_keeping_lines(match: re.Match) -> str:
    return "\n" * match.group(0).count("\n")


def template_strings_outside_gettext(paths: list[Path] | None = None) -> list[str]:
    """Text nodes and label attributes (title, aria-label, placeholder, alt) with words in them
    that are not a ``{% translate %}`` or inside ``{% blocktranslate %}``: "path:line: text"."""
    found = []
    for path in paths if paths is not None else template_files():
        source = path.read_text(encoding="utf-8")
        source = SKIPPED_BLOCKS.sub(_blank_keeping_lines, source)
        source = TAG.sub(_blank_keeping_lines, source)
        finder = _TextFinder()
        finder.feed(source)
        finder.close()
        found += [f"{path}:{line}: {text}" for line, text in finder.found]
    return found


#: A string literal (quoted or a template literal) with words in it, where a script puts it on
#: screen: textContent / innerText / title / placeholder / alt / ariaLabel assigned, a label
#: attribute set, the ``text``/label keys of the element helpers, an alert or confirm.
_LITERAL = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
SCRIPT_SINKS = [
    re.compile(r"\.(?:textContent|innerText|title|placeholder|alt|ariaLabel)\s*=\s*" + _LITERAL),
    re.compile(r"""setAttribute\(\s*["'](?:title|aria-label|placeholder|alt)["']\s*,\s*""" + _LITERAL),
    re.compile(r"""(?:[{,]\s*)(?:text|title|placeholder|alt|"aria-label"|'aria-label')\s*:\s*""" + _LITERAL),
    re.compile(r"\b(?:alert|confirm|createTextNode)\(\s*" + _LITERAL),
    # el(tag, attrs, "text") / el(tag, attrs, child, "text"): the element helpers' text argument
    re.compile(r"""\bel\(\s*["'][\w-]+["']\s*,\s*(?:\{[^{}]*\}|null|undefined)\s*,\s*(?:[^,()]+,\s*)*""" + _LITERAL),
]
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def script_strings_outside_gettext(paths: list[Path] | None = None) -> list[str]:
    """String literals with words that a script puts on screen without gettext: "path:line: text"."""
    found = []
    for path in paths if paths is not None else script_files():
        source = path.read_text(encoding="utf-8")
        for sink in SCRIPT_SINKS:
            for match in sink.finditer(source):
                literal = _INTERPOLATION.sub("", match.group(1)[1:-1])
                if LETTER.search(literal):
                    line = source.count("\n", 0, match.start(1)) + 1
                    found.append(f"{path}:{line}: {match.group(1)}")
    return sorted(found)
