"""Where the config file and the state directory live (docs/design/config.md#clawtop-goes-further).

Everything takes the environment as a mapping instead of reading ``os.environ`` so tests and the
gateway can resolve paths for an environment other than the current process's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_ENV = "CLAWTOP_CONFIG"
STATE_DIR_ENV = "CLAWTOP_STATE_DIR"
DEFAULT_CONFIG_NAME = "config.json5"
DEFAULT_DB_NAME = "telemetry.sqlite3"


def home_dir(env: Mapping[str, str]) -> Path:
    """``$HOME`` of ``env`` (so a test's fake home is honoured), else the OS's idea of home."""
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def clawtop_dir(env: Mapping[str, str]) -> Path:
    return home_dir(env) / ".clawtop"


def _expand(value: str | os.PathLike[str], env: Mapping[str, str]) -> Path:
    text = os.fspath(value)
    if text == "~" or text.startswith("~/"):
        text = str(home_dir(env)) + text[1:]
    return Path(text).absolute()


def resolve_config_location(
    explicit: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> tuple[Path, bool]:
    """The config path and whether the user named it (``--config`` or ``$CLAWTOP_CONFIG``).

    A named file that is missing is an error (a typo must not silently mean "defaults"); only the
    default location may be absent.
    """
    if explicit is not None and os.fspath(explicit) != "":
        return _expand(explicit, env), True
    from_env = env.get(CONFIG_ENV)
    if from_env:
        return _expand(from_env, env), True
    return clawtop_dir(env) / DEFAULT_CONFIG_NAME, False


def resolve_config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """``--config PATH``, else ``$CLAWTOP_CONFIG``, else ``~/.clawtop/config.json5``."""
    return resolve_config_location(explicit, env)[0]


def state_dir(env: Mapping[str, str]) -> Path:
    """``$CLAWTOP_STATE_DIR``, else ``~/.clawtop/state`` (SQLite, sessions)."""
    value = env.get(STATE_DIR_ENV)
    if value:
        return _expand(value, env)
    return clawtop_dir(env) / "state"


def resolve_db_path(configured: str | None, state: Path, env: Mapping[str, str]) -> Path:
    """``telemetry.dbPath`` relative to the state dir (absolute and ``~`` paths kept)."""
    if not configured:
        return state / DEFAULT_DB_NAME
    text = configured
    if text == "~" or text.startswith("~/"):
        return _expand(text, env)
    path = Path(text)
    return path if path.is_absolute() else state / path
