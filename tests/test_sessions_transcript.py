"""Transcript files: torn lines skipped with a warning event, durable appends survive SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from core.events.base import Event
from core.sessions.events import TornLineSkipped
from core.sessions.messages import AgentMessage
from core.sessions.model import MessageEntry, Session
from core.sessions.transcript import (
    TranscriptWriter,
    dump_line,
    read_transcript,
    write_transcript,
)
from tests.test_sessions_model import OPENCLAW_TRANSCRIPT

ROOT = Path(__file__).resolve().parents[1]


def _events(events: list[Event]) -> list[TornLineSkipped]:
    return [e for e in events if isinstance(e, TornLineSkipped)]


def test_torn_last_line_is_skipped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(OPENCLAW_TRANSCRIPT + '{"type":"message","id":"e10","parentId":"e9","mes')
    events: list[Event] = []
    session = read_transcript(path, publish=events.append)
    assert session.leaf_id == "e9" and len(session.entries) == 11
    (torn,) = _events(events)
    assert torn.last and torn.line_no == 13 and torn.offset == len(OPENCLAW_TRANSCRIPT.encode())


def test_bad_middle_line_is_skipped_and_flagged_not_last(tmp_path: Path) -> None:
    lines = OPENCLAW_TRANSCRIPT.splitlines()
    lines.insert(3, '{"type":"message","id":"zz"')
    lines.insert(5, "[1, 2]")
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    events: list[Event] = []
    session = read_transcript(path, publish=events.append)
    assert len(session.entries) == 11
    assert [(e.line_no, e.last) for e in _events(events)] == [(4, False), (6, False)]


@pytest.mark.parametrize("content", ["", '{"type":"sess'])
def test_empty_or_torn_header_still_opens(tmp_path: Path, content: str) -> None:
    path = tmp_path / "abc-1.jsonl"
    path.write_text(content)
    session = read_transcript(path, publish=lambda e: None)
    assert session.id == "abc-1" and session.entries == []


def test_append_after_torn_tail_cuts_the_fragment(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(OPENCLAW_TRANSCRIPT + '{"type":"mess')
    entry = MessageEntry(AgentMessage.user("after"), id="n1", parent_id="e9")
    with TranscriptWriter(path) as writer:
        writer.append(entry)
    events: list[Event] = []
    session = read_transcript(path, publish=events.append)
    assert events == [] and session.leaf_id == "n1"
    assert path.read_bytes() == OPENCLAW_TRANSCRIPT.encode() + dump_line(entry.raw)


def test_append_after_complete_unterminated_line_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(OPENCLAW_TRANSCRIPT.rstrip("\n"))
    with TranscriptWriter(path) as writer:
        writer.append(MessageEntry(AgentMessage.user("x"), id="n1", parent_id="e9"))
    session = read_transcript(path)
    assert [e.id for e in session.entries][-2:] == ["e9", "n1"]


def test_batch_policy_shares_fsyncs_between_concurrent_appenders(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    write_transcript(path, Session.new("s"))
    writer = TranscriptWriter(path, fsync="batch")
    threads = [threading.Thread(target=lambda i=i: [
        writer.append(MessageEntry(AgentMessage.user(f"{i}-{k}"), id=f"{i}-{k}", parent_id=None))
        for k in range(25)]) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert len(read_transcript(path).entries) == 200
    assert 1 <= writer.fsyncs <= 200


_CHILD = textwrap.dedent("""
    import sys
    from core.sessions.messages import AgentMessage
    from core.sessions.model import MessageEntry
    from core.sessions.store import SessionStore
    store = SessionStore(sys.argv[1], fsync=sys.argv[2])
    session = store.create()
    print("S", session.id, flush=True)
    i = 0
    while True:
        entry_id = store.append(session.id, MessageEntry(AgentMessage.user("m%d " % i * 50)))
        print("A", entry_id, flush=True)  # acknowledged: append() returned
        i += 1
""")


@pytest.mark.parametrize("policy", ["always", "batch"])
def test_every_acknowledged_entry_survives_sigkill(tmp_path: Path, policy: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), policy],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    session_id = proc.stdout.readline().split()[1]
    acked: list[str] = []
    while len(acked) < 150:
        acked.append(proc.stdout.readline().split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acked.extend(line.split()[1] for line in proc.stdout.read().splitlines() if line)
    path = tmp_path / "agents" / "main" / "sessions" / f"{session_id}.jsonl"
    events: list[Event] = []
    on_disk = [e.id for e in read_transcript(path, publish=events.append).entries]
    assert on_disk[: len(acked)] == acked
    assert all(e.last for e in _events(events))  # at most a torn tail, never damage inside
