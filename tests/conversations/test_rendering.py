"""The one link rule and the one naming rule of messages (conversations.rendering; issue 11, SEC-2)."""

import pytest

from conversations.rendering import message_markup, message_parts, message_sender_name

pytestmark = pytest.mark.embedded

SHOP = "https://shop.example.com"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("no link here", [{"text": "no link here"}]),
        (f"see {SHOP}/a.", [{"text": "see "}, {"link": f"{SHOP}/a", "text": f"{SHOP}/a"}, {"text": "."}]),
        # every sentence mark after a link belongs to the sentence
        (f"{SHOP}/a?!,;:", [{"link": f"{SHOP}/a", "text": f"{SHOP}/a"}, {"text": "?!,;:"}]),
        # a closing bracket the link did not open is the sentence's; one it opened is the link's
        (f"(see {SHOP}/a)", [{"text": "(see "}, {"link": f"{SHOP}/a", "text": f"{SHOP}/a"}, {"text": ")"}]),
        (
            "https://en.wikipedia.org/wiki/Kettle_(disambiguation).",
            [
                {
                    "link": "https://en.wikipedia.org/wiki/Kettle_(disambiguation)",
                    "text": "https://en.wikipedia.org/wiki/Kettle_(disambiguation)",
                },
                {"text": "."},
            ],
        ),
        (f"[{SHOP}/b]", [{"text": "["}, {"link": f"{SHOP}/b", "text": f"{SHOP}/b"}, {"text": "]"}]),
        # quotes and angle brackets end a link
        (f'"{SHOP}/c"', [{"text": '"'}, {"link": f"{SHOP}/c", "text": f"{SHOP}/c"}, {"text": '"'}]),
        (f"<{SHOP}/d>", [{"text": "<"}, {"link": f"{SHOP}/d", "text": f"{SHOP}/d"}, {"text": ">"}]),
        # the scheme in any case; the href says it in lower case
        ("HTTPS://Shop.example.com/x", [{"link": "https://shop.example.com/x", "text": "HTTPS://Shop.example.com/x"}]),
        # other schemes, e-mail addresses and a user name before the host stay text
        ("javascript:alert(1)", [{"text": "javascript:alert(1)"}]),
        ("mail ada@example.com", [{"text": "mail ada@example.com"}]),
        ("https://bank.example.com@evil.example/", [{"text": "https://bank.example.com@evil.example/"}]),
        ("https:// nothing", [{"text": "https:// nothing"}]),
        ("https://shop.example.com:99999/", [{"text": "https://shop.example.com:99999/"}]),
        # not at a word boundary: no link inside another word
        ("xhttps://shop.example.com", [{"text": "xhttps://shop.example.com"}]),
        # an international domain opens by its ASCII form; the text stays as typed
        (
            "https://bücher.example/straße",
            [{"link": "https://xn--bcher-kva.example/stra%C3%9Fe", "text": "https://bücher.example/straße"}],
        ),
        (
            f"{SHOP}/1 and {SHOP}:8443/2",
            [
                {"link": f"{SHOP}/1", "text": f"{SHOP}/1"},
                {"text": " and "},
                {"link": f"{SHOP}:8443/2", "text": f"{SHOP}:8443/2"},
            ],
        ),
    ],
)
def test_the_link_rule(text, parts):
    assert message_parts(text) == parts
    assert "".join(part["text"] for part in parts) == text  # nothing of the text is lost


def test_the_markup_escapes_everything_and_opens_links_without_opener():
    # spec: SEC-2
    assert str(message_markup(f'<b>{SHOP}/?a=1&b="2"</b>')) == (
        "&lt;b&gt;"
        f'<a href="{SHOP}/?a=1&amp;b=" target="_blank" rel="noopener noreferrer nofollow">{SHOP}/?a=1&amp;b=</a>'
        "&quot;2&quot;&lt;/b&gt;"
    )


def test_the_sender_name():
    # spec: ROU-15 — any writing agent by their name (a consultant too); others by what they are
    assert message_sender_name(sender="agent", agent_name="Alice") == "Alice"
    assert message_sender_name(sender="agent", agent_name=None) == "Agent"
    assert message_sender_name(sender="customer", agent_name=None) == "Customer"
    assert message_sender_name(sender="bot", agent_name=None) == "Bot"
