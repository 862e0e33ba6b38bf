"""``clawtop sim`` as a real subprocess: banner, request log, faults from flags, clean Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx

from clawtop.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """Lines of ``stream`` as they arrive (read on a thread, so a test can wait with a timeout)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clawtop", "--config", str(config), "sim", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sim_serves_logs_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text("{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 8 } } } }")
    proc = _start(config, "--port", "0", "--script", "429:retry-after=4,ok", "--seed", "3")
    try:
        out, err = _lines(proc.stdout), _lines(proc.stderr)  # type: ignore[arg-type]
        banner = out.get(timeout=20)
        assert banner.startswith("clawtop sim listening on http://127.0.0.1:"), banner
        url = banner.rsplit(" ", 1)[1]
        assert "/v1/messages" in out.get(timeout=5)
        models = [out.get(timeout=5), out.get(timeout=5)]
        assert models[0].startswith("  model fast:") and models[1].startswith("  model slow: ttft 800 ms, 30 tokens/s")
        body = {"model": "fast", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=10) as client:
            limited = client.post(url + "/v1/messages", json=body)
            served = client.post(url + "/v1/messages", json=body)
        assert (limited.status_code, limited.headers["retry-after"], served.status_code) == (429, "4", 200)
        first, second = err.get(timeout=5).split(), err.get(timeout=5).split()
        assert first[1:6] == ["POST", "/v1/messages", "fast", "429", "429:retry-after=4"] and first[6].endswith("ms")
        assert second[1:6] == ["POST", "/v1/messages", "fast", "200", "-"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "stopped after 2 requests (1 faults injected" in err.get(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_uses_the_config_file_for_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text("{ simulator: { faults: { script: '503' }, models: { fast: { ttftMs: 1 } } } }")
    proc = _start(config, "--port", "0")
    try:
        url = _lines(proc.stdout).get(timeout=20).rsplit(" ", 1)[1]  # type: ignore[arg-type]
        with httpx.Client(timeout=10) as client:
            response = client.post(url + "/v1/chat/completions",
                                   json={"model": "fast", "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 503
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_flags_exit_2_with_the_vocabulary() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clawtop", "sim", "--script", "ok,418"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "fault script item 2" in result.stderr and "status 418 is not simulated" in result.stderr


def test_invalid_simulator_config_exits_78(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text("{ simulator: { faults: { script: ['429', 'sometimes'] } } }")
    result = subprocess.run(
        [sys.executable, "-m", "clawtop", "--config", str(config), "sim"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 78 and "simulator.faults.script.1" in result.stderr


def test_parser_knows_every_flag() -> None:
    args = build_parser().parse_args(["sim", "--host", "127.0.0.1", "--port", "0", "--script", "429",
                                      "--fault-rate", "0.2", "--seed", "9"])
    assert (args.host, args.port, args.script, args.fault_rate, args.seed) == ("127.0.0.1", 0, "429", 0.2, 9)
