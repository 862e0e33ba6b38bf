"""Compaction and sandbox-limit previews on real data: a session in a state directory, container
stats stored in a real SQLite event store; and which sections a change reaches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.compaction.trigger import check_threshold
from core.config.loader import LoadedConfig, load_config
from core.config.schema import ClawtopConfig
from core.sandbox.events import SandboxStats
from core.sessions.messages import AgentMessage
from core.sessions.model import MessageEntry, Session
from core.sessions.store import SessionStore
from core.sessions.transcript import write_transcript
from core.telemetry.records import StoredEvent
from core.telemetry.store import EventStore
from core.tuning import changes_from, propose
from core.tuning.preview import PreviewSources, area_of, preview, preview_changes
from core.tuning.preview.sandbox import preview_sandbox
from tests.telemetry_support import record_events

MIB = 2**20


def _loaded(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "config.json5"
    path.write_text("{}\n", encoding="utf-8")
    return load_config(path)


def _store_session(state: Path, tmp_path: Path, usage: dict[str, int] | None) -> str:
    session = Session.new("5d7e9f00-0000-4000-8000-0000000000c1")
    reply: dict[str, Any] = {"role": "assistant", "provider": "sim", "model": "fast",
                             "content": [{"type": "text", "text": "ok"}]}
    if usage is not None:
        reply["usage"] = usage
    for m in ({"role": "user", "content": [{"type": "text", "text": "x" * 4000}]}, reply):
        session.add(MessageEntry(AgentMessage.from_json(m)))
    source = tmp_path / "in.jsonl"
    write_transcript(source, session)
    return SessionStore(state).import_file(source)


async def test_compaction_threshold_distance_and_next_turn(tmp_path: Path) -> None:
    state = tmp_path / "state"
    sid = _store_session(state, tmp_path, {"input": 150_000, "output": 300, "cacheRead": 0, "cacheWrite": 0})
    loaded = _loaded(tmp_path)
    changes = changes_from({"agents.defaults.compaction.reserveTokens": 60_000,
                            "agents.defaults.compaction.memoryFlush.softThresholdTokens": 40_000})
    result = await preview_changes(loaded, changes, PreviewSources.for_state_dir(state, session=sid))
    c = result.compaction
    assert c is not None and result.session_id == sid and result.pruning is None
    assert (c.context_tokens, c.window_tokens, c.model_ref) == (150_300, 200_000, "sim/fast")
    assert c.tokens_source.startswith("last turn")
    assert (c.current.limit, c.current.remaining, c.current.compacts) == (180_000, 29_700, False)
    assert (c.candidate.limit, c.candidate.remaining, c.candidate.compacts) == (140_000, -10_300, True)
    candidate = propose(loaded, changes).candidate
    assert candidate is not None
    assert check_threshold(150_300, 200_000, candidate.agents.defaults.compaction).compact  # the same math
    assert (c.current.flush_threshold, c.current.flushes) == (176_000, False)
    assert (c.candidate.flush_threshold, c.candidate.flushes, c.candidate.flush_reason) == (140_000, True, "threshold")
    text = "\n".join(c.lines())
    assert "crossed by 10,300" in text and "29,700 left" in text

    off = await preview_changes(loaded, changes_from({"agents.defaults.compaction.enabled": False}),
                                PreviewSources.for_state_dir(state, session=sid))
    assert off.compaction is not None and not off.compaction.candidate.compacts
    assert "(proactive compaction disabled)" in "\n".join(off.lines())


async def test_compaction_before_any_turn_estimates(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _store_session(state, tmp_path, None)
    result = await preview_changes(_loaded(tmp_path), changes_from({"agents.defaults.compaction.reserveTokens": 1000}),
                                   PreviewSources.for_state_dir(state))
    assert result.compaction is not None and result.compaction.tokens_source.startswith("estimated")
    assert 1000 <= result.compaction.context_tokens <= 1100


def _stats(name: str, memory_mib: int, cpu: float, pids: int, *, stale: bool = False) -> SandboxStats:
    return SandboxStats(name=name, cpu_percent=cpu, memory_bytes=memory_mib * MIB, memory_limit_bytes=2**30,
                        pids=pids, pids_limit=256, stale=stale)


async def _stored(path: Path) -> tuple[EventStore, Any]:
    await record_events(path, [
        _stats("sbx-a", 300, 20.0, 12), _stats("sbx-a", 610, 180.0, 40), _stats("sbx-a", 700, 90.0, 41),
        _stats("sbx-a", 4000, 999.0, 999, stale=True),  # a stale sample repeats old figures: ignored
        _stats("sbx-b", 100, 5.0, 3),
    ])
    store = EventStore(path, retention_days=None, retention_rows=None)
    await store.open()

    async def query(kinds: Sequence[str], *, limit: int, newest_first: bool = True) -> list[StoredEvent]:
        return await store.query(kinds=list(kinds), limit=limit, newest_first=newest_first)

    return store, query


async def test_sandbox_peaks_against_candidate_limits(tmp_path: Path) -> None:
    store, query = await _stored(tmp_path / "events.sqlite3")
    try:
        loaded = _loaded(tmp_path)
        current = loaded.config
        changes = changes_from({"agents.defaults.sandbox.docker.memory": "512m",
                                "agents.defaults.sandbox.docker.cpus": 0.5,
                                "agents.defaults.sandbox.docker.pidsLimit": 32})
        result = await preview_changes(loaded, changes, PreviewSources(query_events=query))
        s = result.sandbox
        assert s is not None and [c.name for c in s.containers] == ["sbx-a", "sbx-b"]
        a = s.containers[0]
        assert a.samples == 3
        rows = {e.payload["memory_bytes"]: e.wall for e in await query(["sandbox.stats"], limit=10)}
        oom_at = time.strftime("%H:%M:%S", time.localtime(rows[610 * MIB]))
        cur = {v.resource: v for v in a.current}
        cand = {v.resource: v for v in a.candidate}
        assert not cur["memory"].crossed and cur["cpus"].crossed and not cur["pids"].crossed
        assert cand["memory"].text == f"memory peak 700 MiB > 512 MiB: would have been OOM-killed at {oom_at}"
        assert cand["cpus"].crossed
        assert "cpu peak 180 % > 0.5 cpus (50 %): would have been throttled" in cand["cpus"].text
        assert cand["pids"].crossed and cand["pids"].text.startswith("pids peak 41 ≥ pidsLimit 32")
        assert not any(v.crossed for v in s.containers[1].candidate)

        swap = await preview_changes(loaded, changes_from({"agents.defaults.sandbox.docker.memory": "512m",
                                                           "agents.defaults.sandbox.docker.memorySwap": "1g"}),
                                     PreviewSources(query_events=query))
        assert swap.sandbox is not None
        text = "\n".join(swap.lines())
        assert "memory peak 700 MiB > 512 MiB: would have swapped from" in text and "memorySwap 1024 MiB" in text

        stats = await query(["sandbox.stats"], limit=10)
        candidate = propose(loaded, changes).candidate
        assert candidate is not None
        later = preview_sandbox(current, candidate, stats, time.time() + 7200)
        assert later.containers == () and "no container stats recorded" in "\n".join(later.lines())
    finally:
        await store.close()


def test_areas_of_paths() -> None:
    assert area_of("agents.defaults.contextPruning.softTrim.maxChars") == "pruning"
    assert area_of("agents.defaults.compaction.reserveTokens") == "compaction"
    assert area_of("agents.defaults.sandbox.docker.memorySwap") == "sandbox"
    assert area_of("agents.defaults.sandbox.docker.image") is None
    assert area_of("retry.provider.attempts") == area_of("models.providers.x.retry.attempts") == "retry"
    assert area_of("channels.telegram.retry.minDelayMs") == "retry"
    assert area_of("channels.discord.accounts.a.retry.jitter") == "retry"
    assert area_of("models.providers.x.timeoutMs") is None and area_of("gateway.port") is None


async def test_invalid_candidate_gives_errors_only_and_nothing_is_read(tmp_path: Path) -> None:
    result = await preview_changes(_loaded(tmp_path), changes_from({"agents.defaults.contextPruning.softTrimRatio": 7}),
                                   PreviewSources.for_state_dir(tmp_path / "none"))
    assert result.sections() == [] and list(result.errors) == ["agents.defaults.contextPruning.softTrimRatio"]
    assert result.lines()[0].startswith("invalid: agents.defaults.contextPruning.softTrimRatio: ")
    empty = await preview(ClawtopConfig(), ClawtopConfig(), ["agents.defaults.contextPruning.ttl"],
                          PreviewSources.for_state_dir(tmp_path / "none"))
    assert empty.pruning is None and any("no session" in n for n in empty.notes)
