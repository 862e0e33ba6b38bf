"""The event base class and the registry of event kinds.

Events are frozen dataclasses so a subscriber can never change what another one sees. Each
concrete class declares a ``kind`` string (stable, used in the store and on the CLI) and is
registered so a stored row can be mapped back to its class.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, ClassVar

_KINDS: dict[str, type[Event]] = {}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: a kind plus a monotonic and a wall-clock timestamp.

    ``mono`` orders events within one process (immune to clock steps); ``wall`` is what a
    human reads and what ``--since`` filters compare against.
    """

    kind: ClassVar[str] = "event"
    _payload_fields: ClassVar[tuple[str, ...]] = ()

    mono: float = dataclasses.field(default_factory=time.monotonic)
    wall: float = dataclasses.field(default_factory=time.time)

    def payload(self) -> dict[str, Any]:
        """The event's own fields (everything but the timestamps), JSON-ready.

        Field names are cached per class: building the dict is on the ingest hot path and
        ``dataclasses.asdict`` deep-copies, which costs several times more.
        """
        names = type(self)._payload_fields
        return {name: _jsonable(getattr(self, name)) for name in names}


def register_kind(cls: type[Event]) -> type[Event]:
    """Class decorator: register an event class under its ``kind`` and cache its field names."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass")
    existing = _KINDS.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"event kind {cls.kind!r} is already registered by {existing.__name__}")
    cls._payload_fields = tuple(
        f.name for f in dataclasses.fields(cls) if f.name not in ("mono", "wall")
    )
    _KINDS[cls.kind] = cls
    return cls


def event_kinds() -> dict[str, type[Event]]:
    """A copy of the registry: kind string → event class."""
    return dict(_KINDS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
