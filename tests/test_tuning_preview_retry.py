"""Retry preview: the schedule from the jitter math, and the replay of a real run recorded from the
simulator with the fault script ``429,503,ok`` through a running gateway's store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.config.loader import load_config
from core.config.schema import ClawtopConfig
from core.config.spans import split_path
from core.retry.policy import RetryPolicy
from core.tuning import changes_from
from core.tuning.preview import PreviewSources, preview_changes
from core.tuning.preview.retry import RetryTarget, affected_targets, schedule
from tests.tui_support import gateway_with_config

ROOT = Path(__file__).resolve().parent.parent
RECORDED = """{
  simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 20 } },
               faults: { script: "429:retry-after-ms=100,503,ok" } },
  retry: { provider: { minDelayMs: 50, maxDelayMs: 200, jitterMode: "none" } },
}
"""


def _config(changes: dict[str, Any], base: dict[str, Any] | None = None) -> ClawtopConfig:
    """A config with each dotted path set (validated by the schema)."""
    data: dict[str, Any] = dict(base or {})
    for path, value in changes.items():
        node = data
        *parents, leaf = split_path(path)
        for part in parents:
            node = node.setdefault(str(part), {})
        node[str(leaf)] = value
    return ClawtopConfig.model_validate(data)


def _policy(**changes: Any) -> RetryPolicy:
    return RetryPolicy.from_config(_config(changes), provider="sim")


def test_proportional_schedule_is_exact_and_the_worst_case_meets_the_window() -> None:
    s = schedule(RetryTarget(provider="sim"), _policy(), _policy(), 1000)
    assert [r.plain for r in s.rows] == [(1000, 1000, 1500), (1000, 2000, 3000), (2000, 4000, 6000)]
    assert all(r.method == "exact" for r in s.rows)
    # Retry-After 1 s: max(1 s, minDelayMs) plus up to retryAfterJitter (0.1) of the hint, never less.
    assert {r.hinted for r in s.rows} == {(1000, 1050, 1100)}
    assert s.worst_total_ms == 10_500 and s.worst_total_hinted_ms == 3300 and s.refused_from is None
    text = "\n".join(s.lines())
    assert "worst-case total wait 10.5 s, 3.3 s with the hint" in text and "against the 1m 30s retry window" in text
    assert text.startswith("  provider sim: attempts=4 min=1000 max=30000 jitter=proportional(0.5)")


def test_decorrelated_median_is_sampled_and_says_so_bounds_stay_exact() -> None:
    cand = _policy(**{"retry.provider.jitterMode": "decorrelated", "retry.provider.attempts": 4})
    s = schedule(RetryTarget(provider="sim"), _policy(), cand, 1000)
    assert s.rows[0].method == "exact" and s.rows[0].plain == (1000, 2000, 3000)
    assert all(r.method.startswith("sampled median (seed") for r in s.rows[1:])
    assert [r.plain[0] for r in s.rows] == [1000, 1000, 1000]
    assert [r.plain[2] for r in s.rows] == [3000, 9000, 27000]  # every draw at the top: 3× the last
    assert all(r.plain[0] <= r.plain[1] <= r.plain[2] for r in s.rows)


def test_hint_above_the_cap_is_refused_and_the_window_names_the_retry() -> None:
    cand = _policy(**{"retry.maxRetryAfterMs": 500, "retry.deadlineMs": 3000})
    s = schedule(RetryTarget(provider="sim"), _policy(), cand, 1000)
    assert all(r.hinted is None for r in s.rows) and s.worst_total_hinted_ms is None
    assert s.refused_from == 2  # 1.5 s + 3 s > 3 s
    assert "refused (> maxRetryAfterMs)" in "\n".join(s.lines())


def test_only_policies_that_change_are_targets() -> None:
    acme = {"models": {"providers": {"acme": {"baseUrl": "http://127.0.0.1:9"}}}}
    cur = _config({}, acme)
    cand = _config({"models.providers.acme.retry.attempts": 2}, acme)
    assert affected_targets(cur, cand, ["models.providers.acme.retry.attempts"]) == [RetryTarget(provider="acme")]
    assert affected_targets(cur, cur, ["retry.provider.attempts"]) == []
    tg = _config({"channels.telegram.retry.attempts": 5}, acme)
    assert affected_targets(cur, tg, ["channels.telegram.retry.attempts"]) == [RetryTarget(channel="telegram")]


async def test_replay_of_a_run_recorded_from_the_simulator(tmp_path: Path) -> None:
    gateway = gateway_with_config(tmp_path, RECORDED)
    await gateway.start()
    try:
        result = await gateway.chat_send("hello")
        assert result.reply
        await gateway.store.flush()
        attempts = [e.payload for e in await gateway.stored_events(["retry.attempt"], limit=10, newest_first=False)]
        assert [(a["status"], a["outcome"]) for a in attempts] == [(429, "retry"), (503, "retry"), (None, "ok")]
        durations = sum(a["duration_ms"] for a in attempts)

        slower = {"retry.provider.minDelayMs": 1000, "retry.provider.maxDelayMs": 30000}
        preview = await gateway.preview_tuning(changes_from(slower))
        assert preview.errors == {} and preview.retry is not None
        (op,) = preview.retry.replays
        assert op.op_id == attempts[0]["op_id"] and op.failures == ("429", "503", "ok")
        assert (op.happened.attempts, op.happened.outcome) == (3, "ok")
        assert op.candidate is not None and op.fastest is not None and op.slowest is not None
        # jitterMode none: retry 1 waits max(hint 100 ms, minDelayMs 1 s), retry 2 exp(2) = 2 s.
        assert (op.candidate.attempts, op.candidate.outcome) == (3, "ok")
        assert abs(op.candidate.total_ms - (durations + 3000)) <= 2
        assert op.fastest.total_ms == op.slowest.total_ms == op.candidate.total_ms and op.note == ""
        text = "\n".join(preview.lines())
        assert "happened:  3 attempts, ok" in text and "candidate: 3 attempts, ok in" in text

        # Two attempts: the 429 raises the cap to rateLimitAttempts, so it still succeeds...
        two = await gateway.preview_tuning(changes_from({"retry.provider.attempts": 2}))
        assert two.retry is not None and two.retry.replays[0].candidate is not None
        assert (two.retry.replays[0].candidate.attempts, two.retry.replays[0].candidate.outcome) == (3, "ok")
        # ...unless that cap is two as well: the 503 on attempt 2 is the end.
        capped = await gateway.preview_tuning(
            await gateway.propose_tuning(changes_from({"retry.provider.attempts": 2,
                                                       "retry.provider.rateLimitAttempts": 2})))
        assert capped.retry is not None
        run = capped.retry.replays[0].candidate
        assert run is not None and (run.attempts, run.outcome, run.decision_reason) == (2, "fail", "attempts_exhausted")

        bad = await gateway.preview_tuning(changes_from({"retry.provider.maxDelayMs": 10}))
        assert bad.retry is None and "must be ≥ minDelayMs" in bad.errors["retry.provider.maxDelayMs"]
    finally:
        await gateway.stop()


async def test_replay_from_another_process_reads_the_store_read_only(tmp_path: Path) -> None:
    """``clawtop send`` records the run; a process outside the gateway (the CLI's --what-if)
    previews from the store's file without writing it."""
    config = tmp_path / "config.json5"
    config.write_text(RECORDED, encoding="utf-8")
    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "clawtop", "--config", str(config), "send",
                                                    "hi"], cwd=ROOT, env=env, capture_output=True, text=True,
                                   timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = load_config(config, env=env)
    db = loaded.db_path
    before = db.read_bytes()
    sources = PreviewSources.for_loaded(loaded)
    result = await preview_changes(loaded, changes_from({"retry.provider.jitterMode": "proportional"}), sources)
    assert result.retry is not None
    (op,) = result.retry.replays
    assert op.failures == ("429", "503", "ok") and op.candidate is not None and op.candidate.outcome == "ok"
    assert db.read_bytes() == before
    empty = PreviewSources.for_loaded(load_config(config, env={**env, "CLAWTOP_STATE_DIR": str(tmp_path / "x")}))
    assert empty.query_events is not None and await empty.query_events(["retry.finished"], limit=5) == []
