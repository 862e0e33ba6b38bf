"""Bench statistics, comparison and export rules (no I/O)."""

from __future__ import annotations

import pytest

from core.bench.compare import compare, parse_threshold
from core.bench.export import CSV_HEADER, compare_lines, csv_text, summary_lines
from core.bench.presets import PRESETS, filler_text
from core.bench.stats import Summary, median, p95, summarize


def test_median_follows_openclaw() -> None:
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 4]) == 3  # (2 + 3) / 2 = 2.5 rounds half up, as Math.round
    assert median([10, 11]) == 11
    assert median([1.0, 2.0], ndigits=2) == 1.5
    assert median([]) == 0


def test_p95_is_nearest_rank() -> None:
    values = list(range(1, 21))  # ceil(0.95 × 20) = 19
    assert p95(values) == 19
    assert p95(list(range(1, 11))) == 10  # ceil(9.5) = 10
    assert p95([7]) == 7 and p95([]) == 0


def _result(i: int, ok: bool = True, latency: float = 100, warmup: bool = False, cls: str | None = None) -> dict:
    return {"i": i, "warmup": warmup, "ok": ok, "errorClass": cls, "latencyMs": latency if ok else 5,
            "ttftMs": 10 if ok else None, "outputTokensPerSec": 50.0 if ok else None, "tpotMs": 2.0 if ok else None,
            "inputTokens": 3, "outputTokens": 4, "cacheReadTokens": 0, "cacheWriteTokens": 0, "totalTokens": 7,
            "attempts": 1, "costUsd": 0.5, "startedAt": "2026-01-01T00:00:00.000Z"}


def test_summary_excludes_warmup_and_failures_but_counts_them() -> None:
    results = [_result(1, latency=999, warmup=True), _result(1, latency=100), _result(2, latency=300),
               _result(3, ok=False, cls="rate_limit"), _result(4, ok=False, cls="timeout")]
    s = summarize(results)
    assert s["latencyMs"] == {"median": 200, "min": 100, "max": 300, "p95": 300, "mean": 200}
    assert (s["ok"], s["failed"], s["errors"]) == (2, 2, {"rate_limit": 1, "timeout": 1})
    assert s["usage"]["inputTokens"] == {"sum": 6, "mean": 3}
    assert s["costUsd"] == 1.0


def _doc(run_id: str, latencies: list[float], **extra: object) -> dict:
    results = [_result(i, latency=v) for i, v in enumerate(latencies, 1)]
    return {"runId": run_id, "tag": None, "configHash": "h" * 64, "prompt": "p", "runs": len(latencies),
            "models": [{"ref": "sim/fast", "results": results, "summary": summarize(results)}], **extra}


def test_compare_flags_regressions_and_noise() -> None:
    a = _doc("a", [100, 101, 102])
    slower = _doc("b", [150, 151, 152], maxTokens=128)
    cmp = compare(a, {"x": {"y": 1}}, slower, {"x": {"y": 2}}, threshold=0.10)
    latency = next(r for r in cmp.rows if r.metric == "latencyMs")
    assert latency.regression and latency.outside_noise and round(latency.pct, 3) == 0.495
    assert cmp.config_paths == ["x.y", "run.maxTokens"]
    # 5 % slower: not a regression at 10 %, a regression at 1 %; inside A's spread → noise.
    close = _doc("c", [95, 106, 120])
    assert not compare(a, {}, close, {}, threshold=0.10).regressions
    near = next(r for r in compare(a, {}, close, {}, threshold=0.01).rows if r.metric == "latencyMs")
    assert near.regression and not near.outside_noise
    # Faster is never a regression.
    assert not compare(slower, {}, a, {}, threshold=0.0).regressions


def test_compare_verdict_and_count_agree() -> None:
    """A within-noise worsening is not a regression: the row verdict and the count say the same."""
    a = _doc("a", [100, 101, 102])
    near = compare(a, {}, _doc("c", [95, 106, 120]), {}, threshold=0.01)
    lines = compare_lines(near)
    latency = next(line for line in lines if line.startswith("sim/fast") and "latency ms" in line)
    assert latency.endswith("worse (within noise)")
    assert not any("REGRESSION" in line for line in lines)
    assert lines[-1] == "Regressions: 0" and near.as_json()["regressions"] == 0
    far = compare(a, {}, _doc("b", [150, 151, 152]), {}, threshold=0.10)
    far_lines = compare_lines(far)
    flagged = [line for line in far_lines if line.endswith("REGRESSION")]
    assert len(flagged) == len(far.regressions) == 1 and far_lines[-1] == "Regressions: 1"
    assert far.as_json()["metrics"][0]["verdict"] == "REGRESSION"


def test_parse_threshold() -> None:
    assert parse_threshold("10%") == pytest.approx(0.10)
    assert parse_threshold("5") == pytest.approx(0.05)
    assert parse_threshold("0.2") == pytest.approx(0.2)
    with pytest.raises(ValueError):
        parse_threshold("-1%")


def test_csv_and_summary_lines_keep_openclaw_shapes() -> None:
    doc = _doc("r1", [100, 200])
    lines = csv_text(doc).splitlines()
    assert lines[0].split(",") == CSV_HEADER
    assert lines[1].startswith("r1,sim/fast,1,false,true,,100,10,50.0,2.0,3,4,0,0,7,,1,")
    text = summary_lines(doc)
    assert text[:3] == ["Prompt: p", "Runs: 2", "Summary (ms):"]
    assert text[3].startswith("sim/fast median=150 min=100 max=200 p95=200 ttft=10 tok/s=50.0")


def test_presets() -> None:
    assert set(PRESETS) == {"openclaw", "1k-in-1k-out", "10k-in", "cache"}
    openclaw = PRESETS["openclaw"]
    assert (openclaw.runs, openclaw.max_tokens) == (10, 64)
    assert openclaw.prompt.startswith("Reply with a single word: ok")
    assert len(filler_text(1000)) == 4000
    assert PRESETS["cache"].system and PRESETS["cache"].warmup == 0
    assert Summary.of([1, 3]).spread == 2
