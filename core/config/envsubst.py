"""``${VAR}`` substitution and ``.env`` files (docs/design/config.md#environment-variables,
docs/design/config.md#clawtop-goes-further).

clawtop is stricter than OpenClaw: an unset (or empty) variable is an error naming the variable
and the key path, because a silently missing API key surfaces much later as a confusing 401.
``$${VAR}`` is the escape for a literal ``${VAR}``; any other ``$`` text is left alone.
The original templates are returned as ``env_refs`` so writers can put them back instead of
persisting resolved secrets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.config.errors import ConfigError, ConfigIssue
from core.config.provenance import Origins, PathKey, nearest
from core.config.spans import join_path

_REF = re.compile(r"\$?\$\{([A-Z_][A-Z0-9_]*)\}")
_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
# Variables that change how the host itself behaves; a config file must never set them.
_DANGEROUS = frozenset(
    {"PATH", "HOME", "SHELL", "USER", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES",
     "PYTHONPATH", "PYTHONHOME", "NODE_OPTIONS", "IFS"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class EnvResult:
    """The substituted document and ``dot.path → original template`` for every templated string."""

    data: Any
    env_refs: dict[str, str]


def has_refs(text: str) -> bool:
    """True if ``text`` contains a ``${VAR}`` or ``$${VAR}`` template."""
    return _REF.search(text) is not None


def substitute_string(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Resolve one string; returns it and the names of unset/empty variables it referenced."""
    missing: list[str] = []

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if match.group(0).startswith("$$"):
            return "${" + name + "}"
        value = env.get(name)
        if not value:
            missing.append(name)
            return match.group(0)
        return value

    return _REF.sub(repl, text), missing


def substitute(
    data: Any, env: Mapping[str, str], *, origins: Origins, file: str | None
) -> EnvResult:
    """Substitute in every string value of ``data``; all unset variables are reported at once."""
    refs: dict[str, str] = {}
    issues: list[ConfigIssue] = []

    def walk(value: Any, path: PathKey) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            resolved, missing = substitute_string(value, env)
            if resolved != value or missing:
                refs[join_path(path)] = value
            for name in missing:
                origin = nearest(origins, path)
                state = "empty" if name in env else "not set"
                issues.append(
                    ConfigIssue(
                        join_path(path),
                        f"environment variable {name} is {state} (referenced as ${{{name}}})",
                        file=origin.file if origin else file,
                        line=origin.line if origin else None,
                        column=origin.column if origin else None,
                    )
                )
            return resolved
        return value

    out = walk(data, ())
    if issues:
        raise ConfigError(issues, file=file)
    return EnvResult(out, refs)


def config_env_vars(data: Any) -> dict[str, str]:
    """Variables the config itself defines (``env.vars`` and string keys directly under ``env``).

    Values that are themselves templates and host-critical names are skipped (OpenClaw
    docs/design/config.md#load-pipeline), so a config cannot redirect ``PATH`` or smuggle a reference loop.
    """
    section = data.get("env") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return {}
    found: dict[str, str] = {}
    nested = section.get("vars")
    for source in (nested if isinstance(nested, dict) else {}, section):
        for name, value in source.items():
            if isinstance(value, str) and name not in _DANGEROUS and "${" not in value:
                found.setdefault(name, value)
    return found


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (``export``, quotes and ``#`` comments allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            continue
        name, raw = match.groups()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
            if line.strip().endswith('"'):
                raw = raw.replace("\\n", "\n").replace('\\"', '"')
        else:
            raw = re.sub(r"\s+#.*$", "", raw)
        values[name] = raw
    return values


def layered_env(env: Mapping[str, str], *extra: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus variables from ``extra`` layers; a non-empty variable already set always wins."""
    merged = dict(env)
    for layer in extra:
        for name, value in layer.items():
            if not merged.get(name):
                merged[name] = value
    return merged
