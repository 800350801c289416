"""The agents app is the lowest domain app (issue 11): it imports only ``core`` and libraries."""

import ast
from pathlib import Path

import agents

HIGHER = {"omnichannel", "widgets", "conversations", "customers", "routing", "notifications", "webhooks"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_agents_imports_no_higher_app():
    # spec: issue 11 — routing and notifications hear from agents through agents.availability
    root = Path(agents.__file__).parent
    offenders = {
        f"{path.relative_to(root.parent)}: {module}"
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        for module in imported_modules(path)
        if module.split(".")[0] in HIGHER
    }
    assert not offenders
    assert len(list(root.rglob("*.py"))) > 10  # the walk saw the app's modules
