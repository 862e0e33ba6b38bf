#!/usr/bin/env python3
"""Bootstrap and run clawtop from a fresh clone with nothing but Python 3.11+.

    python3 dev.py run [ARGS...]    the dashboard (ARGS go to `clawtop`, e.g. `gateway`)
    python3 dev.py test [ARGS...]   the whole test suite (ARGS go to pytest)

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


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        _say(f"clawtop needs Python 3.11 or newer; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in ("run", "test", "sync"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    _sync()
    if command == "sync":
        return 0
    if command == "run":
        return _exec("clawtop", rest)
    code = _exec("python", ["-m", "pytest", *rest])
    if code == 5:
        _say("pytest collected no tests: that is a failure")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
