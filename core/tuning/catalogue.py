"""The catalogue of tunables: every leaf key of the config schema with what a tuning UI needs to show it.

Nothing here is a hand-written list: type, bounds and choices come from the field's JSON schema (the
pydantic constraints), the doc from its docstring, the default from the model, the reload kind and its
effect from the declaration on the schema (:mod:`core.config.reload_plan`), the current value and its
source from the loaded config (:mod:`core.config.provenance`). Keys under a dict (``models.providers.<id>``,
``channels.<ch>.accounts.<id>``) are listed for the ids present in the config (docs/design/tuning.md#the-catalogue).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from pydantic import TypeAdapter
from pydantic_core import PydanticUndefined, to_jsonable_python

from core.config.durations import DURATION_PATTERN, DurationBounds
from core.config.loader import LoadedConfig
from core.config.reload_plan import rule_for
from core.config.schema import redacted_dump
from core.config.schema.introspect import WILDCARD, SchemaField, field_at, iter_fields
from core.config.schema.root import ClawtopConfig
from core.config.schema.sizes import SIZE_PATTERN
from core.config.spans import PathPart, join_path, split_path

__all__ = [
    "PRUNING",
    "RETRY",
    "SANDBOX",
    "Tunable",
    "TunableValue",
    "in_scope",
    "list_tunables",
    "retry_scope",
    "source_of",
    "tunable_at",
]

PRUNING: tuple[str, ...] = ("agents.defaults.contextPruning", "agents.defaults.compaction")
"""The Context and Prunes panes' keys: pruning and compaction."""

RETRY: tuple[str, ...] = ("retry",)
"""The global retry policy; :func:`retry_scope` adds a provider's or channel's own override."""

SANDBOX: tuple[str, ...] = tuple(
    f"agents.defaults.sandbox.docker.{key}" for key in ("cpus", "memory", "memorySwap", "pidsLimit")
)
"""The sandbox resource limits a running container can take live."""

_BARE_UNITS = {"ms": "ms", "s": "s", "m": "min", "h": "h", "d": "d"}
# Unit by the key's suffix, for plain numbers whose schema carries no unit of its own.
_SUFFIX_UNITS = (("PerSecond", "per s"), ("Ms", "ms"), ("Chars", "chars"), ("Tokens", "tokens"),
                 ("Bytes", "bytes"), ("Days", "days"), ("Seconds", "s"))


@dataclasses.dataclass(frozen=True, slots=True)
class Tunable:
    """One key as the schema declares it. ``path`` is the full dotted camelCase path; ``minimum`` /
    ``maximum`` are in ``unit`` (for a duration: the unit of a bare number); ``default`` is JSON."""

    path: str
    type: str
    minimum: float | None
    maximum: float | None
    unit: str | None
    choices: tuple[str, ...]
    default: Any
    doc: str
    reload: str
    effect: str
    nullable: bool = False
    secret: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TunableValue:
    """A tunable with its current value (JSON form, secrets redacted) and where that value comes from:
    ``default``, ``file:line``, ``include file:line`` or ``env ${VAR} (file:line)``."""

    tunable: Tunable
    value: Any
    source: str


def in_scope(path: str, prefixes: Sequence[str]) -> bool:
    """``path`` is one of ``prefixes`` or below one (dot-wise: ``retry.provider`` is not under ``retry.prov``)."""
    return any(not p or path == p or path.startswith(p + ".") for p in prefixes)


def retry_scope(*, provider: str | None = None, channel: str | None = None) -> tuple[str, ...]:
    """The Retries pane's keys: the global policy plus the override of the provider (or channel) in focus."""
    extra: list[str] = []
    if provider:
        extra.append(f"models.providers.{provider}.retry")
    if channel:
        extra.append(f"channels.{channel}.retry")
    return (*RETRY, *extra)


# --- describing one schema field ---------------------------------------------------------------


def _field_schema(field: SchemaField) -> dict[str, Any]:
    annotation: Any = field.info.annotation
    if field.info.metadata:
        annotation = Annotated[(annotation, *field.info.metadata)]
    return TypeAdapter(annotation).json_schema(by_alias=True)


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    branches = schema.get("anyOf") or schema.get("oneOf")
    return [b for b in branches if isinstance(b, dict)] if isinstance(branches, list) else [schema]


def _duration_bounds(annotation: Any) -> DurationBounds | None:
    """The duration marker anywhere in ``annotation`` (it may sit inside an ``Optional``)."""
    if typing.get_origin(annotation) is Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, DurationBounds):
                return meta
    for arg in typing.get_args(annotation):
        found = _duration_bounds(arg)
        if found is not None:
            return found
    return None


