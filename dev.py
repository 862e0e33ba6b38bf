#!/usr/bin/env python3
"""Bootstrap and run clawtop from a fresh clone with nothing but Python 3.11+.

    python3 dev.py run [ARGS...]    the dashboard (ARGS go to `clawtop`, e.g. `gateway`)
    python3 dev.py test             everything CI runs: ruff, mypy, then the whole pytest suite
    python3 dev.py test ARGS...     pytest alone with ARGS, for quick iteration
    python3 dev.py lint             the static checks alone: ruff, mypy, import-linter contracts
    python3 dev.py sync             only create/update the environments

It creates `.tools/` (a venv holding a pinned uv) and `.venv/` (the project, installed from
uv.lock with --frozen, so every machine gets exactly the same versions). Stdlib only, on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
UV_VERSION = "0.13.9"
BIN = "Scripts" if os.name == "nt" else "bin"


def _say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def _uv() -> Path:
    uv = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        _say(f"creating {TOOLS.name}/ with uv {UV_VERSION} (one time)")
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run(
            [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", f"uv=={UV_VERSION}"],
            check=True,
        )
    return uv


def _sync() -> None:
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never", UV_PROJECT_ENVIRONMENT=str(VENV))
    _say("syncing .venv/ from uv.lock")
    subprocess.run(
        [str(_uv()), "sync", "--frozen", "--quiet", "--python", sys.executable],
        cwd=ROOT, env=env, check=True,
    )


def _exec(program: str, args: list[str]) -> int:
    return subprocess.call([str(VENV / BIN / program), *args], cwd=ROOT)


# Each reads its configuration from pyproject.toml.
STATIC_CHECKS = {
    "ruff": ["check", "."],
    "mypy": [],
    "lint-imports": ["--no-cache"],
}


def _static(checks: list[str]) -> list[str]:
    """Run the named static checks, all of them even when one fails; return those that failed."""
    failed: list[str] = []
    for name in checks:
        _say(f"running {name}")
        if _exec(name, STATIC_CHECKS[name]) != 0:
            failed.append(name)
    return failed


def _pytest(args: list[str]) -> int:
    code = _exec("python", ["-m", "pytest", *args])
    if code == 5:
        _say("pytest collected no tests: that is a failure")
        return 1
    return code


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must run on older Pythons to say this
        _say(f"clawtop needs Python 3.11 or newer; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in ("run", "test", "lint", "sync"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    _sync()
    if command == "sync":
        return 0
    if command == "run":
        return _exec("clawtop", rest)
    if command == "lint":
        failed = _static(list(STATIC_CHECKS))
    elif rest:
        return _pytest(rest)
    else:
        # The import-linter contracts run inside pytest (tests/test_architecture.py).
        failed = _static(["ruff", "mypy"])
        if _pytest([]) != 0:
            failed.append("pytest")
    if failed:
        _say(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
