"""Damaged or moved state (issue #13, part 3): every command keeps working and says what it did.

Real files and real ``clawtop`` subprocesses: a ``sessions.json`` that is garbage, cut short, an
array or not UTF-8; a lock file left by a dead process; a ``telemetry.sqlite3`` that is garbage,
cut short or a directory; a state dir moved or copied with the old absolute ``sessionFile``
paths in its index; ``clawtop sessions repair``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.events import Event, EventBus
from core.events.kinds import GatewayStopped
from core.sessions.events import SessionIndexRebuilt
from core.sessions.locks import holder_pid, store_lock
from core.sessions.messages import AgentMessage
from core.sessions.model import MessageEntry
from core.sessions.store import SessionStore
from core.telemetry import EventStore, StoredEvent
from tests.reliability.state_support import (
    assert_no_traceback,
    branch_user_texts,
    run,
    sessions_dir,
)

DAMAGE = {
    "garbage": b"this is not json {{{",
    "truncated": None,  # the real file cut in the middle
    "array": b'[{"sessionId": "x"}]',
    "not-utf8": b'{"main": {"sessionId": "\xff\xfe"}}',
}


def _seed(state: Path, *texts: str, key: str = "main") -> SessionStore:
    """An older session under ``other``, then one under ``key`` holding ``texts`` as user messages."""
    store = SessionStore(state, cache_ttl_ms=0, store_cache_ttl_ms=0)
    store.create("other", cwd=str(state))
    time.sleep(0.01)  # distinct mtimes: the rebuild tells the newest transcript by them
    session = store.create(key, cwd=str(state))
    for text in texts:
        store.append(session.id, MessageEntry(AgentMessage.user(text)))
    return store


def _damage(index: Path, how: str) -> None:
    data = DAMAGE[how]
    if data is None:
        text = index.read_bytes()
        data = text[: len(text) // 2]
    index.write_bytes(data)


@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_index_is_rebuilt_and_no_command_fails(tmp_path: Path, how: str) -> None:
    state = tmp_path / "state"
    store = _seed(state, "before")
    main_id = store.entries()["main"].session_id
    index = store.index_path
    for command in (["sessions", "ls"], ["context"], ["send", "--session", "main", "after"]):
        _damage(index, how)
        result = run(tmp_path, *command)
        assert_no_traceback(result)
        assert result.returncode == 0, result.stderr
        assert "damaged" in result.stderr and "rebuilt from the transcripts" in result.stderr
        rebuilt = json.loads(index.read_text())
        assert rebuilt["main"]["sessionId"] == main_id  # the conversation goes on under its key
    kept = sorted(index.parent.glob("sessions.json.damaged-*"))
    assert len(kept) == 3 and kept[0].read_bytes()[:4] == (DAMAGE[how] or b"{\n  ")[:4]
    assert branch_user_texts(tmp_path) == ["before", "after"]


def test_a_rebuild_is_an_event_and_keeps_the_other_rows(tmp_path: Path) -> None:
    events: list[Event] = []
    store = _seed(tmp_path, "hi")
    rows = store.entries()
    store.index_path.write_text("garbage")
    again = SessionStore(tmp_path, publish=events.append)
    # Garbage salvages nothing: the newest transcript gets the lost default key, the other one a
    # key of its own.
    rebuilt = {k: r.session_id for k, r in again.entries().items()}
    other = rows["other"].session_id
    assert rebuilt == {"main": rows["main"].session_id, f"agent:main:{other}": other}
    (event,) = [e for e in events if isinstance(e, SessionIndexRebuilt)]
    assert event.rows == 2 and "not JSON" in event.reason and Path(event.kept_as).read_text() == "garbage"


def test_a_truncated_index_keeps_its_complete_rows(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    rows = store.entries()
    text = store.index_path.read_bytes()
    store.index_path.write_bytes(text[: text.index(b'"main"') + 30])  # the last row (main) cut short
    again = SessionStore(tmp_path)
    assert again.entries()["other"].session_id == rows["other"].session_id  # salvaged under its own key
    assert again.entries()["main"].session_id == rows["main"].session_id


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_a_lock_left_by_a_dead_process_is_taken_over_at_once(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    lock = store.index_path.with_name("sessions.json.lock")
    lock.write_text(f"{_dead_pid()}\n")  # fresh (younger than 30 s), its holder gone
    started = time.monotonic()
    store.update_entry(store.entries()["main"].session_id, total_tokens=5)
    assert time.monotonic() - started < 2.0
    assert not lock.exists() and store.entries()["main"].total_tokens == 5


def test_a_lock_held_by_a_live_process_is_waited_for(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store.index_path.with_name("sessions.json.lock").write_text(f"{holder.pid}\n")
        with pytest.raises(TimeoutError, match=f"pid {holder.pid}"), store_lock(store.index_path, timeout_s=0.6):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_send_with_a_lock_left_by_a_dead_process(tmp_path: Path) -> None:
    store = _seed(tmp_path / "state", "before")
    store.index_path.with_name("sessions.json.lock").write_text(f"{_dead_pid()}\n")
    started = time.monotonic()
    result = run(tmp_path, "send", "after")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10.0  # the old code waited 10 s, then raised
    assert branch_user_texts(tmp_path) == ["before", "after"]


@pytest.mark.parametrize("how", ["garbage", "truncated", "directory"])
def test_a_damaged_telemetry_database_is_kept_and_replaced(tmp_path: Path, how: str) -> None:
    assert run(tmp_path, "send", "first").returncode == 0
    db = tmp_path / "state" / "telemetry.sqlite3"
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    if how == "garbage":
        db.write_bytes(b"definitely not sqlite" * 100)
    elif how == "truncated":
        db.write_bytes(db.read_bytes()[:20000])
    else:
        db.unlink()
        db.mkdir()
        (db / "inside").write_text("kept")
    result = run(tmp_path, "send", "second")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert "is damaged" in result.stderr and "started a new database" in result.stderr
    (kept,) = [p for p in db.parent.glob("telemetry.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert kept.is_dir() if how == "directory" else kept.stat().st_size > 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM events WHERE kind = 'telemetry.replaced'").fetchall()
        kinds = {row[0] for row in conn.execute("SELECT kind FROM events")}
    assert len(rows) == 1 and json.loads(rows[0][0])["kept_as"] == str(kept)
    assert {"chat.turn_finished", "gateway.stopped"} <= kinds  # the run went on recording


def test_a_database_that_cannot_be_made_falls_back_to_a_temporary_one(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database's directory should be")
    store = EventStore(blocker / "telemetry.sqlite3", flush_interval_ms=0)

    async def scenario() -> list[StoredEvent]:
        await store.open()
        bus = EventBus()
        store.attach(bus)
        bus.publish(GatewayStopped(reason="x"))
        await store.flush()
        stored = await store.query()
        await asyncio.to_thread(lambda: active_during.append(Path(stored[0].payload["active_path"]).exists()))
        await store.close()
        return stored

    active_during: list[bool] = []
    stored = asyncio.run(scenario())
    notice = stored[0]
    assert notice.kind == "telemetry.replaced" and notice.payload["kept_as"] == ""
    active = Path(notice.payload["active_path"])
    assert active != store.path and active_during == [True]
    assert [e.kind for e in stored][-1] == "gateway.stopped"
    assert not active.exists()  # removed at close
    assert blocker.read_text().startswith("a file")  # nothing of the user's was moved


def test_a_moved_or_copied_state_dir_keeps_its_sessions(tmp_path: Path) -> None:
    original = tmp_path / "a" / "state"
    store = _seed(original, "before")
    main_id = store.entries()["main"].session_id
    # An index written by an older clawtop: absolute sessionFile paths.
    data = json.loads(store.index_path.read_text())
    for row in data.values():
        row["sessionFile"] = str(original / row["sessionFile"])
    store.index_path.write_text(json.dumps(data))
    transcript = sessions_dir(original) / f"{main_id}.jsonl"
    original_bytes = transcript.read_bytes()

    copy = tmp_path / "b" / "state"
    shutil.copytree(original, copy)
    result = run(tmp_path, "send", "in the copy", state=copy)
    assert result.returncode == 0, result.stderr
    assert transcript.read_bytes() == original_bytes  # the original is untouched
    assert branch_user_texts(tmp_path, state=copy) == ["before", "in the copy"]
    assert json.loads((sessions_dir(copy) / "sessions.json").read_text())["main"]["sessionFile"] == (
        f"agents/main/sessions/{main_id}.jsonl")  # rewritten relative on its next update

    moved = tmp_path / "c" / "state"
    moved.parent.mkdir()
    os.rename(original, moved)
    result = run(tmp_path, "send", "after the move", state=moved)
    assert result.returncode == 0, result.stderr
    assert branch_user_texts(tmp_path, state=moved) == ["before", "after the move"]
    assert len(list(sessions_dir(moved).glob("*.jsonl"))) == 2  # no new session started


def test_sessions_repair_reports_what_it_fixed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = _seed(state, "hi")
    rows = store.entries()
    data = json.loads(store.index_path.read_text())
    data["main"]["sessionFile"] = str(state / data["main"]["sessionFile"])  # old absolute path
    data["gone"] = {"sessionId": "0000-gone", "sessionFile": "agents/main/sessions/0000-gone.jsonl"}
    del data["other"]  # its transcript is orphaned
    store.index_path.write_text(json.dumps(data))
    result = run(tmp_path, "sessions", "repair", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    fixes = {(f["action"], f["key"], f["sessionId"]) for f in report["fixes"]}
    other = rows["other"].session_id
    assert fixes == {("relative", "main", rows["main"].session_id), ("dropped", "gone", "0000-gone"),
                     ("added", f"agent:main:{other}", other)}
    assert report["written"] and report["rows"] == 2 and report["damaged"] is None
    again = run(tmp_path, "sessions", "repair")
    assert again.returncode == 0 and "nothing to fix" in again.stdout
    show = run(tmp_path, "sessions", "show", "main")  # a key works where an id does
    assert show.returncode == 0 and "hi" in show.stdout


def test_sessions_repair_of_a_damaged_index(tmp_path: Path) -> None:
    _seed(tmp_path / "state", "hi")
    index = sessions_dir(tmp_path / "state") / "sessions.json"
    index.write_bytes(b"\x00\x01garbage")
    result = run(tmp_path, "sessions", "repair")
    assert_no_traceback(result)
    assert result.returncode == 0
    assert "was damaged" in result.stdout and "rebuilt" in result.stdout
    assert "main" in json.loads(index.read_text())


def test_store_reads_rows_without_a_session_id_without_failing(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    data = json.loads(store.index_path.read_text())
    data |= {"bad": 5, "worse": {"sessionId": 7}, "odd": {"sessionId": "x", "updatedAt": "yesterday"}}
    store.index_path.write_text(json.dumps(data))
    again = SessionStore(tmp_path)
    assert [r.key for r in again.list()][-1] == "odd" and "bad" not in again.entries()


def test_send_reports_an_unusable_session_file_without_a_traceback(tmp_path: Path) -> None:
    index = sessions_dir(tmp_path / "state") / "sessions.json"
    index.mkdir(parents=True)  # not a file at all: nothing to rebuild into
    result = run(tmp_path, "send", "hello")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "clawtop send: session 'main':" in result.stderr and "Is a directory" in result.stderr


def test_repair_leaves_a_consistent_index_alone(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    data = json.loads(store.index_path.read_text())
    del data["other"]["sessionFile"]  # OpenClaw may leave out the default file name
    store.index_path.write_text(json.dumps(data))
    before = store.index_path.read_bytes()
    report = store.repair()
    assert report.fixes == [] and not report.written and report.rows == 2
    assert store.index_path.read_bytes() == before


def test_a_lock_file_in_another_format_falls_under_the_age_rule_only(tmp_path: Path) -> None:
    store = _seed(tmp_path, "hi")
    lock = store.index_path.with_name("sessions.json.lock")
    lock.write_text('{"owner": "openclaw"}')  # not ours to judge by pid
    old = time.time() - 10
    os.utime(lock, (old, old))
    with pytest.raises(TimeoutError), store_lock(store.index_path, timeout_s=0.5):
        pass
    os.utime(lock, (old - 30, old - 30))  # past the 30 s rule: a crashed writer's
    with store_lock(store.index_path, timeout_s=0.5):
        assert holder_pid(lock) == os.getpid()
