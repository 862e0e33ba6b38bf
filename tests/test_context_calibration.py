"""Per-model chars-per-token calibration (docs/design/context.md#chars-per-token-calibration) and ``clawtop
context``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.context.calibration import Calibrator, actual_prompt_tokens
from core.context.events import ContextCalibrated
from core.providers.types import Usage

ROOT = Path(__file__).resolve().parent.parent


def test_converges_to_the_true_ratio_and_is_used_after_five_samples() -> None:
    events: list[Any] = []
    cal = Calibrator(publish=events.append)
    for _ in range(4):
        cal.observe("anthropic/claude", 35_000, 10_000)
        assert cal.chars_per_token("anthropic/claude").ratio == 4.0  # not yet: < 5 samples
    cal.observe("anthropic/claude", 35_000, 10_000)
    used = cal.chars_per_token("anthropic/claude")
    assert used.calibrated and abs(used.ratio - 3.5) < 1e-9 and used.samples == 5
    for _ in range(40):  # the tokenizer changes: 2.5 chars per token
        cal.observe("anthropic/claude", 25_000, 10_000)
    assert abs(cal.chars_per_token("anthropic/claude").ratio - 2.5) < 0.01
    assert isinstance(events[-1], ContextCalibrated) and events[-1].active
    assert cal.chars_per_token("other/model").ratio == 4.0


def test_skips_small_and_image_samples_and_clamps() -> None:
    cal = Calibrator()
    assert cal.observe("m/x", 3_000, 999) is None
    assert cal.observe("m/x", 50_000, 5_000, has_images=True) is None
    for _ in range(5):
        cal.observe("m/x", 100_000, 1_000)  # 100 chars/token → clamped to 6
    assert cal.chars_per_token("m/x").ratio == 6.0


def test_settings_fixed_and_number() -> None:
    cal = Calibrator()
    for _ in range(5):
        cal.observe("m/x", 30_000, 10_000)
    assert cal.chars_per_token("m/x", "fixed").ratio == 4.0
    assert cal.chars_per_token("m/x", 2.0).ratio == 2.0
    assert abs(cal.chars_per_token("m/x", "calibrated").ratio - 3.0) < 1e-9


def test_error_column_and_persistence(tmp_path: Path) -> None:
    cal = Calibrator.in_state_dir(tmp_path)
    state = cal.observe("m/x", 40_000, 8_000)
    assert state is not None and state.last_estimated_tokens == 10_000 and state.last_error_pct == 25.0
    again = Calibrator.in_state_dir(tmp_path).get("m/x")
    assert again is not None and again.samples == 1 and again.ratio == 5.0


def test_actual_prompt_tokens_sums_disjoint_parts() -> None:
    assert actual_prompt_tokens(Usage(input_tokens=10, output_tokens=5, cache_read_tokens=100,
                                      cache_write_tokens=7)) == 117
    assert actual_prompt_tokens({"input": 1, "cacheRead": 2, "cacheWrite": 3, "output": 9}) == 6


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clawtop", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_reads_the_most_recent_stored_session(tmp_path: Path) -> None:
    from core.sessions.messages import AgentMessage
    from core.sessions.model import MessageEntry
    from core.sessions.store import SessionStore

    env = {**os.environ, "HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    env.pop("CLAWTOP_CONFIG", None)
    empty = _run(["context"], env)
    assert empty.returncode == 1 and "no sessions yet" in empty.stderr

    store = SessionStore(tmp_path / "state")
    session = store.create("main")
    store.append(session.id, MessageEntry(AgentMessage.user("hello there")))
    store.append(session.id, MessageEntry(AgentMessage.assistant(
        [{"type": "text", "text": "hi"}], provider="sim", model="fast",
        usage={"input": 1200, "output": 5, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 1205})))
    store.close()

    listed = _run(["context"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("🧠 Context breakdown\n")
    assert "- User: 11 chars (~3 tok)" in listed.stdout
    assert "Session tokens (cached): 1,200 total / ctx=200,000" in listed.stdout
    assert "Tools: read, write, edit, ls" in listed.stdout, "the agent's tools count toward context"
    data = json.loads(_run(["context", "--session", session.id, "json"], env).stdout)
    assert data["report"]["sessionId"] == session.id
    assert data["tokens"]["actual"] == 1200
    missing = _run(["context", "--session", "nope", "detail"], env)
    assert missing.returncode == 1 and "no session 'nope'" in missing.stderr
