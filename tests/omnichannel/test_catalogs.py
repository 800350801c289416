"""The shipped catalogs — Romanian, Polish, French and Indonesian (issue 17, I18N-1): complete
against the strings the code holds, with each language's plural forms, placeholders kept, compiled
as they read, and real screens, system messages and emails coming out in those languages.

The catalogs are made with ``manage.py makemessages -l <lang> -i .venv -i var -i tests`` (with
locations) and compiled with ``msgfmt --check``; the .mo files are committed."""

import re
import shutil
import subprocess
from collections import Counter
from contextlib import chdir
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

from conversations.models import Message
from conversations.services import message_post
from conversations.transcript import conversation_transcript_send
from conversations.wait_messages import wait_message_texts
from routing.models import Workstream
from tests.conversations.factories import ConversationFactory, chat_given_to
from tests.routing.factories import WorkstreamFactory
from tests.widgets.endpoints import ORIGIN, call
from tests.widgets.factories import ChatWidgetFactory

LANGUAGES = ("ro", "pl", "fr", "id")
CATALOG = Path(settings.BASE_DIR) / "locale" / "{lang}" / "LC_MESSAGES" / "django.po"

# The languages' plural rules (CLDR, as GNU gettext writes them): Romanian 1 / 0, 2–19, 101–119… /
# 20 and more ("20 de minute"); Polish 1 / 2–4, 22–24… / 5–21, 25–31…; French 0 and 1 / 2 and more
# ("0 message non lu"); Indonesian has one form ("1 menit", "2 menit").
PLURAL_FORMS = {
    "ro": "nplurals=3; plural=(n==1 ? 0 : (n==0 || (n%100>0 && n%100<20)) ? 1 : 2);",
    "pl": "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "fr": "nplurals=2; plural=(n > 1);",
    "id": "nplurals=1; plural=0;",
}
NPLURALS = {"ro": 3, "pl": 3, "fr": 2, "id": 1}


def plural_form(lang: str, n: int) -> int:
    if lang == "ro":
        return 0 if n == 1 else 1 if n == 0 or 0 < n % 100 < 20 else 2
    if lang == "pl":
        return 0 if n == 1 else 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2
    if lang == "fr":
        return 0 if n <= 1 else 1
    return 0


def catalog(lang: str) -> polib.POFile:
    return polib.pofile(str(CATALOG).format(lang=lang))


PLACEHOLDER = re.compile(r"%\([a-z_]+\)0?\d*[sd]|%%|%[sd]|\{[a-z_]*\}|</?[a-z][^>]*>")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def test_the_plural_rule_is_each_languages():
    ro = (0, 1, 2, 5, 19, 20, 22, 101, 119, 120)
    assert [plural_form("ro", n) for n in ro] == [1, 0, 1, 1, 1, 2, 2, 1, 1, 2]
    pl = (0, 1, 2, 4, 5, 12, 14, 21, 22, 25, 104, 112)
    assert [plural_form("pl", n) for n in pl] == [2, 0, 1, 1, 2, 2, 2, 2, 1, 2, 1, 2]
    assert [plural_form("fr", n) for n in (0, 1, 2, 5, 22)] == [0, 0, 1, 1, 1]
    assert [plural_form("id", n) for n in (0, 1, 2, 5, 22)] == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_none_fuzzy_with_its_languages_plural_forms(lang):
    # spec: I18N-1
    po = catalog(lang)
    assert po.metadata["Language"] == lang
    assert po.metadata["Plural-Forms"] == PLURAL_FORMS[lang]
    assert not po.metadata_is_fuzzy
    assert len(po) > 1000
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.obsolete_entries()] == []
    assert [e.msgid for e in po.untranslated_entries()] == []
    plurals = [entry for entry in po if entry.msgid_plural]
    assert plurals
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == list(range(NPLURALS[lang])), entry.msgid
        assert all(entry.msgstr_plural.values()), entry.msgid


# Not copied into the extraction: what makemessages is told to ignore, the catalogs themselves, and
# what it skips anyway (hidden directories such as .git).
NOT_SOURCE = {".venv", "var", "tests", "locale"}