def _kind(branches: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The human type and the branch that carries the bounds."""
    patterns = {b.get("pattern") for b in branches if b.get("type") == "string"}
    numeric = next((b for b in branches if b.get("type") in ("integer", "number")), {})
    if DURATION_PATTERN in patterns:
        return "duration", numeric
    if SIZE_PATTERN in patterns:
        return "byte size", numeric
    types = [b.get("type") for b in branches if "type" in b]
    if any("enum" in b for b in branches):
        return "enum", {}
    for json_type, human in (("boolean", "boolean"), ("integer", "integer"), ("number", "number"),
                             ("string", "string"), ("array", "list"), ("object", "map")):
        if json_type in types:
            return human, next(b for b in branches if b.get("type") == json_type)
    return "value", {}


def _unit(key: str, kind: str, field: SchemaField) -> str | None:
    if kind == "duration":
        bounds = _duration_bounds(field.info.annotation) or next(
            (m for m in field.info.metadata if isinstance(m, DurationBounds)), None)
        return _BARE_UNITS.get(bounds.default_unit, bounds.default_unit) if bounds else "ms"
    if kind == "byte size":
        return "bytes"
    if kind in ("integer", "number"):
        return next((unit for suffix, unit in _SUFFIX_UNITS if key.endswith(suffix)), None)
    return None


def _default(field: SchemaField) -> Any:
    value = field.info.get_default(call_default_factory=True)
    return None if value is PydanticUndefined else to_jsonable_python(value, by_alias=True)


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@functools.lru_cache(maxsize=2048)  # the schema is fixed at import: one description per schema path
def _describe(schema_path: str) -> Tunable | None:
    field = field_at(split_path(schema_path))
    if field is None or field.dotted != schema_path or _has_children(schema_path):
        return None
    schema = _field_schema(field)
    branches = _branches(schema)
    nullable = any(b.get("type") == "null" for b in branches)
    kind, bounded = _kind([b for b in branches if b.get("type") != "null"])
    choices: list[str] = []
    for branch in branches:
        choices.extend(str(c) for c in branch.get("enum", ()))
        if "const" in branch:
            choices.append(str(branch["const"]))
    rule = rule_for(schema_path)
    return Tunable(
        path=schema_path, type=kind,
        minimum=_number(bounded.get("minimum", bounded.get("exclusiveMinimum"))),
        maximum=_number(bounded.get("maximum", bounded.get("exclusiveMaximum"))),
        unit=_unit(field.key, kind, field), choices=tuple(dict.fromkeys(choices)), default=_default(field),
        doc=field.description, reload=rule.reload.value, effect=rule.effect, nullable=nullable,
        secret=field.secret,
    )


@functools.lru_cache(maxsize=1)
def _schema_paths() -> tuple[tuple[str, ...], frozenset[str]]:
    paths = tuple(f.dotted for f in iter_fields(ClawtopConfig))
    parents = frozenset(p.rsplit(".", 1)[0] for p in paths if "." in p)
    return paths, parents


def _has_children(schema_path: str) -> bool:
    """A field with keys below it (a section, or a dict of sections) is not itself a tunable."""
    parents = _schema_paths()[1]
    return schema_path in parents or f"{schema_path}.{WILDCARD}" in parents


def tunable_at(path: str) -> Tunable | None:
    """The tunable for a concrete dotted path (``models.providers.sim.retry.attempts``), or None when
    the path is not a leaf key of the schema."""
    parts = split_path(path)
    field = field_at(parts)
    if field is None or len(field.path) != len(parts):
        return None
    found = _describe(field.dotted)
    return None if found is None else dataclasses.replace(found, path=path)


# --- values and their sources --------------------------------------------------------------------


_MISSING = object()


def _concrete(schema_parts: Sequence[str], data: Any,
              done: tuple[PathPart, ...] = ()) -> Iterator[tuple[PathPart, ...]]:
    """Expand ``*`` steps with the dict keys / list indexes present in ``data``."""
    if not schema_parts:
        yield done
        return
    head, rest = schema_parts[0], schema_parts[1:]
    if head != WILDCARD:
        child = data.get(head, _MISSING) if isinstance(data, dict) else _MISSING
        yield from _concrete(rest, {} if child is _MISSING or child is None else child, (*done, head))
        return
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _concrete(rest, value, (*done, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _concrete(rest, value, (*done, index))


def source_of(loaded: LoadedConfig, parts: Sequence[PathPart]) -> str:
    """``default`` / ``file:line`` / ``include file:line`` / ``env ${VAR} (file:line)``."""
    origin = loaded.origins.get(tuple(parts))
    if origin is None:
        return "default"
    template = loaded.env_refs.get(join_path(parts))
    return f"env {template} ({origin.label()})" if template is not None else origin.label()


def list_tunables(loaded: LoadedConfig, prefix: str = "") -> list[TunableValue]:
    """Every tunable key at or under ``prefix`` (dot-wise), in schema order, with value and source."""
    dump = redacted_dump(loaded.config)
    out: list[TunableValue] = []
    for schema_path in _schema_paths()[0]:
        tunable = _describe(schema_path)
        if tunable is None:
            continue
        for parts in _concrete(schema_path.split("."), dump):
            path = join_path(parts)
            if prefix and not in_scope(path, (prefix,)):
                continue
            value = _value_at(dump, parts)
            out.append(TunableValue(dataclasses.replace(tunable, path=path), value, source_of(loaded, parts)))
    return out


def _value_at(data: Any, parts: Sequence[PathPart]) -> Any:
    node = data
    for part in parts:
        if isinstance(node, dict):
            node = node.get(str(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node
