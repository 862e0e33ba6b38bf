"""Turn pydantic validation errors into issues a human can act on (docs/design/config.md#clawtop-goes-further).

Each pydantic error becomes one :class:`ConfigIssue` with the full dotted path, the file, line and
column where the value (or the unknown key) is written, what was expected, what was found and,
for an unknown key, the closest valid key at that level ("did you mean `ttl`?"). The valid keys
are found by walking the pydantic model tree along the error's location, so suggestions follow
the schema without a hand-kept list.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import json
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from core.config.errors import ConfigError, ConfigIssue
from core.config.provenance import Origins, PathKey, nearest
from core.config.schema.base import redact_url_userinfo
from core.config.spans import PathPart, join_path

_SECRET_KEY = re.compile(r"(key|token|secret|password|passwd|credential|auth)", re.IGNORECASE)
_MISSING = object()
MAX_ISSUES = 100
"""Errors explained one by one; a file with 10,000 unknown keys reports the first ones fast."""
_SHOULD = re.compile(
    r"^(?:Input|Value|String|List|Dictionary|Tuple|Set|Decimal|Data) should (?:be|have) (.*)$", re.S
)


# --- walking the model tree --------------------------------------------------------------------


def _unwrap(tp: Any) -> list[Any]:
    """The concrete alternatives behind ``Annotated``/``Optional``/``Union`` annotations."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                out.extend(_unwrap(arg))
        return out
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    """File key → annotation of one model (aliases are the file's keys)."""
    keys: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        keys[field.alias or name] = field.annotation
    return keys


def _allows_extra(model: type[BaseModel]) -> bool:
    return model.model_config.get("extra") == "allow"


def child_types(tp: Any, part: PathPart) -> list[Any]:
    """The possible types one step below ``tp`` along ``part`` (empty: the step is invalid)."""
    found: list[Any] = []
    for alt in _unwrap(tp):
        origin = typing.get_origin(alt)
        if alt is Any:
            found.append(Any)
        elif _is_model(alt):
            keys = _model_keys(alt)
            if str(part) in keys:
                found.append(keys[str(part)])
            elif _allows_extra(alt):
                found.append(Any)
        elif origin in (dict, typing.Mapping, collections.abc.Mapping):
            args = typing.get_args(alt)
            found.append(args[1] if len(args) == 2 else Any)
        elif origin in (list, tuple, set, frozenset, collections.abc.Sequence) and isinstance(part, int):
            args = typing.get_args(alt)
            found.append(args[0] if args else Any)
    return found


def is_secret_path(model: type[BaseModel], parts: Sequence[PathPart]) -> bool:
    """True when the schema marks the field at ``parts`` secret (``json_schema_extra`` flag)."""
    types_here: list[Any] = [model]
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            for tp in types_here:
                for alt in _unwrap(tp):
                    if _is_model(alt):
                        for name, field in alt.model_fields.items():
                            if (field.alias or name) == str(part):
                                extra = field.json_schema_extra
                                if isinstance(extra, dict) and extra.get("secret") is True:
                                    return True
            return False
        types_here = [t for tp in types_here for t in child_types(tp, part)]
    return False


def keys_at(tp: Any) -> list[str]:
    """Valid file keys of the object(s) ``tp`` may be (empty for free-form maps)."""
    keys: list[str] = []
    for alt in _unwrap(tp):
        if _is_model(alt):
            keys.extend(k for k in _model_keys(alt) if k not in keys)
    return keys


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaLookup:
    """Result of checking a dot-path against the schema."""

    valid: bool
    bad_index: int | None = None
    valid_keys: tuple[str, ...] = ()
    suggestion: str | None = None


def lookup_schema_path(model: type[BaseModel], parts: Sequence[PathPart]) -> SchemaLookup:
    """Is ``parts`` a key path the schema knows? If not, where does it go wrong and what's close?"""
    types_here: list[Any] = [model]
    for index, part in enumerate(parts):
        below: list[Any] = []
        for tp in types_here:
            below.extend(child_types(tp, part))
        if not below:
            valid = tuple(k for tp in types_here for k in keys_at(tp))
            return SchemaLookup(False, index, valid, suggest(str(part), valid))
        types_here = below
    return SchemaLookup(True)


def suggest(key: str, valid: Sequence[str]) -> str | None:
    """The closest valid key (difflib), compared case-insensitively so ``TTL`` finds ``ttl``."""
    lowered = {k.lower(): k for k in valid}
    match = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


# --- errors → issues ---------------------------------------------------------------------------


def _real_path(loc: tuple[Any, ...], data: Any, error_type: str) -> PathKey:
    """Drop pydantic's union tags (``str``, ``function-after[...]``, model names) from ``loc``.

    Each loc part that exists in the data is a real step; a trailing part of a ``missing`` error
    is the absent key; anything else is a tag pydantic inserted for a union member.
    """
    path: list[PathPart] = []
    node = data
    for index, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif error_type == "missing" and index == len(loc) - 1:
            path.append(part)
    return tuple(path)


def _value_at(data: Any, path: PathKey) -> Any:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def describe(value: Any, path: PathKey = (), *, secret: bool | None = None) -> str:
    """A short, secret-safe description of a found value."""
    if secret is None:
        secret = any(isinstance(p, str) and _SECRET_KEY.search(p) for p in path[-1:])
    if value is _MISSING:
        return "nothing"
    if secret and value is not None:
        kinds = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
        return f"{kinds.get(type(value), 'a value')} (redacted)"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        value = redact_url_userinfo(value)
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"{json.dumps(shown, ensure_ascii=False)} (a string)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return type(value).__name__


