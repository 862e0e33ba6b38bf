"""Real processes for the provider reliability tests: ``clawtop send`` and ``clawtop sim`` run as
subprocesses of the CLI, with a private HOME and state dir per test."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAST = "models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 30 } }"
"""A simulator model that answers in milliseconds, so a test's time is the fault's."""


def env_for(home: Path) -> dict[str, str]:
    """The environment of a CLI run: no ``CLAWTOP_*`` of the developer's, HOME and state in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWTOP_")}
    env.update(HOME=str(home), CLAWTOP_STATE_DIR=str(home / "state"))
    return env


def write_config(home: Path, text: str) -> Path:
    path = home / "config.json5"
    path.write_text(text, encoding="utf-8")
    return path


def send(home: Path, config: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``clawtop send --config … ARGS`` to completion."""
    cmd = [sys.executable, "-m", "clawtop", "send", "--config", str(write_config(home, config)), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env_for(home), capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def sim_process(home: Path, *args: str) -> Iterator[str]:
    """``clawtop sim --port 0 ARGS`` in the background; yields its base URL, then stops it with
    SIGTERM (the way a user's Ctrl-C does)."""
    simdir = home / "sim"
    simdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "clawtop", "--config", str(write_config(simdir, "{}")), "sim", "--port", "0", *args],
        cwd=ROOT, env=env_for(simdir), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            url = found.group(0) if found else None
        assert url is not None, "clawtop sim printed no base URL"
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
