"""Bench: load a 50 MB OpenClaw-format transcript (contract: ≤ 1 s, memory ≤ 2× file size).

The generated transcript mimics a long tool-heavy agent session: user prompts, assistant turns
with thinking, text and toolCall blocks and a full ``usage`` object, tool results from a few
hundred bytes to tens of KiB (file reads, command output), cache-ttl custom entries and a
compaction. Load time is the median of ``--runs`` cold parses (the file itself is in the page
cache, as it is for the gateway's second open); memory is the tracemalloc size retained by the
loaded :class:`Session`, measured in a separate pass because tracing slows parsing.

Run: ``.venv/bin/python -m bench.sessions_load [--mb 50] [--runs 5] [--json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from core.sessions.messages import AgentMessage
from core.sessions.model import CompactionEntry, CustomEntry, Entry, MessageEntry, Session
from core.sessions.transcript import dump_line, read_transcript

_WORDS = ("the quick brown fox jumps over a lazy dog while compiling tests for session "
          "transcripts and context pruning budgets cache ttl tokens").split()


def _text(rng: random.Random, n_chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < n_chars:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words)


def generate(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write a transcript of about ``target_bytes``; returns the number of entries."""
    rng = random.Random(seed)
    session = Session.new("bench-session", cwd="/home/user/project")
    count = 0
    with open(path, "wb") as fh:
        size = fh.write(dump_line(session.header.raw))
        while size < target_bytes:
            turn: list[Entry] = [MessageEntry(AgentMessage.user(_text(rng, rng.randint(40, 600))))]
            for _ in range(rng.randint(1, 6)):
                call_id = f"toolu_{rng.getrandbits(64):016x}"
                turn.append(MessageEntry(AgentMessage.assistant(
                    [{"type": "thinking", "thinking": _text(rng, rng.randint(100, 1500))},
                     {"type": "text", "text": _text(rng, rng.randint(20, 400))},
                     {"type": "toolCall", "id": call_id, "name": rng.choice(("read", "exec")),
                      "arguments": {"path": f"src/mod_{rng.randint(0, 99)}.py"}}],
                    provider="anthropic", model="claude-sonnet-4-5", api="anthropic-messages",
                    usage={"input": rng.randint(10, 5000), "output": rng.randint(10, 2000),
                           "cacheRead": rng.randint(0, 90000), "cacheWrite": rng.randint(0, 9000),
                           "totalTokens": rng.randint(1000, 100000),
                           "cost": {"input": 0.01, "output": 0.02, "cacheRead": 0.003,
                                    "cacheWrite": 0.004, "total": 0.037}},
                    stop_reason="toolUse")))
                turn.append(MessageEntry(AgentMessage.tool_result(
                    call_id, "read", _text(rng, int(rng.lognormvariate(8.0, 1.0)) + 200))))
            turn.append(MessageEntry(AgentMessage.assistant(
                [{"type": "text", "text": _text(rng, rng.randint(50, 800))}],
                provider="anthropic", model="claude-sonnet-4-5", stop_reason="stop")))
            turn.append(CustomEntry("openclaw.cache-ttl", {"timestamp": 1, "provider": "anthropic",
                                                           "modelId": "claude-sonnet-4-5"}))
            if count and count % 2000 < len(turn):
                first = session.leaf_id or ""
                turn.append(CompactionEntry(_text(rng, 3000), first, 150000,
                                            {"readFiles": [], "modifiedFiles": []}))
            for entry in turn:
                session.add(entry)
                size += fh.write(dump_line(entry.raw))
                count += 1
            session.entries.clear()  # keep the generator's own memory flat
            session.by_id = {session.leaf_id: entry} if session.leaf_id else {}
    return count


def measure(path: Path, runs: int) -> dict[str, float]:
    file_size = path.stat().st_size
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        session = read_transcript(path)
        times.append(time.perf_counter() - start)
        del session
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    session = read_transcript(path)
    retained = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    branch_start = time.perf_counter()
    context = session.messages()
    branch_s = time.perf_counter() - branch_start
    return {
        "file_mb": file_size / 1e6,
        "entries": len(session.entries),
        "load_median_s": statistics.median(times),
        "load_min_s": min(times),
        "retained_mb": retained / 1e6,
        "memory_ratio": retained / file_size,
        "messages_s": branch_s,
        "context_messages": len(context),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="transcript size (default 50)")
    parser.add_argument("--runs", type=int, default=5, help="timed loads (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-session.jsonl"
        generate(path, int(args.mb * 1e6))
        result = measure(path, args.runs)
    ok = result["load_median_s"] <= 1.0 and result["memory_ratio"] <= 2.0
    result["pass"] = ok
    if args.json:
        print(json.dumps(result))
    else:
        print(f"transcript   {result['file_mb']:.1f} MB, {result['entries']:.0f} entries")
        print(f"load         median {result['load_median_s'] * 1000:.0f} ms "
              f"(min {result['load_min_s'] * 1000:.0f} ms, {args.runs} runs)  target ≤ 1000 ms")
        print(f"memory       {result['retained_mb']:.1f} MB retained = "
              f"{result['memory_ratio']:.2f}× file size  target ≤ 2×")
        print(f"messages()   {result['messages_s'] * 1000:.0f} ms for "
              f"{result['context_messages']:.0f} context messages")
        print(f"python       {sys.version.split()[0]} on {os.uname().sysname}")
        print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
