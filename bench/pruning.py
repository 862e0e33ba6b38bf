"""Pruning benchmark: one cache-TTL pruning pass over a large generated session.

Run: ``.venv/bin/python bench/pruning.py [--runs R] [--json]``

Session: 2,000 messages — one user message, 600 tool calls each followed by a 50,000-char tool
result (30 MB of results), then user/assistant text pairs up to 2,000. Three variants: ASCII
results (the target), every 10th result CJK (the regex path of the CJK weighting), and per-message
estimates passed in by the caller (what the agent loop does with ``core.context.HistoryEstimator``).
What is timed: ``core.pruning.prune`` with the TTL expired, default settings (``mode: cache-ttl``)
and a 200,000-token window — so the full docs/design/pruning.md#the-pruning-algorithm algorithm runs: char estimate of
every message, soft trim of every prunable result, hard clear oldest first, decision and cost estimate. Building the
session is not timed. Target: median ≤ 50 ms.

If ``core.context`` exists, also: re-estimating the context after appending one message to a
10,000-message session (``HistoryEstimator.update``), median ≤ 1 ms.
Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config.schema.pruning import ContextPruningConfig
from core.pruning import prune, settings_from_config

TARGET_PRUNE_MS = 50.0
TARGET_REESTIMATE_MS = 1.0
RESULT_CHARS = 50_000


def build_session(messages: int = 2000, results: int = 600, cjk_every: int = 0) -> list[dict[str, Any]]:
    ascii_body = ("line of tool output 0123456789 " * (RESULT_CHARS // 31 + 1))[:RESULT_CHARS]
    cjk_body = ("日本語の出力 output " * (RESULT_CHARS // 14 + 1))[:RESULT_CHARS]
    out: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "start"}]}]
    for i in range(results):
        out.append({"role": "assistant", "content": [{"type": "toolCall", "id": f"c{i}", "name": "exec",
                                                      "arguments": {"cmd": f"cat file{i}"}}]})
        out.append({"role": "toolResult", "toolCallId": f"c{i}", "toolName": "exec", "isError": False,
                    "content": [{"type": "text",
                                 "text": cjk_body if cjk_every and i % cjk_every == 0 else ascii_body}]})
    while len(out) < messages:
        role = "user" if len(out) % 2 else "assistant"
        out.append({"role": role, "content": [{"type": "text", "text": f"{role} message {len(out)}"}]})
    return out


def bench_prune(runs: int, *, cjk_every: int = 0, with_estimates: bool = False) -> dict[str, Any]:
    """Median of ``runs`` passes. ``with_estimates``: the caller passes per-message estimates it
    maintains (the agent loop's steady state), so the pass does not rescan the 30 MB."""
    from core.pruning.estimate import estimate_total_chars

    session = build_session(cjk_every=cjk_every)
    settings = settings_from_config(ContextPruningConfig(mode="cache-ttl"))
    estimates = estimate_total_chars(session) if with_estimates else None
    times: list[float] = []
    result = None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = prune(session, settings=settings, context_window_tokens=200_000, now_ms=10_000_000,
                       last_cache_touch_ms=0, estimates=estimates)
        times.append(time.perf_counter() - start)
    assert result is not None and not result.decision.skipped
    d = result.decision
    return {
        "messages": len(session),
        "tool_result_mb": sum(len(m["content"][0]["text"]) for m in session if m["role"] == "toolResult") / 1e6,
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "soft_trimmed": sum(t["action"] == "soft_trim" for t in d.touched),
        "hard_cleared": sum(t["action"] == "hard_clear" for t in d.touched),
        "ratio_before": d.ratio_before,
        "ratio_after": d.ratio_after,
    }


def bench_reestimate(runs: int) -> dict[str, Any] | None:
    try:
        from core.context import HistoryEstimator
    except ImportError:
        return None
    base = [{"role": "user" if i % 2 == 0 else "assistant",
             "content": [{"type": "text", "text": f"message {i} " + "x" * 200}]} for i in range(10_000)]
    times: list[float] = []
    for r in range(runs):
        estimator = HistoryEstimator()
        estimator.update(base)
        grown = [*base, {"role": "user", "content": [{"type": "text", "text": f"new {r}"}]}]
        start = time.perf_counter()
        estimator.update(grown)
        times.append(time.perf_counter() - start)
    return {"reestimate_median_ms": statistics.median(times) * 1000, "reestimate_max_ms": max(times) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs (default 21)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "cold_ascii": bench_prune(args.runs),
        "cold_cjk10": bench_prune(args.runs, cjk_every=10),
        "with_estimates": bench_prune(args.runs, with_estimates=True),
        "reestimate": bench_reestimate(args.runs),
    }
    ok = result["cold_ascii"]["median_ms"] <= TARGET_PRUNE_MS and (
        result["reestimate"] is None or result["reestimate"]["reestimate_median_ms"] <= TARGET_REESTIMATE_MS)
    if args.json:
        print(json.dumps(result))
    else:
        first = result["cold_ascii"]
        print(f"session      {first['messages']} messages, {first['tool_result_mb']:.1f} MB of tool results; "
              f"{first['soft_trimmed']} soft-trimmed, {first['hard_cleared']} hard-cleared, "
              f"ratio {first['ratio_before']:.2f} → {first['ratio_after']:.2f}")
        labels = {"cold_ascii": "prune, ASCII results (target ≤ 50 ms)",
                  "cold_cjk10": "prune, every 10th result CJK",
                  "with_estimates": "prune, caller-maintained estimates"}
        for key, label in labels.items():
            r = result[key]
            print(f"{label:<42} median {r['median_ms']:7.1f} ms  (min {r['min_ms']:.1f})")
        if result["reestimate"] is not None:
            r = result["reestimate"]
            print(f"{'re-estimate 10,000 + 1 (target ≤ 1 ms)':<42} median {r['reestimate_median_ms']:7.3f} ms  "
                  f"(max {r['reestimate_max_ms']:.3f})")
        print(f"python       {sys.version.split()[0]} on {os.uname().sysname}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
