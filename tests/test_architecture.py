"""Architecture rules that must hold for every change: core never touches the UI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold() -> None:
    """The import-linter contract in pyproject.toml: core ↛ tui, textual, clawtop (CLI)."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_core_imports_without_loading_textual() -> None:
    """Importing the whole core (gateway included) must not load Textual as a side effect."""
    code = (
        "import sys, core.gateway, core.events, core.telemetry.store, core.config.loader; "
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'tui'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
