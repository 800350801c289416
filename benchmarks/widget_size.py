"""The widget's size on the wire (WID-5): each public script raw, minified and minified + gzipped.

    .venv/bin/python -m benchmarks.widget_size [--json FILE]

The loader (``loader.js``) is what every host page loads to draw the chat button; the goals are
under 10 KB gzipped for it and under 30 KB gzipped for all the widget's public scripts together
(the loader and what it loads when the pane opens). Minified with ``rjsmin`` (a test dependency
only: the server ships the scripts as written, and whitenoise compresses them), gzipped at level 9.
``tests/widgets/test_widget_size.py`` holds the goals; the chat benchmark's report can include
:func:`widget_size_rows`.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from benchmarks.measure import load_average, write_json

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "widgets" / "static" / "widgets"
#: What the widget imports from elsewhere: the upload module it shares with the workspace.
SHARED = [ROOT / "core" / "static" / "core" / "uploads.js"]
#: Scripts of the admin center, not of the host page's widget.
NOT_PUBLIC = {"widget_admin.js"}
LOADER = "loader.js"
LOADER_GOAL_GZIPPED = 10 * 1024
WIDGET_GOAL_GZIPPED = 30 * 1024


def minified(source: str) -> str:
    import rjsmin

    return rjsmin.jsmin(source)


def script_size(path: Path) -> dict[str, int | str]:
    raw = path.read_bytes()
    small = minified(raw.decode("utf-8")).encode("utf-8")
    return {
        "file": path.name,
        "bytes": len(raw),
        "minified_bytes": len(small),
        "gzipped_bytes": len(gzip.compress(small, compresslevel=9)),
    }


def widget_size_rows() -> list[dict[str, int | str]]:
    """One row a public widget script, then their total (``file`` = ``"all"``)."""
    public = [path for path in sorted(SCRIPTS.glob("*.js")) if path.name not in NOT_PUBLIC]
    rows = [script_size(path) for path in [*public, *SHARED]]
    total = {"file": "all"}
    for key in ("bytes", "minified_bytes", "gzipped_bytes"):
        total[key] = sum(int(row[key]) for row in rows)
    return [*rows, total]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the table as JSON to this file")
    args = parser.parse_args()
    load_before = load_average()
    rows = widget_size_rows()
    print(f"\nWidget scripts (goal: {LOADER} ≤ {LOADER_GOAL_GZIPPED} B, all ≤ {WIDGET_GOAL_GZIPPED} B gzipped)\n")
    headers = ["file", "bytes", "minified_bytes", "gzipped_bytes"]
    cells = [[str(row[key]) for key in headers] for row in rows]
    widths = [max(len(header), *(len(line[i]) for line in cells)) for i, header in enumerate(headers)]
    for line in [headers, ["-" * width for width in widths], *cells]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
    write_json(args.json, load_before=load_before, load_after=load_average(), rows=rows)


if __name__ == "__main__":
    main()
