"""Architecture rules that must hold for every change: core never touches the UI or the CLI, the
dashboard never imports the CLI, and core's packages import only the layers below them (the
import-linter contracts in pyproject.toml). Import cycles are tested in test_import_cycles.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


PACKAGES = ("core", "tui", "clawtop")


def test_every_package_directory_is_a_package() -> None:
    """import-linter (grimp) skips a directory without ``__init__.py``: its modules would escape
    every contract below, so each directory holding Python code must be a regular package."""
    missing = sorted(
        str(folder.relative_to(ROOT))
        for package in PACKAGES
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    )
    assert not missing, f"folders with Python modules but no __init__.py: {missing}"


def test_import_linter_contracts_hold() -> None:
    """The import-linter contracts in pyproject.toml: core ↛ tui, textual, clawtop (CLI); tui ↛
    clawtop; and core's layers, leaf-first (the order is written once, there)."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_core_imports_without_loading_textual() -> None:
    """Importing the whole core (gateway included) must not load Textual as a side effect."""
    code = (
        "import sys, core.gateway, core.events, core.telemetry.store, core.config.loader; "
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'tui'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
