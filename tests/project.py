"""The product's own code, for the tests that read it as text (tasks sent by name, spec codes on
screen, row locks): its apps and their Python files."""

from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_APPS = (
    "agents",
    "conversations",
    "core",
    "customers",
    "notifications",
    "omnichannel",
    "routing",
    "webhooks",
    "widgets",
)


def product_python_files(*, migrations: bool = True) -> Iterator[Path]:
    """Every Python file of the product's apps, in a stable order."""
    for app in PRODUCT_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if migrations or "migrations" not in path.parts:
                yield path
