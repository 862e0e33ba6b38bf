"""``clawtop tune …`` as a user runs it: real subprocesses, real files and store, exit codes (0 ok,
78 invalid value or unknown key with the key path and the schema's message, 1 refused write)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = """// mine
{
  agents: { defaults: { contextPruning: { mode: "cache-ttl", ttl: "5m" } } },
}
"""


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(home), CLAWTOP_STATE_DIR=str(home / "state"), CLAWTOP_CONFIG=str(home / "config.json5"))
    return subprocess.run([sys.executable, "-m", "clawtop", "tune", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=60)


def test_list_set_history_undo_and_exit_codes(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text(CONFIG, encoding="utf-8")
    listed = _run(tmp_path, "list", "agents.defaults.contextPruning", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["path"]: r for r in json.loads(listed.stdout)}
    assert rows["agents.defaults.contextPruning.ttl"]["source"] == f"{config}:3"
    assert rows["agents.defaults.contextPruning.ttl"]["effect"] == "applies live"
    text = _run(tmp_path, "list", "retry.provider.attempts")
    assert text.returncode == 0 and "retry.provider.attempts = 4" in text.stdout and "default" in text.stdout

    bad = _run(tmp_path, "set", "agents.defaults.contextPruning.ttl=soon", "retry.provider.attempts=3")
    assert bad.returncode == 78 and "agents.defaults.contextPruning.ttl: 'soon' is not a duration" in bad.stderr
    unknown = _run(tmp_path, "set", "retry.provider.atempts=3")
    assert unknown.returncode == 78 and "did you mean `attempts`" in unknown.stderr
    assert config.read_text(encoding="utf-8") == CONFIG and "Traceback" not in bad.stderr + unknown.stderr

    what_if = _run(tmp_path, "set", "--what-if", "agents.defaults.contextPruning.ttl=10s", "retry.provider.attempts=2")
    assert what_if.returncode == 0 and '"5m" → "10s"' in what_if.stdout
    assert "delay schedule of the candidate policy" in what_if.stdout
    preview = json.loads(_run(tmp_path, "set", "--what-if", "--json", "retry.provider.attempts=2").stdout)
    assert preview["written"] is False and preview["preview"]["retry"] is not None
    assert config.read_text(encoding="utf-8") == CONFIG and not (tmp_path / "state" / "tuning").exists()

    applied = _run(tmp_path, "set", "agents.defaults.contextPruning.ttl=10s", "retry.provider.attempts=6", "--json")
    assert applied.returncode == 0, applied.stderr
    tuning = json.loads(applied.stdout)
    assert tuning["origin"] == "cli" and [c["path"] for c in tuning["changes"]] == [
        "agents.defaults.contextPruning.ttl", "retry.provider.attempts"]
    assert 'ttl: "10s"' in config.read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "state" / "telemetry.sqlite3") as conn:
        stored = [r[0] for r in conn.execute("SELECT payload FROM events WHERE kind = 'config.tuned'")]
    assert len(stored) == 1 and tuning["id"] in stored[0]

    history = _run(tmp_path, "history")
    assert history.returncode == 0 and tuning["id"] in history.stdout and '"5m" → "10s"' in history.stdout
    undone = _run(tmp_path, "undo")
    assert undone.returncode == 0 and "byte for byte" in undone.stdout
    assert config.read_text(encoding="utf-8") == CONFIG
    again = _run(tmp_path, "undo")
    assert again.returncode == 1 and "no tuning to undo" in again.stderr
    entries = json.loads(_run(tmp_path, "history", "--json").stdout)
    assert [e["undo_of"] for e in entries] == [tuning["id"], None]


def test_a_read_only_config_exits_1_and_leaves_no_backup(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text(CONFIG, encoding="utf-8")
    config.chmod(0o444)
    try:
        result = _run(tmp_path, "set", "agents.defaults.contextPruning.ttl=10s")
    finally:
        config.chmod(0o644)
    assert result.returncode == 1 and "read-only" in result.stderr and "Traceback" not in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["config.json5"]


def test_a_bad_assignment_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "set", "agents.defaults.contextPruning.ttl")
    assert result.returncode == 2 and "is not KEY=VALUE" in result.stderr
