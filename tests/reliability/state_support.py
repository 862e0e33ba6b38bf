"""Real processes for the session and telemetry reliability tests: ``clawtop`` subprocesses of the
CLI with a private HOME, config and state dir per test, and readers of what they left on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FAST = "{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 12 } } } }"
"""A simulator model that answers in milliseconds: a test's time is process start-up and locking."""


def env_for(home: Path, state: Path | None = None) -> dict[str, str]:
    """No ``CLAWTOP_*`` of the developer's; HOME is ``home``, the state dir ``home/state`` (or ``state``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(home), CLAWTOP_STATE_DIR=str(state or home / "state"))
    return env


def config_path(home: Path, text: str = FAST) -> Path:
    path = home / "config.json5"
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def clawtop_cmd(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "clawtop", "--config", str(config_path(home)), *args]


def run(home: Path, *args: str, state: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """One CLI command to completion."""
    return subprocess.run(clawtop_cmd(home, *args), cwd=ROOT, env=env_for(home, state), capture_output=True,
                          text=True, timeout=timeout)


def start(home: Path, *args: str, state: Path | None = None) -> subprocess.Popen[str]:
    """One CLI command, running."""
    return subprocess.Popen(clawtop_cmd(home, *args), cwd=ROOT, env=env_for(home, state),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sessions_dir(state: Path) -> Path:
    return state / "agents" / "main" / "sessions"


def branch_user_texts(home: Path, key: str = "main", state: Path | None = None) -> list[str]:
    """The user messages on the active branch of ``key``, as ``clawtop sessions show --json`` lists them."""
    index = json.loads((sessions_dir(state or home / "state") / "sessions.json").read_text())
    result = run(home, "sessions", "show", index[key]["sessionId"], "--json", state=state)
    assert result.returncode == 0, result.stderr
    branch: list[dict[str, Any]] = json.loads(result.stdout)["branch"]
    return [_text(e["message"]) for e in branch if e.get("type") == "message" and e["message"]["role"] == "user"]


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
