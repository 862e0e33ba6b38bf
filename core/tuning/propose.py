"""Propose a tuning: a set of key changes validated as a whole candidate config, in memory.

Nothing is written. The candidate is the loaded config's resolved data (``$include``s merged, ``${VAR}``s
substituted) with the changes set, validated by the schema exactly like a load, so an error is the
schema's own message at the key it concerns (docs/design/tuning.md#propose-validate-then-show).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import json5

from core.config.errors import ConfigError, ConfigIssue
from core.config.loader import LoadedConfig
from core.config.reload_plan import reload_kind
from core.config.schema.root import ClawtopConfig
from core.config.spans import PathPart, join_path, split_path
from core.config.validate import lookup_schema_path, validate_data
from core.tuning.catalogue import tunable_at

__all__ = ["Change", "Proposal", "changes_from", "parse_value", "propose"]


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """Set ``path`` (full dotted camelCase path) to ``value`` (JSON form, already parsed: ``10``,
    ``true``, ``"10s"``); ``None`` removes the key so its default applies again."""

    path: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Proposal:
    """The validated candidate (None when any change is invalid), the schema's message per bad path,
    each path's reload effect in words, the paths that need a core restart, and the config file hash
    the proposal was made against (an apply refuses a file that changed since)."""

    changes: tuple[Change, ...]
    candidate: ClawtopConfig | None
    errors: dict[str, str]
    effects: dict[str, str]
    needs_restart: tuple[str, ...]
    base_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.candidate is not None and not self.errors


def parse_value(text: str) -> Any:
    """A value as typed by a user: a JSON5 literal if it parses (``10``, ``true``, ``"5m"``, ``[..]``),
    else the bare string (``10s``)."""
    try:
        return json5.loads(text)
    except ValueError:
        return text


def changes_from(pairs: Iterable[tuple[str, Any]] | Mapping[str, Any]) -> tuple[Change, ...]:
    """``[("a.b", 1), …]`` or ``{"a.b": 1}`` as changes."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(Change(path, value) for path, value in items)


def _unknown(path: str) -> str | None:
    """Why ``path`` is not a tunable key, or None when it is one."""
    if tunable_at(path) is not None:
        return None
    parts = split_path(path)
    lookup = lookup_schema_path(ClawtopConfig, parts)
    if lookup.valid:
        return "not a single key: name one of the keys below it (`clawtop tune list " + path + "`)"
    assert lookup.bad_index is not None
    where = join_path(parts[: lookup.bad_index]) or "the top level"
    text = f"unknown key `{parts[lookup.bad_index]}` (not a key of {where})"
    return text + (f"; did you mean `{lookup.suggestion}`?" if lookup.suggestion else "")


def _set(data: Any, parts: list[PathPart], value: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        data[head] = _set(data[head], rest, value)
        return data
    out = data if isinstance(data, dict) else {}
    key = str(head)
    if value is None and not rest:
        out.pop(key, None)
    else:
        out[key] = _set(out.get(key), rest, value)
    return out


def _message(issue: ConfigIssue) -> str:
    text = issue.message
    if issue.expected is not None:
        text += f" (expected {issue.expected}" + (f", found {issue.found})" if issue.found is not None else ")")
    return text


def _owner(issue_path: str, paths: list[str]) -> str:
    """The change an issue belongs to: the changed path it is at or under, else its own path."""
    for path in paths:
        if issue_path == path or issue_path.startswith(path + "."):
            return path
    # A cross-key check (hardClearRatio ≥ softTrimRatio) may report at the section: blame the change in it.
    for path in paths:
        if not issue_path or path.startswith(issue_path + "."):
            return path
    return issue_path


def propose(loaded: LoadedConfig, changes: Iterable[Change]) -> Proposal:
    """Validate ``changes`` on top of ``loaded`` as one candidate config; nothing is written."""
    wanted = tuple(changes)
    errors: dict[str, str] = {}
    for change in wanted:
        problem = _unknown(change.path)
        if problem is not None:
            errors[change.path] = problem
    effects = {c.path: t.effect for c in wanted if (t := tunable_at(c.path)) is not None}
    restart = tuple(c.path for c in wanted if c.path in effects and reload_kind(c.path) == "restart")
    if errors:
        return Proposal(wanted, None, errors, effects, restart, loaded.raw_hash)
    data = copy.deepcopy(loaded.data)
    for change in wanted:
        data = _set(data, split_path(change.path), copy.deepcopy(change.value))
    try:
        candidate = validate_data(data, model=ClawtopConfig, origins=dict(loaded.origins), file=str(loaded.path))
    except ConfigError as exc:
        paths = [c.path for c in wanted]
        for issue in exc.issues:
            owner = _owner(issue.path, paths)
            errors[owner] = f"{errors[owner]}; {_message(issue)}" if owner in errors else _message(issue)
        return Proposal(wanted, None, errors, effects, restart, loaded.raw_hash)
    assert isinstance(candidate, ClawtopConfig)
    return Proposal(wanted, candidate, {}, effects, restart, loaded.raw_hash)