def _expected(msg: str) -> tuple[str, str | None]:
    """Split pydantic's ``Input should be X[, detail]`` into (kind of problem, expected)."""
    should = _SHOULD.match(msg)
    if should:
        rest = should.group(1)
        head = rest.split(",")[0]
        if "valid" in head:
            kind = "wrong type"
        elif head.startswith(("greater", "less", "a multiple", "at least", "at most")):
            kind = "out of range"
        else:
            kind = "invalid value"
        return kind, rest.split(", unable")[0]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :], None
    return msg, None


def issues_from_validation_error(
    exc: ValidationError, data: Any, *, model: type[BaseModel], origins: Origins, file: str | None
) -> list[ConfigIssue]:
    """One issue per distinct path; union alternatives are folded into "expected X or Y"."""
    by_path: dict[tuple[PathKey, str], ConfigIssue] = {}
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_ISSUES]:
        etype = err["type"]
        path = _real_path(tuple(err["loc"]), data, etype)
        dotted = join_path(path)
        origin = nearest(origins, path)
        line = origin.line if origin else None
        col = origin.column if origin else None
        suggestion = expected = found = None
        if etype == "extra_forbidden":
            message = f"unknown key `{path[-1]}`" if path else "unknown key"
            parent = lookup_schema_path(model, path[:-1])
            types_here = _types_at(model, path[:-1]) if parent.valid else []
            valid = [k for tp in types_here for k in keys_at(tp)]
            suggestion = suggest(str(path[-1]), valid) if path else None
            if origin is not None and origin.key_line is not None and origins.get(path) is origin:
                line, col = origin.key_line, origin.key_column
        elif etype == "missing":
            message = "required key is missing"
        else:
            message, expected = _expected(err["msg"])
            found = describe(_value_at(data, path), path, secret=is_secret_path(model, path) or None)
        key = (path, "type" if expected is not None else message)
        previous = by_path.get(key)
        if previous is not None and expected is not None and previous.expected:
            if expected not in previous.expected.split(" or "):
                by_path[key] = dataclasses.replace(previous, expected=f"{previous.expected} or {expected}")
            continue
        by_path[key] = ConfigIssue(
            dotted, message, file=origin.file if origin else file, line=line, column=col,
            expected=expected, found=found, suggestion=suggestion,
        )
    # In file order: the user fixes them top to bottom.
    issues = sorted(by_path.values(), key=lambda i: (i.file or "", i.line or 0, i.column or 0))
    if len(errors) > MAX_ISSUES:
        issues.append(ConfigIssue("", f"… and {len(errors) - MAX_ISSUES} more problems not listed "
                                      "(fix these first)", file=file))
    return issues


def _types_at(model: type[BaseModel], parts: Sequence[PathPart]) -> list[Any]:
    types_here: list[Any] = [model]
    for part in parts:
        types_here = [t for tp in types_here for t in child_types(tp, part)]
    return types_here


MAX_DEPTH = 64
"""Deepest nesting after includes are merged in (each file is held to the same bound by the
parser; an include placed deep in another file could otherwise exceed it)."""


def _static_issues(data: Any, origins: Origins, file: str | None) -> list[ConfigIssue]:
    """Problems no schema type states: a NUL byte in any key or string (no path, URL or name can
    hold one: it would validate, then crash the first system call), nesting beyond
    :data:`MAX_DEPTH`. Walked with an explicit stack, never recursion."""
    issues: list[ConfigIssue] = []

    def add(path: PathKey, message: str) -> None:
        origin = nearest(origins, path)
        issues.append(ConfigIssue(
            join_path(path), message, file=origin.file if origin else file,
            line=origin.line if origin else None, column=origin.column if origin else None,
        ))

    stack: list[tuple[PathKey, Any]] = [((), data)]
    while stack and len(issues) < 20:
        path, value = stack.pop()
        if len(path) > MAX_DEPTH:
            add(path[:MAX_DEPTH], f"nested too deeply: the limit is {MAX_DEPTH} levels")
            continue
        if isinstance(value, str):
            if "\0" in value:
                add(path, "contains a NUL byte (\\u0000), which no path, URL or name can hold")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\0" in key:
                    add((*path, key), "the key contains a NUL byte (\\u0000)")
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
    return sorted(issues, key=lambda i: (i.file or "", i.line or 0, i.column or 0))


def validate_data(
    data: Any, *, model: type[BaseModel], origins: Origins, file: str | None
) -> BaseModel:
    """Validate the resolved document; raises ConfigError with every issue located."""
    if not isinstance(data, dict):
        origin = origins.get(())
        raise ConfigError(
            [
                ConfigIssue(
                    "", "the config must be an object", file=file,
                    line=origin.line if origin else None, column=origin.column if origin else None,
                    expected="an object `{ ... }`", found=describe(data),
                )
            ],
            file=file,
        )
    static = _static_issues(data, origins, file)
    if static:
        raise ConfigError(static, file=file)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, data, model=model, origins=origins, file=file)
        raise ConfigError(issues, file=file) from None
