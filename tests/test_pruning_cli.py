"""``clawtop prune --dry-run`` as a subprocess over a generated transcript."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.sessions.transcript import write_transcript
from tests.pruning_support import session_from, tool_session


def _prune(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.json5"
    if not cfg.exists():
        cfg.write_text("{}\n")
    return subprocess.run(
        [sys.executable, "-m", "clawtop.cli", "--config", str(cfg), "prune", "--transcript",
         str(tmp_path / "s.jsonl"), "--dry-run", *extra],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=60,
        env={"CLAWTOP_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )


def test_dry_run_json(tmp_path: Path) -> None:
    write_transcript(tmp_path / "s.jsonl", session_from(tool_session(12, 20_000), marker_ms=1000))
    before = (tmp_path / "s.jsonl").read_bytes()
    proc = _prune(tmp_path, "--context-window", "100000", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    decision = doc["decision"]
    assert decision["reason"] == "pruned" and not decision["skipped"]
    assert decision["touched"][0]["action"] == "soft_trim" and decision["cache_cost"]["verdict"]
    texts = [m["content"][0]["text"] for m in doc["messages"] if m["role"] == "toolResult"]
    assert texts[0].endswith("[Tool result trimmed: kept first 1500 chars and last 1500 chars of 20000 chars.]")
    assert doc["configuredMode"] == "off"
    assert (tmp_path / "s.jsonl").read_bytes() == before  # never writes


def test_overrides_respect_ttl_and_human_output(tmp_path: Path) -> None:
    import time
    write_transcript(tmp_path / "s.jsonl", session_from(tool_session(12, 20_000), marker_ms=int(time.time() * 1000)))
    proc = _prune(tmp_path, "--context-window", "100000", "--respect-ttl", "--json")
    assert json.loads(proc.stdout)["decision"]["reason"] == "ttl_not_elapsed"
    proc = _prune(tmp_path, "--context-window", "100000", "--set", "softTrimRatio=0.9", "--set", "hardClearRatio=0.95")
    assert proc.returncode == 0 and "skipped: below_soft_ratio" in proc.stdout
    bad = _prune(tmp_path, "--set", "softTrimRatio=7")
    assert bad.returncode == 2 and "softTrimRatio" in bad.stderr
