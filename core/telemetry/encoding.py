"""Turning events into ``(wall, mono, kind, payload_json)`` rows: the ingest hot path.

The payload column is byte-for-byte ``json.dumps(event.payload(), separators=(",", ":"))`` (a
test holds every registered kind and the edge cases to that), produced with less work because
profiling the ingest benchmark showed encoding costing almost as much as the SQLite insert:

1. Per event class, a specialised encoder is generated once (as ``dataclasses`` generates
   ``__init__``): it reads the fields, checks each value's exact type against its annotation
   and concatenates pre-rendered keys with the C string escaper and ``int``/``float`` reprs. For
   two short strings this is about twice as fast as the json module's C encoder on a dict.
2. Any value that is not exactly what its annotation says (an ``int`` in a ``float`` field, a
   NaN, a bool subclass, …) makes that event take the general path: the json module's C encoder,
   built once, on a dict of the fields. ``Event._jsonable`` would pass those values through
   unchanged (tuples become lists either way), so skipping it changes nothing. The one known
   difference needs a type violation: a dict smuggled into a ``str``/``tuple`` field, with
   ``True``/``None`` keys, is written with json's ``"true"``/``"null"`` keys, not ``"True"``.
3. Classes that override ``payload()`` or have fields typed with anything beyond
   ``str/int/float/bool/None/tuple/list`` (dicts, ``Any``, custom types) always go through
   ``event.payload()`` as the event defines it: ``_jsonable`` stringifies dict keys with
   ``str()``, which the json module does not.
"""

from __future__ import annotations

import json
import logging
import re
import types
import typing
from collections.abc import Callable, Iterable
from json import encoder as _json_encoder
from typing import Any

from core.events.base import Event, event_kinds

logger = logging.getLogger(__name__)

Row = tuple[float, float, str, str]
"""What one events row is inserted from: ``(wall, mono, kind, payload)``."""

INSERT_SQL = "INSERT INTO events (wall, mono, kind, payload) VALUES (?, ?, ?, ?)"

_SEPARATORS = (",", ":")
_escape: Callable[[str], str] = _json_encoder.encode_basestring_ascii


