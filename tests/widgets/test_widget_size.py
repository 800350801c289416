"""The widget stays small (WID-5): the loader that draws the button, and all its public scripts."""

from benchmarks.widget_size import LOADER, LOADER_GOAL_GZIPPED, WIDGET_GOAL_GZIPPED, widget_size_rows


def test_the_loader_and_the_whole_widget_are_within_their_gzipped_budgets():
    # spec: WID-5
    rows = {row["file"]: row for row in widget_size_rows()}
    assert 0 < rows[LOADER]["minified_bytes"] < rows[LOADER]["bytes"]
    assert rows[LOADER]["gzipped_bytes"] <= LOADER_GOAL_GZIPPED
    assert rows["all"]["gzipped_bytes"] <= WIDGET_GOAL_GZIPPED
    assert "widget_admin.js" not in rows  # the admin center's script is not the host page's


def test_the_widget_pulls_no_front_end_framework():
    # spec: WID-5
    from benchmarks.widget_size import SCRIPTS

    for path in SCRIPTS.glob("*.js"):
        source = path.read_text()
        for framework in ("React", "Vue", "jQuery", "angular"):
            assert f"{framework}." not in source, (path.name, framework)