@pytest.fixture(scope="module")
def source_entries(tmp_path_factory):
    """The strings the code holds now, extracted as the catalogs were made (makemessages, ignoring
    .venv, var and tests), from a copy of the sources so that the shipped catalogs are never touched."""
    root = tmp_path_factory.mktemp("source")
    base = Path(settings.BASE_DIR)
    for child in base.iterdir():
        if child.name in NOT_SOURCE or child.name.startswith("."):
            continue
        if child.is_dir():
            shutil.copytree(child, root / child.name, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        else:
            shutil.copy2(child, root / child.name)
    with chdir(root), override_settings(LOCALE_PATHS=[root / "locale"]):
        call_command("makemessages", locale=["en"], keep_pot=True, verbosity=0)
    pot = polib.pofile(str(root / "locale" / "django.pot"))
    return {(entry.msgctxt, entry.msgid): entry.msgid_plural for entry in pot}


def test_the_extraction_finds_the_products_strings(source_entries):
    # The extraction itself works: strings of Python code, of templates and plural ones are found.
    assert len(source_entries) > 1000
    assert source_entries[(None, "Agent workspace")] == ""  # a template
    assert source_entries[(None, "Your chat transcript")] == ""  # Python code
    assert source_entries[(None, "%(counter)s unread message")] == "%(counter)s unread messages"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_of_the_source_is_translated_in_the_catalog(source_entries, lang):
    # spec: I18N-1 — a string added to the code and not to a catalog fails here
    # translated_entries() leaves out the empty and the fuzzy ones
    translated = {(e.msgctxt, e.msgid): e.msgid_plural for e in catalog(lang).translated_entries()}
    missing = sorted(key[1] for key in source_entries if key not in translated)
    assert missing == []
    assert {key[1]: plural for key, plural in source_entries.items() if translated[key] != plural} == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_and_markup_are_kept_exactly(lang):
    # A lost %(name)s breaks the sentence at run time; a lost tag breaks the page.
    wrong = []
    for entry in catalog(lang):
        if entry.msgid_plural:
            for form, text in entry.msgstr_plural.items():
                # The form for exactly one may say "one" as the singular msgid does.
                allowed = [placeholders(entry.msgid_plural)] + ([placeholders(entry.msgid)] if form == 0 else [])
                if placeholders(text) not in allowed:
                    wrong.append((entry.msgid, form, text))
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            wrong.append((entry.msgid, entry.msgstr))
    assert wrong == []


def test_the_placeholder_check_sees_a_lost_one():
    assert placeholders("Salut %(name)s, <b>{n}</b>") == placeholders("Hello <b>{n}</b> %(name)s")
    assert placeholders("Salut") != placeholders("Hello %(name)s")
    assert placeholders("%(m)d min %(s)02d s") == Counter(["%(m)d", "%(s)02d"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_msgfmt_checks_the_catalog_and_its_formats(lang):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "GNU gettext's msgfmt is needed (apt-get install gettext)"
    result = subprocess.run(
        [msgfmt, "--check", "--check-format", "-o", "/dev/null", str(CATALOG).format(lang=lang)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_says_what_the_po_file_says(lang):
    """Every string as the product reads it (through the compiled catalog), plurals at 0, 1, 2, 5 and
    22: a stale or missing .mo, or a Plural-Forms header that counts wrong, fails here."""
    po = catalog(lang)
    differ = []
    with translation.override(lang):
        for entry in po:
            if entry.msgid_plural:
                for n in (0, 1, 2, 5, 22):
                    expected = entry.msgstr_plural[plural_form(lang, n)]
                    if ngettext(entry.msgid, entry.msgid_plural, n) != expected:
                        differ.append((entry.msgid, n))
            elif gettext(entry.msgid) != entry.msgstr:
                differ.append(entry.msgid)
    assert differ == []


WAIT = {
    "ro": {
        1: "Timpul mediu de așteptare este de aproximativ 1 minut.",
        2: "Timpul mediu de așteptare este de aproximativ 2 minute.",
        5: "Timpul mediu de așteptare este de aproximativ 5 minute.",
        22: "Timpul mediu de așteptare este de aproximativ 22 de minute.",
    },
    "pl": {
        1: "Średni czas oczekiwania to około 1 minuta.",
        2: "Średni czas oczekiwania to około 2 minuty.",
        5: "Średni czas oczekiwania to około 5 minut.",
        22: "Średni czas oczekiwania to około 22 minuty.",
    },
    "fr": {
        1: "Le temps d’attente moyen est d’environ 1 minute.",
        2: "Le temps d’attente moyen est d’environ 2 minutes.",
        5: "Le temps d’attente moyen est d’environ 5 minutes.",
        22: "Le temps d’attente moyen est d’environ 22 minutes.",
    },
    "id": {
        1: "Rata-rata waktu tunggu sekitar 1 menit.",
        2: "Rata-rata waktu tunggu sekitar 2 menit.",
        5: "Rata-rata waktu tunggu sekitar 5 menit.",
        22: "Rata-rata waktu tunggu sekitar 22 menit.",
    },
}
POSITION = {
    "ro": "Sunteți numărul {n} la coadă.",
    "pl": "Twoje miejsce w kolejce: {n}.",
    "fr": "Vous êtes en position {n} dans la file d’attente.",
    "id": "Anda berada di urutan ke-{n} dalam antrean.",
}


@pytest.mark.django_db
@pytest.mark.parametrize("browser_tag", ["ro-RO", "pl-PL", "fr-FR", "id-ID"])
def test_the_system_messages_a_waiting_customer_reads_count_in_their_language(browser_tag):
    # spec: LIVE-1, I18N-1 — "22 de minute", "2 minuty", "5 minut", "1 minute": each language's plural forms
    lang = browser_tag[:2]
    workstream = WorkstreamFactory()
    for n in (1, 2, 5, 22):
        texts = wait_message_texts(workstream=workstream, position=n, minutes=n, language=browser_tag)
        assert texts == [POSITION[lang].format(n=n), WAIT[lang][n]]


UNREAD = {
    "ro": ["1 mesaj necitit", "2 mesaje necitite", "5 mesaje necitite", "22 de mesaje necitite"],
    "pl": [
        "1 nieprzeczytana wiadomość",
        "2 nieprzeczytane wiadomości",
        "5 nieprzeczytanych wiadomości",
        "22 nieprzeczytane wiadomości",
    ],
    "fr": ["1 message non lu", "2 messages non lus", "5 messages non lus", "22 messages non lus"],
    "id": ["1 pesan belum dibaca", "2 pesan belum dibaca", "5 pesan belum dibaca", "22 pesan belum dibaca"],
}
FOUND = {
    "ro": ["A fost găsită 1 conversație", "Au fost găsite 2 conversații", "Au fost găsite 22 de conversații"],
    "pl": ["Znaleziono 1 rozmowę", "Znaleziono 2 rozmowy", "Znaleziono 22 rozmowy"],
    "fr": ["1 conversation trouvée", "2 conversations trouvées", "22 conversations trouvées"],
    "id": ["1 percakapan ditemukan", "2 percakapan ditemukan", "22 percakapan ditemukan"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_workspace_counts_read_right_at_one_two_five_and_twenty_two(lang):
    with translation.override(lang):
        unread = [
            ngettext("%(counter)s unread message", "%(counter)s unread messages", n) % {"counter": n}
            for n in (1, 2, 5, 22)
        ]
        found = [
            ngettext("%(counter)s conversation found", "%(counter)s conversations found", n) % {"counter": n}
            for n in (1, 2, 22)
        ]
    assert unread == UNREAD[lang]
    assert found == FOUND[lang]


WIDGET = {
    "ro": {
        "surveyTitle": "Cum a fost chatul?",
        "offlineSend": "Trimiteți mesajul",
        "transcriptEmail": "Trimiteți-mi transcrierea prin e-mail",
        "nobody": "Nimeni nu poate răspunde acum. Puteți începe un chat și aștepta următorul agent liber.",
    },
    "pl": {
        "surveyTitle": "Jak oceniasz czat?",
        "offlineSend": "Wyślij wiadomość",
        "transcriptEmail": "Wyślij mi zapis rozmowy e-mailem",
        "nobody": "Nikt nie może teraz odpowiedzieć. Można rozpocząć czat i poczekać na pierwszego wolnego agenta.",
    },
    "fr": {
        "surveyTitle": "Comment s’est passé votre chat ?",
        "offlineSend": "Envoyer le message",
        "transcriptEmail": "M’envoyer la transcription par e-mail",
        "nobody": "Personne ne peut vous répondre pour le moment. "
        "Vous pouvez lancer un chat et attendre le prochain agent disponible.",
    },
    "id": {
        "surveyTitle": "Bagaimana chat Anda?",
        "offlineSend": "Kirim pesan",
        "transcriptEmail": "Kirim transkrip ke email saya",
        "nobody": "Saat ini tidak ada yang dapat menjawab. "
        "Anda dapat memulai chat dan menunggu agen berikutnya yang tersedia.",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "browser",
    ["ro-RO,ro;q=0.9,en;q=0.5", "pl-PL,pl;q=0.9,en;q=0.5", "fr-FR,fr;q=0.9,en;q=0.5", "id-ID,id;q=0.9,en;q=0.5"],
)
def test_the_widget_speaks_the_visitors_browser_language(client, browser):
    # spec: I18N-1 — the widget follows the visitor's browser language
    lang = browser[:2]
    widget = ChatWidgetFactory(origins=[ORIGIN])
    response = call(client, widget, "session", {}, HTTP_ACCEPT_LANGUAGE=browser)
    assert response.status_code == 200, response.content
    config = response.json()["config"]
    assert config["language"] == lang
    words = WIDGET[lang]
    assert {key: config["strings"][key] for key in ("surveyTitle", "offlineSend", "transcriptEmail")} == {
        key: words[key] for key in ("surveyTitle", "offlineSend", "transcriptEmail")
    }
    assert config["availability"]["message"] == words["nobody"]


WORKSPACE = {
    "ro": ["Spațiul de lucru al agentului", "Tablou de bord", "Deconectare", "Starea mea", "2 necitite"],
    "pl": ["Obszar roboczy agenta", "Pulpit", "Wyloguj", "Mój status", "2 nieprzeczytane"],
    "fr": ["Espace de travail de l’agent", "Tableau de bord", "Se déconnecter", "Mon statut", "2 non lus"],
    "id": ["Ruang kerja agen", "Dasbor", "Keluar", "Status saya", "2 belum dibaca"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_agent_workspace_is_in_the_agents_language(client, agent, lang):
    # spec: I18N-1 — the agent's own setting, and the browser says the same
    agent.language = lang
    agent.save(update_fields=["language"])
    conversation = chat_given_to(agent)
    for text in ("Bună ziua", "Mai este cineva?"):
        message_post(conversation_id=conversation.pk, sender="customer", text=text)
    client.force_login(agent.user)
    html = client.get("/workspace/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert [text for text in WORKSPACE[lang] if text not in html] == []
    assert "Sign out" not in html and "Agent workspace" not in html


ADMIN_HELP = {
    "ro": [
        "Agenții primesc conversația imediat, în loc de o solicitare de acceptat.",
        "Folosită când coada aleasă este închisă sau nu are membri.",
    ],
    "pl": [
        "Agenci otrzymują rozmowę od razu, zamiast propozycji do zaakceptowania.",
        "Używana, gdy wybrana kolejka jest zamknięta lub nie ma członków.",
    ],
    "fr": [
        "Les agents reçoivent la conversation immédiatement au lieu d’une offre à accepter.",
        "Utilisée lorsque la file d’attente choisie est fermée ou n’a aucun membre.",
    ],
    "id": [
        "Agen langsung mendapatkan percakapan, bukan tawaran untuk diterima.",
        "Digunakan saat antrean yang dipilih tutup atau tidak memiliki anggota.",
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_admin_centers_help_texts_are_in_the_admins_language(admin_client, lang):
    # spec: ADM-1, I18N-1 — help texts in plain words, translated
    with translation.override(lang):
        help_texts = [str(Workstream._meta.get_field(name).help_text) for name in ("auto_accept", "fallback_queue")]
    assert help_texts == ADMIN_HELP[lang]
    html = admin_client.get("/admin/routing/workstream/add/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert [text for text in ADMIN_HELP[lang] if text not in html] == []


EMAIL = {
    "ro": ("Transcrierea chatului dumneavoastră", "] Client: Aveți o factură?"),
    "pl": ("Zapis Twojego czatu", "] Klient: Aveți o factură?"),
    "fr": ("La transcription de votre chat", "] Client: Aveți o factură?"),
    "id": ("Transkrip chat Anda", "] Pelanggan: Aveți o factură?"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_transcript_email_is_in_the_customers_language(settings, lang):
    # spec: I18N-1 — what a customer receives is in the conversation's language, not the agent's
    settings.OUTBOUND_MAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    conversation = ConversationFactory()
    message_post(conversation_id=conversation.pk, sender=Message.Sender.CUSTOMER, text="Aveți o factură?")
    conversation_transcript_send(conversation_id=conversation.pk, to="ana@example.com", language=lang)
    (sent,) = mail.outbox
    subject, line = EMAIL[lang]
    assert sent.subject == subject
    assert line in sent.body
