"""`clawtop events tail|export` against real databases, in-process and as a real subprocess."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from telemetry_support import open_attached, record_events

from clawtop.commands.events_cmd import (
    CSV_HEADER,
    format_line,
    parse_since,
    run_export,
    run_tail,
)
from core.events import Event, LogMessage
from core.events.kinds import ConfigReloaded, GatewayStarted
from core.telemetry import StoredEvent

ROOT = Path(__file__).resolve().parent.parent
NOW = time.time()
HOUR = 3600.0


def record(path: Path, events: list[Event]) -> None:
    asyncio.run(record_events(path, events))


def sample_events() -> list[Event]:
    return [
        GatewayStarted(config_source="/c.json5", state_dir="/s", wall=NOW - 3 * HOUR),
        LogMessage(level="info", message="two hours ago", wall=NOW - 2 * HOUR),
        ConfigReloaded(
            changed_paths=("ui.theme",), hot_paths=("ui.theme",), wall=NOW - 0.5 * HOUR
        ),
        LogMessage(level="warning", message="now, with ünicode", wall=NOW - 5),
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "telemetry.sqlite3"
    record(path, sample_events())
    return path


# -- export -----------------------------------------------------------------------------------


def test_export_jsonl_has_every_field(db: Path) -> None:
    out = io.StringIO()
    assert run_export(db, fmt="jsonl", out=out) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3, 4]
    assert [r["kind"] for r in records] == ["gateway.started", "log", "config.reloaded", "log"]
    for record_, event in zip(records, sample_events(), strict=True):
        assert set(record_) == {"id", "kind", "wall", "mono", "payload"}
        wall = dt.datetime.fromisoformat(record_["wall"])
        assert wall.tzinfo is not None and wall.utcoffset() == dt.timedelta(0)
        assert wall.timestamp() == pytest.approx(event.wall, abs=1e-6)
        assert isinstance(record_["mono"], float)
    for record_, event in zip(records, sample_events(), strict=True):
        assert record_["payload"] == json.loads(json.dumps(event.payload()))
    assert records[2]["payload"]["changed_paths"] == ["ui.theme"]
    assert records[3]["payload"] == {"level": "warning", "message": "now, with ünicode"}


def test_export_csv_has_a_stable_header_and_json_payload(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "events.csv"
    target.parent.mkdir()
    assert run_export(db, fmt="csv", output=target, kinds=["log"]) == 0
    with target.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == CSV_HEADER == ("id", "wall", "kind", "mono", "payload")
    assert [(r[0], r[2]) for r in rows[1:]] == [("2", "log"), ("4", "log")]
    assert json.loads(rows[2][4]) == {"level": "warning", "message": "now, with ünicode"}
    wall = dt.datetime.fromisoformat(rows[1][1]).timestamp()
    assert wall == pytest.approx(NOW - 2 * HOUR, abs=1e-6)
    float(rows[1][3])


def test_export_since_filters_by_wall_time(db: Path) -> None:
    def exported(since: str) -> list[str]:
        out = io.StringIO()
        assert run_export(db, since_wall=parse_since(since, now=NOW), out=out) == 0
        return [json.loads(line)["kind"] for line in out.getvalue().splitlines()]

    assert exported("1h") == ["config.reloaded", "log"]
    assert exported("150m") == ["log", "config.reloaded", "log"]
    assert exported("1d") == ["gateway.started", "log", "config.reloaded", "log"]
    assert exported("1m") == ["log"]
    iso = dt.datetime.fromtimestamp(NOW - 2.5 * HOUR, tz=dt.UTC).isoformat()
    assert exported(iso) == ["log", "config.reloaded", "log"]


def test_parse_since_forms() -> None:
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("1h30m", now=10_000.0) == 10_000.0 - 5_400.0
    assert parse_since("2d", now=200_000.0) == 200_000.0 - 172_800.0
    assert parse_since("1.5s", now=10.0) == 8.5
    assert parse_since("2025-01-02T03:04:05Z") == dt.datetime(
        2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    ).timestamp()
    naive = dt.datetime(2025, 1, 2, 3, 4, 5)
    assert parse_since("2025-01-02T03:04:05") == naive.timestamp()  # local time
    assert parse_since("2025-01-02") == dt.datetime(2025, 1, 2).timestamp()
    for bad in ("", "10", "ten minutes", "10x", "2025-13-01"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_since(bad)


def test_export_without_a_database_says_so(tmp_path: Path) -> None:
    err = io.StringIO()
    missing = tmp_path / "nope" / "telemetry.sqlite3"
    assert run_export(missing, out=io.StringIO(), err=err) == 1
    assert f"no events recorded yet at {missing}" in err.getvalue()
    assert not missing.exists() and not missing.parent.exists()


def test_unreadable_database_and_unwritable_output_exit_1(db: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    for run in (
        lambda err: run_export(garbage, out=io.StringIO(), err=err),
        lambda err: run_tail(garbage, follow=False, out=io.StringIO(), err=err),
    ):
        err = io.StringIO()
        assert run(err) == 1
        assert f"cannot read events from {garbage}" in err.getvalue()
    err = io.StringIO()
    target = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    assert run_export(db, output=target, err=err) == 1
    assert f"cannot write {target}" in err.getvalue()


# -- tail -------------------------------------------------------------------------------------


def test_tail_no_follow_prints_the_last_n_oldest_first(db: Path) -> None:
    out = io.StringIO()
    assert run_tail(db, lines=2, follow=False, out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert " config.reloaded " in lines[0]
    assert lines[1].endswith('{"level":"warning","message":"now, with ünicode"}')
    stamp = dt.datetime.fromtimestamp(NOW - 5).strftime("%Y-%m-%d %H:%M:%S")
    assert lines[1].startswith(stamp)


def test_tail_no_follow_kind_filter_and_zero_lines(db: Path) -> None:
    out = io.StringIO()
    assert run_tail(db, kinds=["log"], lines=20, follow=False, out=out) == 0
    assert [line.split()[2] for line in out.getvalue().splitlines()] == ["log", "log"]
    out = io.StringIO()
    assert run_tail(db, lines=0, follow=False, out=out) == 0
    assert out.getvalue() == ""


def test_tail_no_follow_without_a_database_exits_1(tmp_path: Path) -> None:
    err = io.StringIO()
    missing = tmp_path / "telemetry.sqlite3"
    assert run_tail(missing, follow=False, out=io.StringIO(), err=err) == 1
    assert err.getvalue().strip() == f"no events recorded yet at {missing}"
    assert not missing.exists()


def test_follow_polls_page_through_a_backlog_and_survive_an_id_restart(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """White box: the poll step `tail` repeats while following."""
    from clawtop.commands import events_cmd
    from core.telemetry.database import connect_readonly

    monkeypatch.setattr(events_cmd, "POLL_BATCH", 3)
    conn = connect_readonly(db)
    try:
        out, err = io.StringIO(), io.StringIO()
        last = events_cmd._print_new(conn, None, 0, out, err)
        assert last == 3  # a full page: continue right after it, not at max(id)
        last = events_cmd._print_new(conn, None, last, out, err)
        assert last == 4
        assert events_cmd._print_new(conn, None, last, out, err) == 4
        assert len(out.getvalue().splitlines()) == 4 and err.getvalue() == ""

        # The table now ends below what we saw (emptied by retention, or replaced): restart.
        out = io.StringIO()
        assert events_cmd._print_new(conn, ["log"], 99, out, err) == 4
        assert [line.split()[2] for line in out.getvalue().splitlines()] == ["log", "log"]
        assert "ids restarted" in err.getvalue()
    finally:
        conn.close()


def test_format_line() -> None:
    event = StoredEvent(id=1, kind="log", wall=0.0, mono=1.0, payload={"a": "é", "b": [1]})
    stamp = dt.datetime.fromtimestamp(0.0).strftime("%Y-%m-%d %H:%M:%S")
    assert format_line(event) == f'{stamp}.000  log              {{"a":"é","b":[1]}}'


def test_cli_tail_no_follow_reads_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through clawtop.cli and the config loader: the default db lives in the state dir."""
    from clawtop.cli import main

    state = tmp_path / "state"
    monkeypatch.setenv("CLAWTOP_STATE_DIR", str(state))
    assert main(["events", "tail", "--no-follow"]) == 1
    assert "no events recorded yet" in capsys.readouterr().err
    record(state / "telemetry.sqlite3", sample_events())
    assert main(["events", "tail", "--no-follow", "-n", "1", "--kind", "gateway.started"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "gateway.started" in out[0]


def test_cli_events_without_a_subcommand_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from clawtop.cli import main

    assert main(["events"]) == 2
    assert "tail" in capsys.readouterr().err


# -- as a real process ------------------------------------------------------------------------


def cli_env(state: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CLAWTOP_STATE_DIR"] = str(state)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def test_tail_follows_another_process_and_exits_0_on_ctrl_c(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "clawtop", "events", "tail", "--interval", "0.05",
        cwd=ROOT, env=cli_env(state),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        waiting = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert b"no events recorded yet" in waiting  # the file does not exist: it waits

        store, bus = await open_attached(state / "telemetry.sqlite3", flush_interval_ms=10)
        try:
            for i in range(3):
                bus.publish(LogMessage(level="info", message=f"live {i}"))
            lines = [await asyncio.wait_for(proc.stdout.readline(), 30) for _ in range(3)]
            assert [b"live %d" % i in line for i, line in enumerate(lines)] == [True] * 3
            bus.publish(LogMessage(level="info", message="later"))
            assert b"later" in await asyncio.wait_for(proc.stdout.readline(), 30)
        finally:
            await store.close()

        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert await proc.stdout.read() == b""  # nothing repeated, nothing pending
        assert b"Traceback" not in await proc.stderr.read()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_cli_export_csv_since_as_a_process(tmp_path: Path) -> None:
    import subprocess

    state = tmp_path / "state"
    record(state / "telemetry.sqlite3", sample_events())
    result = subprocess.run(
        [sys.executable, "-m", "clawtop", "events", "export", "--format", "csv", "--since", "1h"],
        cwd=ROOT, env=cli_env(state), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(CSV_HEADER)
    assert [r[2] for r in rows[1:]] == ["config.reloaded", "log"]

    bad = subprocess.run(
        [sys.executable, "-m", "clawtop", "events", "export", "--since", "yesterday"],
        cwd=ROOT, env=cli_env(state), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--since" in bad.stderr
