"""Concurrent turns on one session, as separate ``clawtop send`` processes (issue #13, part 1).

Each ``send`` is its own gateway: before the turn lock, two of them read the same leaf of the
transcript and both appended under it, so the tree forked and acknowledged turns fell off the
active branch (10 concurrent sends kept 7 visible); two of them on a fresh state dir each created
a session under ``main`` (one orphaned, ``SessionNotFound`` for the other). A gateway whose
telemetry database another one holds locked must wait, not crash.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.sessions.locks import turn_lock, turn_lock_path
from tests.reliability.state_support import (
    assert_no_traceback,
    branch_user_texts,
    config_path,
    run,
    sessions_dir,
    start,
)

CONCURRENT = 8
SLOW = "{ simulator: { models: { fast: { ttftMs: 300, tokensPerSec: 2000, replyTokens: 12 } } } }"
"""Turns long enough to overlap when the processes run at once (the failure needs an overlap)."""


def test_concurrent_sends_on_a_fresh_state_dir_keep_every_turn_on_the_active_branch(tmp_path: Path) -> None:
    config_path(tmp_path, SLOW)
    procs = [start(tmp_path, "send", "--session", "main", f"msg {n}") for n in range(CONCURRENT)]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    for proc, out, err in results:
        assert proc.returncode == 0, err
        assert "Traceback" not in err and out.strip(), err
    texts = branch_user_texts(tmp_path)
    assert sorted(texts) == sorted(f"msg {n}" for n in range(CONCURRENT))  # all of them, each once
    # One session for the key: nothing orphaned by a creation race.
    directory = sessions_dir(tmp_path / "state")
    assert len(list(directory.glob("*.jsonl"))) == 1
    index = json.loads((directory / "sessions.json").read_text())
    assert list(index) == ["main"]
    # Some serial order: every user message is answered before the next one is asked.
    show = run(tmp_path, "sessions", "show", index["main"]["sessionId"], "--json")
    roles = [e["message"]["role"] for e in json.loads(show.stdout)["branch"] if e.get("type") == "message"]
    assert roles == ["user", "assistant"] * CONCURRENT


def test_a_gateway_waits_for_a_new_telemetry_database_another_one_is_creating(tmp_path: Path) -> None:
    # Two gateways starting on a fresh state dir: while the first one creates the database (a
    # write transaction in rollback-journal mode), the second one's switch to WAL fails at once
    # with "database is locked" -- SQLite does not call the busy handler for it.
    db = tmp_path / "state" / "telemetry.sqlite3"
    db.parent.mkdir(parents=True)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE first_gateway_migrating (x)")
    release = threading.Timer(3.0, holder.execute, args=("COMMIT",))
    release.start()
    try:
        result = run(tmp_path, "send", "hello")
    finally:
        release.join()
        holder.close()
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        kinds = {row[0] for row in conn.execute("SELECT kind FROM events")}
    assert {"gateway.started", "chat.turn_finished", "gateway.stopped"} <= kinds
    assert not list(db.parent.glob("*.damaged-*"))  # a locked file is not a damaged one


HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_the_turn_lock_waits_for_another_process_and_a_cancelled_waiter_leaks_nothing(tmp_path: Path) -> None:
    path = turn_lock_path(tmp_path, "main")
    path.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "1.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"

    async def scenario() -> float:
        cancelled = asyncio.ensure_future(_enter(path))
        await asyncio.sleep(0.3)
        assert not cancelled.done()  # another process holds it
        cancelled.cancel()
        started = time.monotonic()
        async with asyncio.timeout(10), turn_lock(path):  # obtained once the holder exits
            return time.monotonic() - started

    try:
        waited = asyncio.run(scenario())
    finally:
        holder.wait(timeout=10)
    assert waited >= 0.8  # it really waited for the other process


async def _enter(path: Path) -> None:
    async with turn_lock(path):
        pass
