"""In-memory model of an OpenClaw/pi JSONL session transcript (docs/design/sessions.md#transcript-entries,
docs/design/compaction.md#persistence-in-the-transcript).

This is the shared representation the context accounting, pruning/compaction and agent loop
code against. Every object wraps the parsed JSON dict of its line (``raw``) and exposes typed,
read-only accessors; ``raw`` stays the source of truth, so a line written by OpenClaw —
including keys and entry types clawtop does not know — round-trips unchanged (same keys, same
order, same values). The reason is the performance contract: a 50 MB transcript loads in < 1 s
and the cached session stays ≤ 2× the file size, which rules out a typed object per block.

API
---
Entries (all have ``raw``, ``to_json()``, ``Entry.from_json(dict)`` dispatching on ``type``):

- :class:`SessionHeader` — line 1: ``type="session"``, ``version``, ``id``, ``timestamp``,
  ``cwd``, ``parent_session`` (JSON ``parentSession``).
- Tree entries (:class:`Entry` subclasses) share ``id``, ``parent_id`` (JSON ``parentId``),
  ``timestamp`` (ISO string) and ``type``:

  - :class:`MessageEntry` — ``message: AgentMessage`` (enters the context);
  - :class:`CustomEntry` — ``custom_type`` (``customType``), ``data`` (state only, e.g.
    ``openclaw.cache-ttl`` with ``data = {timestamp, provider, modelId}``);
  - :class:`CustomMessageEntry` — ``custom_type``, ``content``, ``display``, ``details``
    (enters the context as role ``custom``);
  - :class:`CompactionEntry` — ``summary``, ``first_kept_entry_id``, ``tokens_before``,
    ``details`` (``{readFiles, modifiedFiles}``), ``from_hook``;
  - :class:`BranchSummaryEntry` — ``summary``, ``from_id``;
  - :class:`ModelChangeEntry` — ``provider``, ``model_id``;
  - :class:`RawEntry` — anything else (``thinking_level_change``, ``label``, ``session_info``,
    future types), kept losslessly.

  New entries: ``MessageEntry(msg)``, ``CustomEntry("openclaw.cache-ttl", {...})``,
  ``CompactionEntry(summary, first_kept_entry_id, tokens_before, details)``,
  ``ModelChangeEntry(provider, model_id)``; ``id``/``parentId`` are filled by
  :meth:`Session.add` (or pass ``id=``/``parent_id=``).

:class:`Session`: ``header``, ``entries`` (file order), ``by_id``, ``leaf_id`` (last entry, as
pi), ``branch(leaf_id=None)`` (root → leaf path via ``parentId``), ``messages(leaf_id=None)``
(model-context messages per docs/design/compaction.md#persistence-in-the-transcript), ``latest_compaction()``,
``add(entry)`` (in memory only; persisting is :class:`core.sessions.store.SessionStore`'s job), ``Session.new(...)``.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

from core.sessions.messages import AgentMessage, now_ms

__all__ = [
    "AgentMessage",
    "BranchSummaryEntry",
    "CompactionEntry",
    "CustomEntry",
    "CustomMessageEntry",
    "Entry",
    "MessageEntry",
    "ModelChangeEntry",
    "RawEntry",
    "Session",
    "SessionHeader",
    "iso_now",
]

CURRENT_VERSION = 3
"""pi's current transcript version (OpenClaw writes 2; both read the same way)."""


def iso_now() -> str:
    """UTC ISO-8601 with milliseconds and ``Z`` — the entry ``timestamp`` format."""
    now = _dt.datetime.now(_dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


T = TypeVar("T")


class _Key(Generic[T]):
    """A read-only property over one key of the line's dict; ``T`` is what the format puts there
    (typed for the checker, not validated: the line is the file's, as written)."""

    __slots__ = ("default", "key")

    def __init__(self, key: str, default: T) -> None:
        self.key, self.default = key, default

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _Wrapped, owner: type[Any]) -> T: ...
    def __get__(self, obj: _Wrapped | None, owner: type[Any]) -> Self | T:
        if obj is None:
            return self
        value: T = obj.raw.get(self.key, self.default)
        return value


class _Wrapped:
    """Shared base: one slot holding the line's dict."""

    __slots__ = ("raw",)
    raw: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The line's JSON object (shared, do not mutate)."""
        return self.raw

    @classmethod
    def _wrap(cls, raw: dict[str, Any]) -> Self:
        obj = object.__new__(cls)
        obj.raw = raw
        return obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Wrapped) and type(other) is type(self) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose (mutable dict); typeshed types it as a method

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw.get('type')!r}, id={self.raw.get('id')!r})"


class SessionHeader(_Wrapped):
    """First line: ``{"type": "session", "version", "id", "timestamp", "cwd", "parentSession"?}``."""

    __slots__ = ()

    def __init__(
        self,
        id: str,
        *,
        cwd: str = "",
        version: int = CURRENT_VERSION,
        timestamp: str | None = None,
        parent_session: str | None = None,
    ) -> None:
        self.raw = {"type": "session", "version": version, "id": id,
                    "timestamp": timestamp or iso_now(), "cwd": cwd}
        if parent_session is not None:
            self.raw["parentSession"] = parent_session

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SessionHeader:
        return cls._wrap(raw)

    @property
    def type(self) -> str:
        return "session"

    version = _Key("version", 1)
    id = _Key("id", "")
    timestamp = _Key("timestamp", "")
    cwd = _Key("cwd", "")
    parent_session = _Key[str | None]("parentSession", None)


