"""Bench results in the telemetry database: one ``bench_runs`` row per run (its export document
and the redacted config it ran under) and one ``bench_samples`` row per request.

Why plain ``sqlite3`` in a worker thread rather than the event store's writer: a run is written
once, at its end, as one transaction; batching buys nothing and the event writer stays
dedicated to the bus. WAL mode lets both write the same file.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from core.telemetry.database import connect_writer, prepare_database

__all__ = ["RunNotFound", "RunRow", "list_runs", "load_run", "save_run"]


class RunNotFound(LookupError):
    """No stored run matches the id or tag (the message says which and what exists)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RunRow:
    """One line of ``clawtop bench history``."""

    run_id: str
    started_wall: float
    tag: str | None
    models: tuple[str, ...]
    config_hash: str
    interrupted: bool
    summaries: dict[str, dict[str, Any]]
    """Model ref → its summary (docs/design/bench.md#clawtop-bench shape)."""


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    prepare_database(path)  # creates and migrates: a history before any run is just empty
    conn = connect_writer(path)
    try:
        yield conn
    finally:
        conn.close()


def _wall(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def save_run(path: Path, doc: dict[str, Any], config: dict[str, Any]) -> None:
    """Store one run document and its redacted config, all rows in one transaction."""
    rows = [
        (doc["runId"], m["ref"], r["i"], int(r["warmup"]), int(r["ok"]), r["errorClass"], r["error"],
         r["startedAt"], r["latencyMs"], r["ttftMs"], r["outputTokensPerSec"], r["tpotMs"], r["inputTokens"],
         r["outputTokens"], r["cacheReadTokens"], r["cacheWriteTokens"], r["stopReason"], r["attempts"],
         r.get("retrySleepMs", 0), r.get("costUsd", 0.0))
        for m in doc["models"] for r in m["results"]
    ]
    with _connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO bench_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc["runId"], _wall(doc["startedAt"]), _wall(doc["finishedAt"]), doc["tag"],
                 ",".join(m["ref"] for m in doc["models"]), doc["configHash"], doc["configRawHash"],
                 int(doc["interrupted"]), json.dumps(doc, separators=(",", ":")),
                 json.dumps(config, separators=(",", ":"), sort_keys=True)))
            conn.executemany(f"INSERT INTO bench_samples VALUES ({', '.join('?' * 20)})", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def list_runs(path: Path, *, model: str | None = None, limit: int = 50) -> list[RunRow]:
    """Stored runs, newest first; with ``model`` only runs that benched it (and only its row)."""
    if not path.exists():
        return []
    sql = "SELECT run_id, started_wall, tag, config_hash, interrupted, doc FROM bench_runs"
    params: list[Any] = []
    if model is not None:
        sql += " WHERE run_id IN (SELECT DISTINCT run_id FROM bench_samples WHERE model = ?)"
        params.append(model)
    sql += " ORDER BY started_wall DESC LIMIT ?"
    params.append(limit)
    with _connect(path) as conn:
        rows = conn.execute(sql, params).fetchall()
    out = []
    for run_id, wall, tag, chash, interrupted, doc in rows:
        models = json.loads(doc)["models"]
        summaries = {m["ref"]: m["summary"] for m in models if model is None or m["ref"] == model}
        out.append(RunRow(run_id, wall, tag, tuple(summaries), chash, bool(interrupted), summaries))
    return out


def load_run(path: Path, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(document, redacted config) of a run named by its id, a unique id prefix, or a tag (the
    newest run with that tag)."""
    if not path.exists():
        raise RunNotFound(f"no bench run {ref!r}: nothing stored yet ({path})")
    with _connect(path) as conn:
        rows = conn.execute("SELECT doc, config FROM bench_runs WHERE run_id = ?", (ref,)).fetchall()
        if not rows:
            rows = conn.execute("SELECT doc, config FROM bench_runs WHERE tag = ? ORDER BY started_wall DESC LIMIT 1",
                                (ref,)).fetchall()
        if not rows:
            rows = conn.execute("SELECT doc, config FROM bench_runs WHERE run_id LIKE ? || '%' LIMIT 2",
                                (ref,)).fetchall()
            if len(rows) > 1:
                raise RunNotFound(f"bench run {ref!r} is ambiguous: give more of the run id")
    if not rows:
        raise RunNotFound(f"no bench run with id or tag {ref!r} (see `clawtop bench history`)")
    doc, config = rows[0]
    return json.loads(doc), json.loads(config)
