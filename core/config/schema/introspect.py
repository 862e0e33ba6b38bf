"""Walking the schema tree by the file's key names.

The loader uses this to turn a validation ``loc`` into a field (its description, bounds and
whether it is secret) and to find "did you mean" candidates; the tests use it to check that
``config.example.json5`` shows every key. Dict keys and list items appear as ``*`` in paths
(``models.providers.*.models.*.id``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from core.config.schema.base import is_secret_field
from core.config.schema.root import ClawtopConfig

__all__ = ["SchemaField", "child_keys", "field_at", "fields_along", "iter_fields", "schema_paths"]

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One key of the schema: its path (file key names, ``*`` for dict keys and list items),
    the model that declares it, the Python attribute name and pydantic's field info."""

    path: tuple[str, ...]
    owner: type[BaseModel]
    name: str
    info: FieldInfo

    @property
    def dotted(self) -> str:
        """The path joined with dots."""
        return ".".join(self.path)

    @property
    def key(self) -> str:
        """The key as written in the file (the alias)."""
        return self.path[-1]

    @property
    def description(self) -> str:
        """The field's documentation (what it does, its unit, its default)."""
        return self.info.description or ""

    @property
    def secret(self) -> bool:
        """True for credentials that are redacted in every view."""
        return is_secret_field(self.info.json_schema_extra)


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _children(annotation: Any) -> Iterator[tuple[tuple[str, ...], type[BaseModel]]]:
    """Nested models reachable from an annotation, with the wildcard steps needed to reach them."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield (), annotation
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _children(arg)
    elif origin in (list, tuple, set, frozenset, Sequence):
        for arg in typing.get_args(annotation):
            for steps, model in _children(arg):
                yield (WILDCARD, *steps), model
    elif origin is dict:
        args = typing.get_args(annotation)
        if len(args) == 2:
            for steps, model in _children(args[1]):
                yield (WILDCARD, *steps), model


def _alias(name: str, info: FieldInfo) -> str:
    return info.alias or name


def iter_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[SchemaField]:
    """Every field under ``model``, depth first, parents before children."""
    for name, info in model.model_fields.items():
        path = (*prefix, _alias(name, info))
        yield SchemaField(path, model, name, info)
        for steps, child in _children(info.annotation):
            yield from iter_fields(child, (*path, *steps))


def schema_paths(model: type[BaseModel] | None = None) -> list[str]:
    """Dotted paths of every key (default: the whole config), e.g.
    ``agents.defaults.contextPruning.ttl``."""
    if model is None:
        model = ClawtopConfig
    return [f.dotted for f in iter_fields(model)]


def _walk(
    model: type[BaseModel], loc: Sequence[str | int], along: list[SchemaField] | None = None,
) -> tuple[list[type[BaseModel]], SchemaField | None, bool]:
    """Follow ``loc`` from ``model``.

    Returns the models reached at the end (the objects whose keys are valid next), the last field
    matched, and whether the whole ``loc`` stayed inside the schema (steps after a leaf field —
    an item of a string list, a value of a string map — count as inside that field).
    """
    states: list[tuple[tuple[str, ...], type[BaseModel]]] = [((), model)]
    found: SchemaField | None = None
    path: tuple[str, ...] = ()
    for step in loc:
        next_states: list[tuple[tuple[str, ...], type[BaseModel]]] = []
        matched: SchemaField | None = None
        for pending, candidate in states:
            if pending:  # a dict key or list index consumed by a wildcard
                next_states.append((pending[1:], candidate))
                continue
            if not isinstance(step, str):
                continue
            for name, info in candidate.model_fields.items():
                if _alias(name, info) == step:
                    matched = SchemaField((*path, step), candidate, name, info)
                    next_states.extend(_children(info.annotation))
                    break
        if matched is not None:
            found, path = matched, matched.path
            if along is not None:
                along.append(matched)
        elif next_states:
            path = (*path, WILDCARD)
        if not next_states:
            # Either a leaf field's value continues (inside), or an unknown key (outside).
            return [], found, matched is not None
        states = next_states
    return [m for pending, m in states if not pending], found, True


def field_at(loc: Sequence[str | int], model: type[BaseModel] | None = None) -> SchemaField | None:
    """The schema field a validation ``loc`` points at (dict keys and list indexes are skipped
    over), or None when the path leaves the schema (an unknown key)."""
    if model is None:
        model = ClawtopConfig
    steps = [s for s in loc if s != "[key]"]
    if not steps:
        return None
    _, found, inside = _walk(model, steps)
    return found if inside else None


def fields_along(path: Sequence[str], model: type[BaseModel] | None = None) -> list[SchemaField]:
    """The schema fields a dot-path passes through, outermost first (dict keys and list items
    are skipped over). Stops at the first step the schema does not know, so
    ``retry.nosuchkey`` gives just the ``retry`` field."""
    if model is None:
        model = ClawtopConfig
    along: list[SchemaField] = []
    _walk(model, list(path), along)
    return along


def child_keys(loc: Sequence[str | int], model: type[BaseModel] | None = None) -> list[str]:
    """Valid keys of the object at ``loc`` (``()`` = the root): the candidates for a "did you
    mean" suggestion when a key under ``loc`` is unknown."""
    if model is None:
        model = ClawtopConfig
    models, _, inside = _walk(model, [s for s in loc if s != "[key]"])
    if not inside:
        return []
    keys: list[str] = []
    for m in models:
        keys.extend(_alias(n, i) for n, i in m.model_fields.items())
    return list(dict.fromkeys(keys))