class Entry(_Wrapped):
    """A tree entry. Subclasses set ``TYPE``; :meth:`from_json` picks the class by ``type``."""

    __slots__ = ()
    TYPE: ClassVar[str] = ""
    IN_CONTEXT: ClassVar[bool] = False
    """Whether the entry becomes a model-context message (docs/design/sessions.md#transcript-entries)."""

    def _init(self, id: str | None, parent_id: str | None, timestamp: str | None,
              **fields: Any) -> None:
        self.raw = {"type": self.TYPE, "id": id, "parentId": parent_id,
                    "timestamp": timestamp or iso_now()}
        self.raw.update({k: v for k, v in fields.items() if v is not None})

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Entry:
        """Wrap a parsed line (no copy), dispatching on ``type``; unknown → :class:`RawEntry`."""
        cls = _BY_TYPE.get(raw.get("type", ""), RawEntry)
        return cls._wrap(raw)

    @property
    def type(self) -> str:
        value: str = self.raw.get("type", "")
        return value

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def parent_id(self) -> str | None:
        return self.raw.get("parentId")

    @property
    def timestamp(self) -> str:
        value: str = self.raw.get("timestamp", "")
        return value


class MessageEntry(Entry):
    __slots__ = ()
    TYPE = "message"
    IN_CONTEXT = True

    def __init__(self, message: AgentMessage, *, id: str | None = None,
                 parent_id: str | None = None, timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, message=message.raw)

    @property
    def message(self) -> AgentMessage:
        return AgentMessage(self.raw["message"])

    @property
    def role(self) -> str:
        role: str = self.raw["message"].get("role", "")
        return role


class CustomEntry(Entry):
    """State only (never in the context), e.g. the ``openclaw.cache-ttl`` clock
    (docs/design/pruning.md#the-ttl-clock)."""

    __slots__ = ()
    TYPE = "custom"

    def __init__(self, custom_type: str, data: Any = None, *, id: str | None = None,
                 parent_id: str | None = None, timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, customType=custom_type, data=data)

    custom_type = _Key("customType", "")
    data = _Key[Any]("data", None)


class CustomMessageEntry(Entry):
    __slots__ = ()
    TYPE = "custom_message"
    IN_CONTEXT = True

    def __init__(self, custom_type: str, content: Any, *, display: bool = True,
                 details: Any = None, id: str | None = None, parent_id: str | None = None,
                 timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, customType=custom_type, content=content,
                   display=display, details=details)

    custom_type = _Key("customType", "")
    content = _Key[Any]("content", None)

    @property
    def display(self) -> bool:
        return bool(self.raw.get("display", True))

    details = _Key[Any]("details", None)

    def as_message(self) -> AgentMessage:
        r = self.raw
        return AgentMessage({"role": "custom", "customType": r.get("customType"),
                             "content": r.get("content"), "display": r.get("display", True),
                             "details": r.get("details"), "timestamp": _ms(r.get("timestamp"))})


class CompactionEntry(Entry):
    """Summary of everything before ``first_kept_entry_id`` (docs/design/compaction.md#persistence-in-the-transcript).
    Nothing is deleted."""

    __slots__ = ()
    TYPE = "compaction"

    def __init__(self, summary: str, first_kept_entry_id: str, tokens_before: int,
                 details: dict[str, Any] | None = None, *, from_hook: bool | None = None,
                 id: str | None = None, parent_id: str | None = None,
                 timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, summary=summary,
                   firstKeptEntryId=first_kept_entry_id, tokensBefore=tokens_before,
                   details=details, fromHook=from_hook)

    summary = _Key("summary", "")
    first_kept_entry_id = _Key[str | None]("firstKeptEntryId", None)
    tokens_before = _Key("tokensBefore", 0)
    details = _Key[Any]("details", None)

    @property
    def from_hook(self) -> bool:
        return bool(self.raw.get("fromHook", False))

    def as_message(self) -> AgentMessage:
        return AgentMessage({"role": "compactionSummary", "summary": self.summary,
                             "tokensBefore": self.tokens_before,
                             "timestamp": _ms(self.raw.get("timestamp"))})


class BranchSummaryEntry(Entry):
    __slots__ = ()
    TYPE = "branch_summary"
    IN_CONTEXT = True

    def __init__(self, summary: str, from_id: str, *, id: str | None = None,
                 parent_id: str | None = None, timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, fromId=from_id, summary=summary)

    summary = _Key("summary", "")
    from_id = _Key[str | None]("fromId", None)

    def as_message(self) -> AgentMessage:
        return AgentMessage({"role": "branchSummary", "summary": self.summary,
                             "fromId": self.from_id, "timestamp": _ms(self.raw.get("timestamp"))})


