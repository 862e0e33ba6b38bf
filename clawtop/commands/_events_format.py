"""How ``clawtop events`` renders stored events as text: tail lines and the export formats.

Kept apart from the command so the shapes users script against (the CSV columns, the JSONL
record, the tail line) are read in one place, away from polling and argument handling.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, TextIO

from core.telemetry.records import StoredEvent

CSV_HEADER = ("id", "wall", "kind", "mono", "payload")
EXPORT_FORMATS = ("jsonl", "csv")


def format_line(event: StoredEvent) -> str:
    """``2025-11-25 14:03:07.412  log              {"level":"info",...}`` (local time)."""
    stamp = dt.datetime.fromtimestamp(event.wall).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{stamp}  {event.kind:<16} {_compact(event.payload)}"


def iso_utc(wall: float) -> str:
    """Unix time → ISO-8601 in UTC with microseconds (what exports carry)."""
    return dt.datetime.fromtimestamp(wall, tz=dt.UTC).isoformat(timespec="microseconds")


def write_export(events: Iterable[StoredEvent], fmt: str, stream: TextIO) -> None:
    """Write ``events`` to ``stream`` as ``jsonl`` or ``csv`` (one of :data:`EXPORT_FORMATS`)."""
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for event in events:
            wall = iso_utc(event.wall)
            writer.writerow((event.id, wall, event.kind, repr(event.mono), _compact(event.payload)))
    elif fmt == "jsonl":
        for event in events:
            record = {
                "id": event.id,
                "kind": event.kind,
                "wall": iso_utc(event.wall),
                "mono": event.mono,
                "payload": event.payload,
            }
            stream.write(_compact(record) + "\n")
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    stream.flush()


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
