"""axe-core in the browser tests: inject the npm registry's axe-core (tests/e2e/package.json,
installed by `npm ci --prefix tests/e2e`, which .ci/run does) into a page or a frame with
Playwright, run it with the WCAG 2.0 / 2.1 A and AA rules, and read its violations.

`bin/a11y-report` runs tests/e2e/test_accessibility.py with A11Y_REPORT set to a file: every
screen checked appends its result there, and this module prints them (``python -m
tests.e2e.a11y FILE [--json]``).
"""

import json
import os
import sys
from pathlib import Path

import pytest

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source() -> str:
    """axe.min.js; missing, the test fails in CI and is skipped on a machine without it."""
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci --prefix tests/e2e` (axe-core from the npm registry; .ci/run does)"
        if os.environ.get("CI") == "true" or os.environ.get("A11Y_REPORT"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def axe_run(target, *, include: list | None = None) -> dict:
    """Run axe-core on ``target`` (a Playwright Page or Frame) and return its result.

    ``include``: CSS selectors to check (all of the document when not given). axe-core looks
    inside open shadow roots itself, so the widget's host element covers its whole pane.
    """
    if not target.evaluate("typeof window.axe === 'object'"):
        target.add_script_tag(content=axe_source())
    return target.evaluate(
        """([include, tags]) => axe.run(include ? { include: include.map((s) => [s]) } : document, {
             runOnly: { type: "tag", values: tags }, resultTypes: ["violations"],
           }).then((r) => ({
             url: r.url,
             violations: r.violations.map((v) => ({
               id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
               nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary, html: n.html.slice(0, 200) })),
             })),
             passes: r.passes.length,
             review: r.incomplete.map((v) => ({
               id: v.id, nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
             })),
           }))""",
        [include, WCAG_AA],
    )


def describe(violations: list[dict]) -> str:
    """The violations as a person reads them: rule, impact, what to fix, where."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {' >> '.join(map(str, node['target']))}: {node['html']}")
            for detail in (node["summary"] or "").splitlines():
                lines.append(f"        {detail.strip()}")
    return "\n".join(lines)


def assert_accessible(target, screen: str, *, include: list | None = None) -> None:
    """0 axe-core violations on ``target`` for the screen named ``screen``. When bin/a11y-report
    asked for a report, the result goes to its file instead, so every screen is checked."""
    result = axe_run(target, include=include)
    report = os.environ.get("A11Y_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps({"screen": screen, **result}) + "\n")
        return  # the report carries them; bin/a11y-report exits 1 when there are any
    violations = result["violations"]
    assert not violations, f"axe-core found {len(violations)} violation(s) on {screen}:\n{describe(violations)}"


def print_report(path: str, as_json: bool = False) -> int:
    """Print what the run wrote: one table per screen. Returns the number of violations."""
    screens = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    total = sum(len(s["violations"]) for s in screens)
    if as_json:
        print(json.dumps({"screens": screens, "violations": total}, indent=2))
        return total
    for s in screens:
        print(f"\n{s['screen']}  ({s['url']})")
        review = ", ".join(f"{v['id']} ({len(v['nodes'])})" for v in s.get("review") or []) or "-"
        print(f"  rules passed: {s['passes']}   violations: {len(s['violations'])}   for a person to review: {review}")
        if s["violations"]:
            print(f"  {'rule':<28} {'impact':<10} {'nodes':>5}  help")
            for v in s["violations"]:
                print(f"  {v['id']:<28} {v['impact'] or '':<10} {len(v['nodes']):>5}  {v['help']}")
                for node in v["nodes"]:
                    print(f"  {'':<28} at {' >> '.join(map(str, node['target']))}")
    print(f"\n{len(screens)} screen(s) checked with axe-core (WCAG 2.0/2.1 A and AA): {total} violation(s)")
    return total


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    sys.exit(1 if print_report(args[0], as_json="--json" in sys.argv) else 0)
