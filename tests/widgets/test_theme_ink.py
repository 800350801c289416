"""The text on the widget's theme colour stays readable (issue 17: contrast at least 4.5:1)."""

import pytest

from widgets.models import ChatWidget


def contrast(a: str, b: str) -> float:
    def luminance(color: str) -> float:
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("theme", "ink"),
    [("#0f6cbd", "#fff"), ("#1b1b1b", "#fff"), ("#c50f1f", "#fff"), ("#ffb900", "#1b1b1b"), ("#ffffff", "#1b1b1b")],
)
def test_the_theme_colour_gets_white_or_near_black_text(theme, ink):
    # spec: WID-5 — readable text on the admin\'s theme colour (contrast 4.5:1)
    assert ChatWidget(theme_color=theme).theme_ink == ink


@pytest.mark.parametrize(
    "theme", [f"#{r:02x}{g:02x}{b:02x}" for r in range(0, 256, 51) for g in (0, 128, 255) for b in (0, 200)]
)
def test_whichever_text_colour_is_chosen_reads_at_4_5_to_1_or_better_than_the_other(theme):
    # spec: WID-5 — readable text on the admin\'s theme colour (contrast 4.5:1)
    ink = ChatWidget(theme_color=theme).theme_ink
    other = "#1b1b1b" if ink == "#fff" else "#ffffff"
    chosen = contrast(theme, "#ffffff" if ink == "#fff" else ink)
    assert chosen >= 4.5 or chosen >= contrast(theme, other), (theme, ink)


def test_a_malformed_colour_falls_back_to_white_text_as_the_widget_falls_back_to_its_blue():
    # spec: WID-5 — readable text on the admin\'s theme colour (contrast 4.5:1)
    assert ChatWidget(theme_color="red;}").theme_ink == "#fff"
