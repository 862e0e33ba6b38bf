"""The pruning preview equals ``clawtop prune --dry-run --set`` run as a subprocess with the same
settings, on a session read from a real state directory; ``--set`` takes full dotted paths."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.config.loader import load_config
from core.sessions.messages import AgentMessage
from core.sessions.model import CustomEntry, MessageEntry, Session
from core.sessions.store import SessionStore
from core.sessions.transcript import write_transcript
from core.tuning import changes_from
from core.tuning.preview import PreviewSources, preview_changes
from core.tuning.preview.pruning import PruneFigures
from tests.pruning_support import tool_session

ROOT = Path(__file__).resolve().parent.parent

PRICED = """{
  models: { providers: { acme: { baseUrl: "http://127.0.0.1:9/v1", api: "anthropic-messages",
    models: [{ id: "m1", contextWindow: 100000,
               cost: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } }] } } },
  agents: { defaults: { model: { primary: "acme/m1" }, contextPruning: { mode: "cache-ttl" } } },
}
"""
UNPRICED = '{ agents: { defaults: { contextTokens: 100000, contextPruning: { mode: "cache-ttl" } } } }\n'


def _session(provider: str, model: str, marker_ms: int) -> Session:
    session = Session.new("3f1c2a9e-0000-4000-8000-000000000001")
    for m in tool_session(12, 20_000):
        if m["role"] == "assistant":
            m = {**m, "provider": provider, "model": model}
        session.add(MessageEntry(AgentMessage.from_json(m)))
    session.add(CustomEntry("openclaw.cache-ttl", {"timestamp": marker_ms, "provider": provider, "modelId": model}))
    return session


def _setup(tmp_path: Path, config: str, provider: str, model: str, marker_ms: int) -> tuple[Path, Path, str]:
    cfg = tmp_path / "config.json5"
    cfg.write_text(config, encoding="utf-8")
    state = tmp_path / "state"
    source = tmp_path / "in.jsonl"
    write_transcript(source, _session(provider, model, marker_ms))
    store = SessionStore(state)
    sid = store.import_file(source)
    return cfg, state, sid


def _cli(cfg: Path, state: Path, transcript: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "clawtop.cli", "--config", str(cfg), "prune", "--transcript", str(transcript),
         "--dry-run", "--json", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"CLAWTOP_STATE_DIR": str(state), "PATH": "/usr/bin:/bin", "HOME": str(state)},
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _same(cli: dict[str, Any], figures: PruneFigures, *, clock_dependent: bool = False) -> None:
    mine = figures.to_json()
    if clock_dependent:  # the two runs read the clock a moment apart
        assert abs(cli.pop("msSinceTouch") - mine.pop("msSinceTouch")) < 30_000
        cli.pop("explanation"), mine.pop("explanation")
    assert cli == mine


CHANGES = {"agents.defaults.contextPruning.ttl": "10s", "agents.defaults.contextPruning.softTrim.maxChars": 3000,
           "agents.defaults.contextPruning.softTrimRatio": 0.05, "agents.defaults.contextPruning.hardClearRatio": 0.06,
           "agents.defaults.contextPruning.minPrunableToolChars": 0}
SETS = ["--set", "agents.defaults.contextPruning.ttl=10s", "--set", "softTrim.maxChars=3000",
        "--set", "softTrimRatio=0.05", "--set", "agents.defaults.contextPruning.hardClearRatio=0.06",
        "--set", "minPrunableToolChars=0"]


async def test_preview_equals_the_cli_dry_run_with_prices(tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    cfg, state, sid = _setup(tmp_path, PRICED, "acme", "m1", now - 60_000)
    loaded = load_config(cfg)
    preview = await preview_changes(loaded, changes_from(CHANGES), PreviewSources.for_state_dir(state, session=sid))
    assert preview.errors == {} and preview.session_id == sid
    p = preview.pruning
    assert p is not None and p.prices_configured and p.model_ref == "acme/m1" and p.window_tokens == 100_000
    transcript = SessionStore(state).transcript_path(sid)

    # TTL expired (the CLI's default): current settings, then the candidate's.
    _same(_cli(cfg, state, transcript)["figures"], p.expired[0])
    candidate_doc = _cli(cfg, state, transcript, *SETS)
    _same(candidate_doc["figures"], p.expired[1])
    # Now (--respect-ttl): 60 s since the last call — the 5 min TTL holds, 10 s has passed.
    _same(_cli(cfg, state, transcript, "--respect-ttl")["figures"], p.now[0], clock_dependent=True)
    _same(_cli(cfg, state, transcript, "--respect-ttl", *SETS)["figures"], p.now[1], clock_dependent=True)

    cur_now, cand_now = p.now
    assert cur_now.reason == "ttl_not_elapsed" and cur_now.soft_trimmed == () and cur_now.cost.warm
    assert cand_now.reason == "pruned" and cand_now.tokens_sent < cur_now.tokens_sent
    # Which results: the same tool call ids the pruner's own decision lists.
    touched = candidate_doc["decision"]["touched"]
    assert [(r.tool, r.call_id) for r in p.expired[1].hard_cleared] == sorted(
        ((t["tool"], t["toolCallId"]) for t in touched if t["action"] == "hard_clear"), key=lambda x: int(x[1][1:]))
    assert p.expired[1].hard_cleared and p.expired[1].soft_trimmed
    cost = cand_now.cost
    assert cost.read_usd == round(cost.read_tokens * 0.3 / 1e6, 6)
    assert cost.write_usd == round(cost.write_tokens * 3.75 / 1e6, 6)
    text = "\n".join(preview.lines())
    assert "Pruning — session" in text and "next call cost" in text and "exec#t0" in text


async def test_unpriced_model_says_so_and_mode_off_is_named(tmp_path: Path) -> None:
    cfg, state, sid = _setup(tmp_path, UNPRICED.replace('"cache-ttl"', '"off"'), "sim", "fast",
                             int(time.time() * 1000) - 600_000)
    loaded = load_config(cfg)
    preview = await preview_changes(loaded, changes_from({"agents.defaults.contextPruning.softTrimRatio": 0.1}),
                                    PreviewSources.for_state_dir(state))
    p = preview.pruning
    assert p is not None and not p.prices_configured and p.now[0].cost.total_usd is None
    text = "\n".join(p.lines())
    assert "no prices configured" in text and "contextPruning.mode is off" in text
    transcript = SessionStore(state).transcript_path(sid)
    doc = _cli(cfg, state, transcript, "--set", "agents.defaults.contextPruning.softTrimRatio=0.1")
    _same(doc["figures"], p.expired[1])


def test_cli_set_full_paths_and_errors(tmp_path: Path) -> None:
    cfg, state, sid = _setup(tmp_path, UNPRICED, "sim", "fast", 1000)
    transcript = SessionStore(state).transcript_path(sid)
    narrow = _cli(cfg, state, transcript, "--set", "agents.defaults.contextTokens=50000")
    assert narrow["contextWindowTokens"] == 50_000
    base = [sys.executable, "-m", "clawtop.cli", "--config", str(cfg), "prune", "--transcript", str(transcript),
            "--dry-run"]
    env = {"CLAWTOP_STATE_DIR": str(state), "PATH": "/usr/bin:/bin", "HOME": str(state)}
    for bad, expected in (("agents.defaults.contextPruning.tll=5", "did you mean `ttl`"),
                          ("softTrimRatio=7", "agents.defaults.contextPruning.softTrimRatio"),
                          ("bogus=1", "unknown key")):
        proc = subprocess.run([*base, "--set", bad], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
        assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    human = subprocess.run([*base, "--set", "ttl=10s"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert human.returncode == 0 and "next call: ~" in human.stdout and "no prices configured" in human.stdout


@pytest.mark.parametrize("path", ["retry.provider.attempts", "gateway.port"])
async def test_no_pruning_section_outside_its_keys(tmp_path: Path, path: str) -> None:
    cfg, state, _ = _setup(tmp_path, UNPRICED, "sim", "fast", 1000)
    preview = await preview_changes(load_config(cfg), changes_from({path: 2 if "attempts" in path else 18790}),
                                    PreviewSources.for_state_dir(state))
    assert preview.pruning is None and preview.compaction is None
    assert ("no preview for gateway.port" in preview.notes) == (path == "gateway.port")
