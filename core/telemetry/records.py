"""Reading events back: :class:`StoredEvent` and the one SELECT both the store and the CLI use.

The CLI reads with plain ``sqlite3`` from another process while the gateway writes; the store
reads through its own ``aiosqlite`` connection. Building the SQL in one place keeps their
filters (and the index each filter relies on) identical.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Any, TypedDict, Unpack

SELECT_COLUMNS = "SELECT id, kind, wall, mono, payload FROM events"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEvent:
    """One persisted event: its row id (increasing in publish order) and decoded payload."""

    id: int
    kind: str
    wall: float
    mono: float
    payload: dict[str, Any]


class EventFilter(TypedDict, total=False):
    """The filters every read accepts; each one given narrows the result (all are optional).

    Declared once so the store's async ``query`` and the CLI's sync reads cannot drift apart.
    """

    kinds: Collection[str] | None
    """Absent or ``None``: every kind; an empty collection matches nothing (as with the bus)."""
    since_wall: float | None
    after_id: int | None
    limit: int | None
    newest_first: bool
    """With ``limit``, gives "the last N" (the caller reverses them for display)."""


def build_select(**filters: Unpack[EventFilter]) -> tuple[str, list[Any]]:
    """SQL and parameters for a filtered read, ordered by id."""
    # ``**filters`` would swallow a misspelt filter and return every row; fail loudly instead.
    unknown = filters.keys() - EventFilter.__optional_keys__
    if unknown:
        raise TypeError(f"unknown event filter(s): {', '.join(sorted(unknown))}")
    kinds = filters.get("kinds")
    since_wall = filters.get("since_wall")
    after_id = filters.get("after_id")
    limit = filters.get("limit")
    where: list[str] = []
    params: list[Any] = []
    if kinds is not None:
        kind_list = sorted(set(kinds))
        if not kind_list:
            where.append("0")
        else:
            # With an id lower bound (tail polling) the new rows are a short range of the
            # primary key; the unary `+` stops SQLite from walking every row of the kind in
            # the (kind, wall) index instead.
            column = "+kind" if after_id is not None else "kind"
            where.append(f"{column} IN ({', '.join('?' * len(kind_list))})")
            params.extend(kind_list)
    if since_wall is not None:
        where.append("wall >= ?")
        params.append(since_wall)
    if after_id is not None:
        where.append("id > ?")
        params.append(after_id)
    sql = SELECT_COLUMNS
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC" if filters.get("newest_first", False) else " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, limit))
    return sql, params


def decode_row(row: Sequence[Any]) -> StoredEvent:
    """A ``SELECT_COLUMNS`` row to a :class:`StoredEvent`."""
    event_id, kind, wall, mono, payload = row
    return StoredEvent(id=event_id, kind=kind, wall=wall, mono=mono, payload=json.loads(payload))


def read_events(conn: sqlite3.Connection, **filters: Unpack[EventFilter]) -> list[StoredEvent]:
    """Synchronous read for the CLI (same filters as ``EventStore.query``)."""
    return list(iter_events(conn, **filters))


def iter_events(conn: sqlite3.Connection, **filters: Unpack[EventFilter]) -> Iterator[StoredEvent]:
    """Stream rows lazily, so exporting a million events never holds them all in memory."""
    sql, params = build_select(**filters)
    for row in conn.execute(sql, params):
        yield decode_row(row)
