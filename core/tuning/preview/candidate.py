"""The candidate config of a set of changes, validated in memory against the whole schema.

The previews need a :class:`ClawtopConfig` with the changes applied and nothing written. The
current config is dumped in its file form (camelCase, JSON values), each change is set at its
dotted path and the result validated as a whole, so cross-key rules (``maxDelayMs ≥
minDelayMs``, ``memorySwap ≥ memory``) and unknown keys are caught with the schema's own message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from core.config.errors import ConfigError
from core.config.schema import ClawtopConfig
from core.config.spans import PathPart, split_path
from core.config.validate import validate_data

__all__ = ["CandidateError", "ChangeLike", "Changes", "build_candidate", "change_items"]


class ChangeLike(Protocol):
    """A change as the tuning core spells it (``Change(path, value)``)."""

    @property
    def path(self) -> str: ...

    @property
    def value(self) -> Any: ...


Changes = Mapping[str, Any] | Iterable[ChangeLike]
"""Changes as ``{dotted path: value}`` or a sequence of ``Change(path, value)``."""


class CandidateError(ValueError):
    """The changes do not validate; ``errors`` maps each dotted path to the schema's message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.errors.items()))


def change_items(changes: Changes) -> list[tuple[str, Any]]:
    """``(path, value)`` pairs in the order given."""
    if isinstance(changes, Mapping):
        return [(str(path), value) for path, value in changes.items()]
    return [(change.path, change.value) for change in changes]


def _set(doc: dict[str, Any], parts: list[PathPart], value: Any) -> None:
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        child = node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else (
            node.get(part) if isinstance(node, dict) else None)
        if not isinstance(child, (dict, list)):
            child = {}
            if isinstance(node, dict):
                node[part] = child
            else:
                raise CandidateError({".".join(map(str, parts[:i + 1])): "not an object in this config"})
        node = child
    leaf = parts[-1]
    if isinstance(node, list) and isinstance(leaf, int) and leaf < len(node):
        node[leaf] = value
    elif isinstance(node, dict):
        node[leaf] = value
    else:
        raise CandidateError({".".join(map(str, parts)): "not an object in this config"})


def build_candidate(current: ClawtopConfig, changes: Changes) -> ClawtopConfig:
    """``current`` with ``changes`` applied, validated; raises :class:`CandidateError`."""
    doc: dict[str, Any] = current.model_dump(by_alias=True, mode="json", exclude_none=True)
    items = change_items(changes)
    for path, value in items:
        parts = split_path(path)
        if not parts or any(p == "" for p in parts):
            raise CandidateError({path: "not a dotted key path"})
        _set(doc, parts, value)
    try:
        config = validate_data(doc, model=ClawtopConfig, origins={}, file=None)
    except ConfigError as exc:
        raise CandidateError({issue.path or "<config>": _message(issue.format(), issue.path)
                              for issue in exc.issues}) from None
    assert isinstance(config, ClawtopConfig)
    return config


def _message(formatted: str, path: str) -> str:
    # ``format()`` leads with the path; the error map is keyed by it already.
    prefix = f"{path}: "
    return formatted[len(prefix):] if formatted.startswith(prefix) else formatted