def _build_encode_json() -> Callable[[object], str]:
    c_make_encoder = getattr(_json_encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always ships _json
        return json.JSONEncoder(separators=_SEPARATORS).encode
    # What JSONEncoder.iterencode passes for dumps' defaults, except: no circular-reference
    # markers (payloads are trees; a cycle still fails, with RecursionError, and takes the
    # defensive path) and ``default=str``, which is what ``Event._jsonable`` does to the rest.
    make_chunks = c_make_encoder(
        None, str, _escape, None, _SEPARATORS[1], _SEPARATORS[0], False, False, True
    )
    join = "".join

    def encode(obj: object) -> str:
        return join(make_chunks(obj, 0))

    return encode


encode_json: Callable[[object], str] = _build_encode_json()
"""Compact JSON of a JSON-ready value, identical to ``json.dumps(v, separators=(",", ":"))``."""

RowEncoder = Callable[[Event], Row]
_row_encoders: dict[type[Event], RowEncoder] = {}

_PLAIN_WORDS = frozenset({"str", "int", "float", "bool", "None", "tuple", "list", "Optional"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPTIONAL = re.compile(r"^(?:(\w+)\|None|None\|(\w+)|(?:typing\.)?Optional\[(\w+)\])$")

# Exact-type check and rendering per scalar annotation; `{v}` is the local holding the value.
# Renderings sit inside a single-quoted f-string, hence double quotes only.
# float: `v - v == 0.0` is False for NaN and ±inf, which json spells NaN/Infinity, not repr's.
_SCALARS: dict[str, tuple[str, str]] = {
    "str": ("type({v}) is str", "_escape({v})"),
    "int": ("type({v}) is int", "_int_repr({v})"),
    "float": ("type({v}) is float and {v} - {v} == 0.0", "_float_repr({v})"),
    "bool": ("({v} is True or {v} is False)", '("true" if {v} else "false")'),
}


def _annotation_text(annotation: object) -> str:
    if isinstance(annotation, str):  # `from __future__ import annotations`
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation)  # generic aliases and unions print as source: "tuple[str, ...]"


def _field_annotations(cls: type[Event]) -> dict[str, str]:
    merged: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        merged.update(getattr(klass, "__annotations__", {}))
    texts = {name: _annotation_text(value) for name, value in merged.items()}
    # Enum-like fields are typed with Literal aliases of strings: their values are plain str,
    # encoded exactly like a str field, so the alias is replaced by what it stands for.
    for name, text in texts.items():
        if not _is_plain(text) and (literal := _string_literal_text(cls, name)) is not None:
            texts[name] = literal
    return texts


def _string_literal_text(cls: type[Event], name: str) -> str | None:
    """``str`` / ``str | None`` when field ``name`` is a ``Literal`` of strings (optionally with
    None), else None (also when the annotations cannot be resolved)."""
    try:
        hint = typing.get_type_hints(cls).get(name)
    except Exception:  # noqa: BLE001 - an unresolvable annotation just keeps the general path
        return None
    args = typing.get_args(hint)
    optional = type(None) in args and typing.get_origin(hint) in (typing.Union, types.UnionType)
    if optional:
        rest = [a for a in args if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else None
        args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal and args and all(type(a) is str for a in args):
        return "str | None" if optional else "str"
    return None


def _is_plain(annotation: str) -> bool:
    words = [w for w in _WORD.findall(annotation) if w != "typing"]
    return bool(words) and all(word in _PLAIN_WORDS for word in words)


def _field_code(var: str, annotation: str) -> tuple[str | None, str]:
    """(exact-type check or None, rendering expression) for one field's local variable."""
    compact = annotation.replace(" ", "")
    if compact in _SCALARS:
        check, render = _SCALARS[compact]
        return check.format(v=var), render.format(v=var)
    optional = _OPTIONAL.match(compact)
    inner = next((g for g in optional.groups() if g), None) if optional else None
    if inner in _SCALARS:
        check, render = _SCALARS[inner]
        return (
            f"({var} is None or {check.format(v=var)})",
            f'("null" if {var} is None else {render.format(v=var)})',
        )
    # tuple[...], list[...]: the C encoder renders any such value exactly as dumps would.
    return None, f"_encode_json({var})"


def _generate_row_encoder(cls: type[Event], annotations: dict[str, str]) -> RowEncoder:
    """Source for one class's row encoder, compiled once. For ``LogMessage`` it reads::

        def encode_row(event):
            v0 = event.level
            v1 = event.message
            if type(v0) is str and type(v1) is str:
                return (event.wall, event.mono, _kind, f'{{"level":{_escape(v0)},...}}')
            return (event.wall, event.mono, _kind, _encode_json({"level": v0, ...}))
    """
    names = cls._payload_fields
    variables = [f"v{i}" for i in range(len(names))]
    checks: list[str] = []
    template = ""
    for i, (name, var) in enumerate(zip(names, variables, strict=True)):
        check, render = _field_code(var, annotations[name])
        if check is not None:
            checks.append(check)
        key = ("{" if i == 0 else ",") + json.dumps(name) + ":"
        if "'" in key or "\\" in key:  # impossible for identifiers; keeps the f-string sound
            raise ValueError(f"unexpected field name {name!r}")
        template += key.replace("{", "{{") + "{" + render + "}"
    template += "}}" if names else "{{}}"
    row = "(event.wall, event.mono, _kind, {})"
    body = [f"    {var} = event.{name}" for var, name in zip(variables, names, strict=True)]
    if checks:
        fields = ", ".join(f"{json.dumps(n)}: {v}" for n, v in zip(names, variables, strict=True))
        body.append(f"    if {' and '.join(checks)}:")
        body.append(f"        return {row.format(f'f{template!r}')}")
        body.append(f"    return {row.format(f'_encode_json({{{fields}}})')}")
    else:
        body.append(f"    return {row.format(f'f{template!r}')}")
    source = "def encode_row(event):\n" + "\n".join(body) + "\n"
    namespace: dict[str, Any] = {
        "_kind": cls.kind,
        "_escape": _escape,
        "_int_repr": int.__repr__,
        "_float_repr": float.__repr__,
        "_encode_json": encode_json,
    }
    exec(compile(source, f"<row encoder for {cls.__qualname__}>", "exec"), namespace)
    encoder: RowEncoder = namespace["encode_row"]
    return encoder


def _row_encoder_for(cls: type[Event]) -> RowEncoder:
    """Build (once per class) the fastest row encoder that is still exact for ``cls``."""
    if event_kinds().get(cls.kind) is not cls:
        # An unregistered subclass inherits its parent's kind and cached field names, so its
        # rows would be mislabelled and miss fields. Say so once, loudly, and store it anyway.
        logger.warning(
            "telemetry: %s is not registered with @register_kind; stored as kind %r with "
            "payload fields %s",
            cls.__qualname__,
            cls.kind,
            list(cls._payload_fields),
        )
    annotations = _field_annotations(cls)
    names = cls._payload_fields
    if cls.payload is Event.payload and all(
        name in annotations and _is_plain(annotations[name]) for name in names
    ):
        encoder = _generate_row_encoder(cls, annotations)
    else:
        kind = cls.kind

        def encoder(event: Event) -> Row:
            return (event.wall, event.mono, kind, encode_json(event.payload()))

    _row_encoders[cls] = encoder
    return encoder


def _encode_defensively(event: Event) -> str:
    """Last resort for a payload the fast path could not encode (a cycle, a failing ``str()``).

    A broken event must not take the whole batch (or the writer task) down with it.
    """
    try:
        return json.dumps(event.payload(), separators=_SEPARATORS, default=repr)
    except Exception as exc:  # noqa: BLE001 - anything here is the event's fault, not ours
        return json.dumps(
            {"_unencodable": type(event).__name__, "_error": f"{type(exc).__name__}: {exc}"[:500]},
            separators=_SEPARATORS,
        )


def encode_row(event: Event) -> Row:
    """The row for one event; never raises (see :func:`_encode_defensively`)."""
    cls = type(event)
    try:
        return (_row_encoders.get(cls) or _row_encoder_for(cls))(event)
    except Exception:  # noqa: BLE001 - the event's fault; keep the batch
        return (event.wall, event.mono, cls.kind, _encode_defensively(event))


def encode_rows(events: Iterable[Event]) -> list[Row]:
    """Rows for ``executemany``, in order. Inlined rather than calling :func:`encode_row`
    because it runs once per event: one dict lookup and one call per event, no more."""
    get = _row_encoders.get
    rows: list[Row] = []
    append = rows.append
    for event in events:
        try:
            append((get(type(event)) or _row_encoder_for(type(event)))(event))
        except Exception:  # noqa: BLE001 - zero-cost unless raised (3.11+)
            append((event.wall, event.mono, event.kind, _encode_defensively(event)))
    return rows
