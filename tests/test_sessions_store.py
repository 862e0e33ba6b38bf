"""SessionStore on real files, its async API, and ``clawtop sessions ls|show|import``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from clawtop.cli import main
from core.sessions.messages import AgentMessage
from core.sessions.model import CustomEntry, MessageEntry
from core.sessions.store import SessionNotFound, SessionStore
from core.sessions.transcript import read_transcript
from tests.test_sessions_model import OPENCLAW_TRANSCRIPT, write_fixture


def test_create_append_reopen_and_index(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "work", cache_ttl_ms=0)
    session = store.create("agent:work:main")
    first = store.append(session.id, MessageEntry(AgentMessage.user("hi")))
    second = store.append(session.id, CustomEntry("openclaw.cache-ttl", {"timestamp": 1}))
    path = tmp_path / "agents" / "work" / "sessions" / f"{session.id}.jsonl"
    reopened = store.open(session.id)
    assert reopened is not session  # cache disabled: read from disk
    assert [e.id for e in reopened.entries] == [first, second]
    assert reopened.by_id[second].parent_id == first
    (row,) = store.list()
    # Relative to the state dir (issue #13: a moved or copied state dir keeps working).
    assert row.key == "agent:work:main" and row.session_file == f"agents/work/sessions/{session.id}.jsonl"
    assert store.transcript_path(session.id) == path
    store.update_entry(session.id, total_tokens=1234, compaction_count=1)
    raw = json.loads((path.parent / "sessions.json").read_text())
    assert raw["agent:work:main"]["totalTokens"] == 1234
    assert raw["agent:work:main"]["sessionId"] == session.id
    with pytest.raises(SessionNotFound):
        store.open("nope")
    with pytest.raises(ValueError):
        store.open("../etc/passwd")


def test_unknown_row_keys_survive_updates(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = store.create("k")
    index = store.index_path
    data = json.loads(index.read_text())
    data["k"]["thinkingLevel"] = "high"
    index.write_text(json.dumps(data))
    store.update_entry(session.id, input_tokens=5)
    row = json.loads(index.read_text())["k"]
    assert row["thinkingLevel"] == "high" and row["inputTokens"] == 5


def test_import_keeps_content_and_id(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "state")
    sid = store.import_file(write_fixture(tmp_path))
    assert sid == "oc-7f3a"
    assert store.transcript_path(sid).read_text() == OPENCLAW_TRANSCRIPT
    row = store.find(sid)
    assert row is not None and row.compaction_count == 1 and row.total_tokens == 9205
    again = store.import_file(write_fixture(tmp_path))  # id taken: a fresh one
    assert again != sid and read_transcript(store.transcript_path(again)).header.id == again


def test_async_api(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        store = SessionStore(tmp_path)
        session = store.create()
        ids = [await store.append_async(session.id, MessageEntry(AgentMessage.user(str(i))))
               for i in range(5)]
        store.manager_cache.clear()
        loaded = await store.open_async(session.id)
        assert [e.id for e in loaded.entries] == ids
        return ids

    assert len(asyncio.run(scenario())) == 5


def test_cli_import_ls_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLAWTOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAWTOP_CONFIG", raising=False)
    torn = tmp_path / "oc-7f3a.jsonl"
    torn.write_text(OPENCLAW_TRANSCRIPT + '{"type":"mess')
    assert main(["sessions", "import", str(torn)]) == 0
    out, err = capsys.readouterr()
    assert "as session oc-7f3a" in out and "torn last line skipped" in err
    assert main(["sessions", "ls"]) == 0
    assert "oc-7f3a" in capsys.readouterr().out
    assert main(["sessions", "show", "oc-7f3a"]) == 0
    out = capsys.readouterr().out
    assert "compaction" in out and "toolResult" in out and "label" in out
    assert main(["sessions", "show", "oc-7f3a", "--context", "--json"]) == 0
    roles = [m["role"] for m in json.loads(capsys.readouterr().out)]
    assert roles[0] == "compactionSummary"
    assert main(["sessions", "show", "missing"]) == 1
