"""Tuning-preview benchmark: how long each what-if preview takes on a 1,000-message session.

Run: ``.venv/bin/python bench/tuning_preview.py [--runs R] [--json]``

Setup (not timed): a state directory with one session of 1,000 messages — a user message, then
tool calls each followed by a 4,000-char result, then user/assistant pairs — and a real SQLite
event store holding 50 retried operations (3 attempts each: 429, 503, ok) and an hour of
``sandbox.stats`` samples for 3 containers (1 per 2 s). What is timed: ``core.tuning.preview.preview``
for a change in one area at a time, end to end as the gateway runs it (session lookup through the
session store's cache, store queries, the worker-thread hops):

* pruning: ``contextPruning.ttl`` 5m → 10s — four pruner runs (current/candidate × now/expired);
* compaction: ``compaction.reserveTokens``;
* retry: ``retry.provider.attempts`` 4 → 6 — the schedule and the replay of the last 5 operations;
* sandbox: ``sandbox.docker.memory`` 1g → 512m — peaks of 5,000 stored samples.

The first run of each section (cold: the transcript parsed from disk) is reported next to the
median of the rest. Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config.loader import load_config
from core.events import EventBus
from core.retry.events import AttemptOutcome, RetryAttempt, RetryOperationFinished
from core.sandbox.events import SandboxStats
from core.sessions.messages import AgentMessage
from core.sessions.model import CustomEntry, MessageEntry, Session
from core.sessions.store import SessionStore
from core.sessions.transcript import write_transcript
from core.telemetry.store import EventStore
from core.tuning import changes_from, propose
from core.tuning.preview import PreviewSources, QueryEvents, preview

MESSAGES = 1_000
RESULT_CHARS = 4_000
SECTIONS: dict[str, dict[str, Any]] = {
    "pruning": {"agents.defaults.contextPruning.ttl": "10s"},
    "compaction": {"agents.defaults.compaction.reserveTokens": 30_000},
    "retry": {"retry.provider.attempts": 6},
    "sandbox": {"agents.defaults.sandbox.docker.memory": "512m"},
}


def _messages(now_ms: int) -> Session:
    session = Session.new("7b0c3d10-0000-4000-8000-00000000b001")
    raw: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "go"}]}]
    i = 0
    while len(raw) < MESSAGES - 6:
        raw.append({"role": "assistant", "provider": "sim", "model": "fast",
                    "content": [{"type": "toolCall", "id": f"t{i}", "name": "exec", "arguments": {"cmd": "ls"}}]})
        raw.append({"role": "toolResult", "toolCallId": f"t{i}", "toolName": "exec", "isError": False,
                    "content": [{"type": "text", "text": f"{i:05d}" + "x" * (RESULT_CHARS - 5)}]})
        i += 1
    for j in range(3):
        raw.append({"role": "user", "content": [{"type": "text", "text": f"more {j}"}]})
        raw.append({"role": "assistant", "provider": "sim", "model": "fast",
                    "content": [{"type": "text", "text": f"reply {j}"}],
                    "usage": {"input": 150_000, "output": 300, "cacheRead": 0, "cacheWrite": 0}})
    for m in raw:
        session.add(MessageEntry(AgentMessage.from_json(m)))
    session.add(CustomEntry("openclaw.cache-ttl", {"timestamp": now_ms - 60_000, "provider": "sim", "modelId": "fast"}))
    return session


STEPS: list[tuple[int | None, str | None, AttemptOutcome, int | None]] = [
    (429, "rate_limit", "retry", 1000), (503, "server", "retry", None), (None, None, "ok", None)]


def _events(now: float) -> list[Any]:
    out: list[Any] = []
    for n in range(50):
        op = f"op{n:04d}"
        base = now - 3000 + n
        for a, (status, cls, outcome, ra) in enumerate(STEPS, 1):
            out.append(RetryAttempt(
                op_id=op, operation="chat.send", provider="sim", model="fast", attempt=a, max_attempts=4,
                idempotent=True, outcome=outcome, error_class=cls, reason=cls, status=status,
                planned_delay_ms=1000 if outcome == "retry" else 0, slept_ms=0 if a == 1 else 1000,
                retry_after_ms=ra, retry_after_raw=None, retry_after_source=None,
                decision_reason="retry" if outcome == "retry" else "done", policy="", start=base, end=base + 0.05,
                duration_ms=50, budget_tokens=None, deadline_remaining_ms=None))
        out.append(RetryOperationFinished(op_id=op, operation="chat.send", provider="sim", outcome="ok", attempts=3,
                                          total_ms=2150, decision_reason="done"))
    for k in range(1800):
        for c in range(3):
            out.append(SandboxStats(name=f"clawtop-sbx-{c}", cpu_percent=40.0 + (k % 50), memory_bytes=(300 + k % 400)
                                    * 2**20, memory_limit_bytes=2**30, pids=10 + k % 20, pids_limit=256))
    return out


async def _setup(root: Path) -> tuple[Path, str, QueryEvents, EventStore]:
    now = time.time()
    state = root / "state"
    source = root / "in.jsonl"
    write_transcript(source, _messages(int(now * 1000)))
    store = SessionStore(state)
    sid = store.import_file(source)
    events = EventStore(state / "telemetry.sqlite3", retention_days=None, retention_rows=None)
    await events.open()
    bus = EventBus()
    batch = _events(now)
    events.attach(bus, queue_size=len(batch) + 1)
    for e in batch:
        bus.publish(e)
    await events.flush()

    async def query(kinds: Any, *, limit: int, newest_first: bool = True) -> Any:
        return await events.query(kinds=list(kinds), limit=limit, newest_first=newest_first)

    return state, sid, query, events


async def _bench(runs: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state, sid, query, events = await _setup(Path(tmp))
        config = Path(tmp) / "config.json5"
        config.write_text("{}\n", encoding="utf-8")
        loaded = load_config(config)
        current = loaded.config
        try:
            for name, changes in SECTIONS.items():
                candidate = propose(loaded, changes_from(changes)).candidate
                assert candidate is not None, name
                times = []
                # A fresh session store per section, so its first run parses the transcript (cold).
                sources = PreviewSources.for_state_dir(state, session=sid, query_events=query)
                for _ in range(runs):
                    start = time.perf_counter()
                    result = await preview(current, candidate, list(changes), sources)
                    times.append((time.perf_counter() - start) * 1000)
                    assert getattr(result, name) is not None, (name, result.notes)
                results[name] = {"cold_ms": round(times[0], 2), "median_ms": round(statistics.median(times[1:]), 2),
                                 "min_ms": round(min(times[1:]), 2)}
        finally:
            await events.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(_bench(max(args.runs, 2)))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"tuning previews on a {MESSAGES}-message session, {args.runs} runs each")
    for name, r in results.items():
        print(f"  {name:<11} median {r['median_ms']:8.2f} ms  (min {r['min_ms']:.2f}, "
              f"cold first run {r['cold_ms']:.2f})")


if __name__ == "__main__":
    main()
