"""``clawtop config set`` under stress, as real subprocesses on real files: concurrent writers lose
nothing, a killed writer leaves the old or the new file, odd inputs and odd files end in exit 78,
a symlinked config is written through to its target.

``CLAWTOP_RACE_ROUNDS`` raises the rounds of 8 concurrent writers (2 by default; 10 for the
figure in the issue's "Done when" list).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import json5
import pytest

from core.config.loader import load_config

ROUNDS = int(os.environ.get("CLAWTOP_RACE_ROUNDS", "2"))
WRITERS = 8


def spawn(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clawtop", "--config", str(config), "config", *args],
        cwd=config.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ),
    )


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "clawtop", "--config", str(config), "config", *args],
        cwd=config.parent, capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_config_set_loses_no_acknowledged_change(tmp_path: Path, round_: int) -> None:
    config = tmp_path / "config.json5"
    config.write_text("// shared\n{\n}\n", encoding="utf-8")
    procs = [spawn(config, "set", f"simulator.models.w{i}.seed", str(round_ * 100 + i)) for i in range(WRITERS)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        results.append((proc.returncode, out, err))
    assert {rc for rc, _, _ in results} <= {0, 75}, results
    models = json5.loads(config.read_text(encoding="utf-8"))["simulator"]["models"]
    acknowledged = [i for i, (rc, _, _) in enumerate(results) if rc == 0]
    missing = [i for i in acknowledged if models.get(f"w{i}", {}).get("seed") != round_ * 100 + i]
    print(f"\nround {round_}: {len(acknowledged)}/{WRITERS} exited 0, {len(missing)} of those missing from the file")
    assert missing == []
    # The CLI holds the lock across its own read, so writers queue instead of refusing each other.
    assert len(acknowledged) == WRITERS, results


def test_killed_writer_leaves_old_or_new_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text("{ gateway: { port: 1000 } }\n", encoding="utf-8")
    for attempt in range(4):
        proc = spawn(config, "set", "gateway.port", str(2000 + attempt))
        time.sleep(0.4 + 0.4 * attempt)  # early in start-up … late in the write
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        port = load_config(config).config.gateway.port  # a valid file, old or new
        assert port in (1000, *range(2000, 2000 + attempt + 1))
    # Whatever was killed, the next write goes through (no lock left held, no stale state).
    assert cli(config, "set", "gateway.port", "3000").returncode == 0
    assert json5.loads(config.read_text(encoding="utf-8"))["gateway"]["port"] == 3000


def test_value_nested_80_deep_is_78_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.json5"
    config.write_text("{}\n", encoding="utf-8")
    deep = "{a:" * 80 + "1" + "}" * 80
    proc = cli(config, "set", "models.providers", deep)
    assert proc.returncode == 78 and "nested too deeply" in proc.stderr
    proc = cli(config, "set", "gateway.port", "9" * 5000)
    assert proc.returncode == 78 and "number too long" in proc.stderr
    assert config.read_text(encoding="utf-8") == "{}\n"
    assert not list(tmp_path.glob("*.bak*"))


def test_symlinked_config_is_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "clawtop.json5"
    real.parent.mkdir()
    real.write_text("// mine\n{ gateway: { port: 1000 } }\n", encoding="utf-8")
    link = tmp_path / "config.json5"
    link.symlink_to(real)
    assert cli(link, "set", "gateway.port", "2000").returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "// mine" in real.read_text(encoding="utf-8")
    assert json5.loads(real.read_text(encoding="utf-8"))["gateway"]["port"] == 2000
    assert (real.parent / "clawtop.json5.bak").exists()
    assert json.loads(cli(link, "get", "gateway.port").stdout) == 2000


@pytest.mark.parametrize("text", ["", "// just started\n"])
def test_set_on_an_empty_config_file(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.json5"
    config.write_text(text, encoding="utf-8")
    assert cli(config, "set", "gateway.port", "2000").returncode == 0
    written = config.read_text(encoding="utf-8")
    assert json5.loads(written)["gateway"]["port"] == 2000
    assert written.startswith(text)


def test_set_on_a_fifo_or_directory_is_78(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json5"
    os.mkfifo(fifo)
    folder = tmp_path / "dir.json5"
    folder.mkdir()
    for target in (fifo, folder):
        proc = cli(target, "set", "gateway.port", "2000")
        assert proc.returncode == 78, proc.stderr
        assert "not a regular file" in proc.stderr
