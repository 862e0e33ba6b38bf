"""``clawtop bench`` end to end: a real simulator on loopback (tiny TTFT), a real SQLite store."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = ("{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 30 }, "
        "slow: { ttftMs: 20, tokensPerSec: 1000, replyTokens: 30 } }%s } }")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(home), CLAWTOP_STATE_DIR=str(home / "state"))
    return env


def _cmd(home: Path, *args: str, faults: str = "") -> list[str]:
    config = home / "config.json5"
    config.write_text(FAST % faults, encoding="utf-8")
    return [sys.executable, "-m", "clawtop", "--config", str(config), "bench", *args]


def bench(home: Path, *args: str, faults: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(home, *args, faults=faults), cwd=ROOT, env=_env(home), capture_output=True,
                          text=True, timeout=120)


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "state" / "telemetry.sqlite3")


def test_openclaw_preset_prints_lines_and_stores_the_run(tmp_path: Path) -> None:
    r = bench(tmp_path, "--preset", "openclaw", "--model", "sim/fast", "--model", "sim/slow", "--runs", "3",
              "--tag", "base")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "sim/fast warmup 1/1: " in r.stdout and any(line.startswith("sim/slow run 3/3: ") for line in out)
    assert "Summary (ms):" in out and "Runs: 3" in out
    fast = next(line for line in out if line.startswith("sim/fast median="))
    for field in ("min=", "max=", "p95=", "ttft=", "tok/s=", "in=", "out=", "cacheRead=", "ok=3", "failed=0"):
        assert field in fast
    with _db(tmp_path) as db:
        tag, models, chash, config = db.execute("SELECT tag, models, config_hash, config FROM bench_runs").fetchone()
        assert (tag, models, len(chash)) == ("base", "sim/fast,sim/slow", 64)
        assert json.loads(config)["bench"]["runs"] == 10  # the redacted resolved config it ran under
        assert db.execute("SELECT count(*) FROM bench_samples WHERE warmup = 0").fetchone()[0] == 6
        kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM events WHERE kind LIKE 'bench.%'")}
    assert kinds == {"bench.run_started", "bench.run_progress", "bench.run_finished"}


def test_failures_are_counted_not_dropped(tmp_path: Path) -> None:
    r = bench(tmp_path, "--model", "sim/fast", "--runs", "4", "--warmup", "0", "--retries", "0",
              "--timeout-ms", "700", "--json", faults=", faults: { script: '429,timeout,500' }")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    summary = doc["models"][0]["summary"]
    assert (summary["ok"], summary["failed"]) == (1, 3)
    assert summary["errors"] == {"rate_limit": 1, "timeout": 1, "server": 1}
    results = doc["models"][0]["results"]
    assert [x["ok"] for x in results] == [False, False, False, True]
    assert all(x["attempts"] == 1 for x in results)  # --retries 0: no retry at all, even on 429


def test_json_and_csv_shapes(tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "b.json", tmp_path / "b.csv"
    r = bench(tmp_path, "--model", "sim/fast", "--runs", "2", "--json", str(out_json), "--csv", str(out_csv))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out_json.read_text())
    for key in ("runId", "startedAt", "finishedAt", "tag", "clawtopVersion", "python", "platform", "configHash",
                "configRawHash", "prompt", "promptMode", "maxTokens", "runs", "warmup", "concurrency", "models"):
        assert key in doc, key
    model = doc["models"][0]
    assert set(model["summary"]["latencyMs"]) == {"median", "min", "max", "p95", "mean"}
    for key in ("i", "warmup", "ok", "errorClass", "error", "startedAt", "latencyMs", "ttftMs",
                "outputTokensPerSec", "tpotMs", "inputTokens", "outputTokens", "cacheReadTokens",
                "cacheWriteTokens", "totalTokens", "stopReason", "attempts"):
        assert key in model["results"][0], key
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 3 and rows[0]["warmup"] == "true" and rows[1]["run_id"] == doc["runId"]


def test_history_and_compare_two_tags(tmp_path: Path) -> None:
    assert bench(tmp_path, "--model", "sim/fast", "--runs", "3", "--tag", "A").returncode == 0
    assert bench(tmp_path, "--model", "sim/fast", "--runs", "3", "--max-tokens", "8", "--tag", "B").returncode == 0
    hist = bench(tmp_path, "history", "--model", "sim/fast")
    assert hist.returncode == 0 and hist.stdout.count("sim/fast") == 2
    cmp = bench(tmp_path, "compare", "A", "B", "--threshold", "10%")
    assert cmp.returncode == 0, cmp.stderr
    assert "latency ms" in cmp.stdout and "run.maxTokens" in cmp.stdout
    data = json.loads(bench(tmp_path, "compare", "A", "B", "--json").stdout)
    assert {m["metric"] for m in data["metrics"]} == {"latencyMs", "ttftMs", "outputTokensPerSec"}
    assert "run.maxTokens" in data["configChanges"]
    assert bench(tmp_path, "compare", "A", "nope").returncode == 1


def test_usage_errors(tmp_path: Path) -> None:
    assert bench(tmp_path, "--runs", "0").returncode == 2
    assert bench(tmp_path, "--runs", "2.5").returncode == 2
    assert bench(tmp_path, "--model", "nothing").returncode == 2


def test_ctrl_c_keeps_finished_runs(tmp_path: Path) -> None:
    proc = subprocess.Popen(_cmd(tmp_path, "--model", "sim/slow", "--runs", "500", "--warmup", "0"), cwd=ROOT,
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("sim/slow run 3/500"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Summary (ms):" in out and "interrupted" in out
    with _db(tmp_path) as db:
        interrupted, = db.execute("SELECT interrupted FROM bench_runs").fetchone()
        done = db.execute("SELECT count(*) FROM bench_samples").fetchone()[0]
    assert interrupted == 1 and 3 <= done < 500


def test_rates_from_too_short_intervals_are_null_not_artifacts(tmp_path: Path) -> None:
    """A reply streamed faster than the 10 ms rate floor has no tokens/s, so p95 is not jitter."""
    config = tmp_path / "config.json5"
    config.write_text("{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 100000, replyTokens: 30 }, "
                      "slow: { ttftMs: 5, tokensPerSec: 1000, replyTokens: 30 } } } }", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "clawtop", "--config", str(config), "bench", "--model", "sim/fast",
                        "--model", "sim/slow", "--runs", "3", "--warmup", "0", "--json"],
                       cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    models = {m["ref"]: m for m in json.loads(r.stdout)["models"]}
    fast = models["sim/fast"]
    assert all(x["ok"] and x["outputTokens"] == 30 for x in fast["results"])
    assert [x["outputTokensPerSec"] for x in fast["results"]] == [None] * 3
    assert [x["tpotMs"] for x in fast["results"]] == [None] * 3
    slow = models["sim/slow"]  # 30 tokens at 1,000 tok/s: ~30 ms, above the floor, a real rate
    assert all(x["outputTokensPerSec"] is not None and x["outputTokensPerSec"] < 2000 for x in slow["results"])
