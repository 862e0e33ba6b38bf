"""Schema migrations: from version 0, idempotent reopen, a new step, failure, downgrade."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from core.telemetry import EventStore
from core.telemetry.database import connect_writer, prepare_database
from core.telemetry.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    SchemaTooNewError,
    migrate,
    schema_version,
)


def objects(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return {
        (row[0], row[1])
        for row in conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
    }


def version_in_file(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return schema_version(conn)


def test_version_zero_file_is_migrated_to_latest(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    sqlite3.connect(path).close()  # an existing, empty file: user_version 0
    assert prepare_database(path) == SCHEMA_VERSION
    with closing(sqlite3.connect(path)) as conn:
        assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS)
        assert {("table", "events"), ("index", "events_wall"), ("index", "events_kind_wall")} <= (
            objects(conn)
        )
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        assert columns == ["id", "wall", "mono", "kind", "payload"]


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    prepare_database(path)
    with closing(connect_writer(path)) as conn:
        conn.execute("INSERT INTO events (wall, mono, kind, payload) VALUES (1, 2, 'log', '{}')")
    assert prepare_database(path) == 0
    assert prepare_database(path) == 0
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        assert schema_version(conn) == SCHEMA_VERSION


def test_a_new_migration_applies_only_the_new_step(tmp_path: Path) -> None:
    """How a later issue adds the bench results table: append one step."""
    path = tmp_path / "e.sqlite3"
    prepare_database(path)
    extended = (
        *MIGRATIONS,
        Migration(
            "bench results",
            (
                "CREATE TABLE bench_results (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
                "CREATE INDEX bench_results_name ON bench_results (name)",
            ),
        ),
    )
    with closing(connect_writer(path)) as conn:
        assert migrate(conn, extended) == 1
        assert schema_version(conn) == SCHEMA_VERSION + 1
        assert ("table", "bench_results") in objects(conn)
        assert migrate(conn, extended) == 0


def test_a_failing_step_rolls_back_completely(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    broken = (
        *MIGRATIONS,
        Migration("half-done", ("CREATE TABLE half (x)", "CREATE TABLE oops (")),
    )
    with closing(connect_writer(path)) as conn:
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, broken)
        # All or nothing: not even the valid first steps stayed.
        assert schema_version(conn) == 0
        assert objects(conn) == set()
        assert not conn.in_transaction


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    prepare_database(path)
    with closing(connect_writer(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(SchemaTooNewError, match="schema version"):
        prepare_database(path)
    assert version_in_file(path) == SCHEMA_VERSION + 5


async def test_store_open_runs_migrations(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "e.sqlite3"
    async with EventStore(path) as store:
        assert await store.count() == 0
    assert version_in_file(path) == SCHEMA_VERSION