class ModelChangeEntry(Entry):
    __slots__ = ()
    TYPE = "model_change"

    def __init__(self, provider: str, model_id: str, *, id: str | None = None,
                 parent_id: str | None = None, timestamp: str | None = None) -> None:
        self._init(id, parent_id, timestamp, provider=provider, modelId=model_id)

    provider = _Key("provider", "")
    model_id = _Key("modelId", "")


class RawEntry(Entry):
    """Any other type, kept as its dict (``thinking_level_change``, ``label``, …)."""

    __slots__ = ()

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw


_BY_TYPE: dict[str, type[Entry]] = {
    c.TYPE: c for c in (MessageEntry, CustomEntry, CustomMessageEntry, CompactionEntry,
                        BranchSummaryEntry, ModelChangeEntry)
}


def _ms(iso: str | None) -> int:
    """ISO entry timestamp → epoch ms (messages use ms); unparsable → now."""
    if iso:
        try:
            return int(_dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    return now_ms()


class Session:
    """A transcript in memory: header + entries in file order, indexed by id.

    ``path``, ``size`` and ``mtime_ns`` describe the file it was loaded from (the cache uses
    them to validate); all are ``None``/0 for a session never written.
    """

    __slots__ = ("header", "entries", "by_id", "leaf_id", "path", "size", "mtime_ns")

    def __init__(self, header: SessionHeader, entries: list[Entry] | None = None) -> None:
        self.header = header
        self.entries: list[Entry] = []
        self.by_id: dict[str, Entry] = {}
        self.leaf_id: str | None = None
        self.path: str | None = None
        self.size = 0
        self.mtime_ns = 0
        for entry in entries or ():
            self._index(entry)

    @classmethod
    def new(cls, session_id: str | None = None, *, cwd: str = "",
            parent_session: str | None = None) -> Session:
        return cls(SessionHeader(session_id or str(uuid.uuid4()), cwd=cwd,
                                 parent_session=parent_session))

    @property
    def id(self) -> str:
        return self.header.id

    def _index(self, entry: Entry) -> None:
        self.entries.append(entry)
        entry_id = entry.id
        if entry_id is not None:
            self.by_id[entry_id] = entry
            self.leaf_id = entry_id

    def new_entry_id(self) -> str:
        """pi's id: 8 hex chars, unique within the session."""
        while True:
            candidate = uuid.uuid4().hex[:8]
            if candidate not in self.by_id:
                return candidate

    def add(self, entry: Entry) -> Entry:
        """Append in memory: fills a missing ``id`` and a missing ``parentId`` (= current leaf),
        then makes the entry the leaf. Returns the entry."""
        if entry.raw.get("id") is None:
            entry.raw["id"] = self.new_entry_id()
        if entry.raw.get("parentId") is None:
            entry.raw["parentId"] = self.leaf_id
        self._index(entry)
        return entry

    def branch(self, leaf_id: str | None = None) -> list[Entry]:
        """Root → leaf path following ``parentId`` (the active branch). Entries of a pre-v2
        file, which have no ids, form one linear chain."""
        if not self.by_id:
            return list(self.entries)
        path: list[Entry] = []
        seen: set[str | None] = set()
        current = self.by_id.get(leaf_id or self.leaf_id or "")
        while current is not None and current.id not in seen:
            seen.add(current.id)
            path.append(current)
            parent = current.parent_id
            current = self.by_id.get(parent) if parent else None
        path.reverse()
        return path

    def latest_compaction(self, leaf_id: str | None = None) -> CompactionEntry | None:
        """The newest compaction entry on the active branch, if any."""
        for entry in reversed(self.branch(leaf_id)):
            if isinstance(entry, CompactionEntry):
                return entry
        return None

    def messages(self, leaf_id: str | None = None) -> list[AgentMessage]:
        """Model-context messages of the branch (pi ``buildSessionContext``,
        docs/design/compaction.md#persistence-in-the-transcript): with a compaction on the path, its
        ``compactionSummary`` first, then the path entries from ``firstKeptEntryId`` up to the compaction, then
        everything after it."""
        path = self.branch(leaf_id)
        cut, compaction = -1, None
        for i in range(len(path) - 1, -1, -1):
            entry = path[i]
            if isinstance(entry, CompactionEntry):
                cut, compaction = i, entry
                break
        if compaction is None:
            return [m for e in path if (m := _context_message(e)) is not None]
        out = [compaction.as_message()]
        kept = False
        first_kept = compaction.first_kept_entry_id
        for entry in path[:cut]:
            kept = kept or entry.id == first_kept
            if kept and (m := _context_message(entry)) is not None:
                out.append(m)
        out.extend(m for e in path[cut + 1:] if (m := _context_message(e)) is not None)
        return out

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, entries={len(self.entries)})"


def _context_message(entry: Entry) -> AgentMessage | None:
    if isinstance(entry, MessageEntry):
        return entry.message
    if isinstance(entry, (CustomMessageEntry, BranchSummaryEntry)):
        if isinstance(entry, BranchSummaryEntry) and not entry.summary:
            return None
        return entry.as_message()
    return None
