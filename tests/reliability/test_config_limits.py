"""Regression tests for "exit 78, never a traceback" and config exposure: each input the probe
found crashing, hanging or silently accepted, through the real ``clawtop config`` entry point."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clawtop.cli import main
from core.config.schema.simulator import SimulatorConfig
from core.sim.server import SimulatorServer

REPO = Path(__file__).resolve().parents[2]


def validate(tmp_path: Path, text: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``clawtop config validate`` in-process on ``text``: (exit code, stdout + stderr)."""
    path = tmp_path / "config.json5"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    rc = main(["config", "validate", str(path)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "clawtop", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# --- numbers, types, reserved keys, NUL ---------------------------------------------------------


def test_integer_of_5000_digits_is_78_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "b.json5").write_text("{gateway:{port:" + "9" * 5000 + "}}", encoding="utf-8")
    proc = cli("config", "validate", "b.json5", cwd=tmp_path)
    assert proc.returncode == 78
    assert "gateway.port" in proc.stderr and "number too long" in proc.stderr


@pytest.mark.parametrize(("text", "path", "found"), [
    ("{gateway:{port:true}}", "gateway.port", "found true"),
    ("{gateway:{port:'80'}}", "gateway.port", 'found "80" (a string)'),
    ("{agents:{defaults:{compaction:{enabled:'true'}}}}", "agents.defaults.compaction.enabled",
     'found "true" (a string)'),
    ("{agents:{defaults:{compaction:{enabled:1}}}}", "agents.defaults.compaction.enabled", "found 1 (a number)"),
])
def test_wrong_types_are_not_coerced(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     text: str, path: str, found: str) -> None:
    rc, out = validate(tmp_path, text, capsys)
    assert rc == 78
    assert f"{path}: wrong type (expected " in out and found in out


def test_durations_and_sizes_keep_their_string_and_number_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = validate(tmp_path, "{agents:{defaults:{contextPruning:{ttl:'5m'}}}, "
                                 "auth:{cooldowns:{billingBackoffHours: 2}}}", capsys)
    assert rc == 0, out
    rc, out = validate(tmp_path, "{agents:{defaults:{contextPruning:{ttl:5}}}}", capsys)
    assert rc == 0, out


@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_reserved_keys_are_unknown_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    rc, out = validate(tmp_path, f"{{gateway:{{port:8080, {key}:{{polluted:true}}}}}}", capsys)
    assert rc == 78 and f"gateway.{key}: unknown key `{key}`" in out


def test_reserved_keys_in_an_included_file_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "part.json5").write_text("{ __proto__: { port: 1 } }", encoding="utf-8")
    rc, out = validate(tmp_path, "{ gateway: { $include: 'part.json5' } }", capsys)
    assert rc == 78 and "unknown key `__proto__`" in out and "part.json5" in out


@pytest.mark.parametrize("key", ["telemetry:{dbPath", "agents:{defaults:{workspace"])
def test_nul_byte_in_a_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    closing = "}" * key.count("{")
    rc, out = validate(tmp_path, "{" + key + ":'/tmp/a\\u0000b'" + closing + "}", capsys)
    assert rc == 78 and "NUL byte" in out


def test_db_path_at_a_device_or_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = validate(tmp_path, "{telemetry:{dbPath:'/dev/null'}}", capsys)
    assert rc == 78 and "telemetry.dbPath: /dev/null is a character device" in out
    (tmp_path / "dbdir").mkdir()
    rc, out = validate(tmp_path, f"{{telemetry:{{dbPath:'{tmp_path / 'dbdir'}'}}}}", capsys)
    assert rc == 78 and "is a directory" in out
    rc, out = validate(tmp_path, f"{{telemetry:{{dbPath:'{tmp_path / 'new.sqlite3'}'}}}}", capsys)
    assert rc == 0, out


def test_base_url_port_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for port in ("99999", "0"):
        rc, out = validate(tmp_path, "{models:{providers:{x:{baseUrl:'http://127.0.0.1:" + port + "/v1'}}}}",
                           capsys)
        assert rc == 78 and "models.providers.x.baseUrl" in out and "invalid port" in out


# --- what is read: FIFOs, devices, directories, sizes -----------------------------------------


def test_fifo_as_config_and_as_include_fail_fast(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json5")
    (tmp_path / "main.json5").write_text("{ agents: { $include: 'pipe.json5' } }", encoding="utf-8")
    for name in ("pipe.json5", "main.json5"):
        started = time.monotonic()
        proc = cli("config", "validate", name, cwd=tmp_path, timeout=30)
        assert proc.returncode == 78 and "FIFO" in proc.stderr, proc.stderr
        assert time.monotonic() - started < 30


def test_directory_and_device_as_config_or_include(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.json5").mkdir()
    (tmp_path / "zero.json5").symlink_to("/dev/zero")
    assert main(["config", "validate", "/dev/zero"]) == 78
    assert "character device" in capsys.readouterr().err
    assert main(["config", "validate", str(tmp_path / "d.json5")]) == 78
    assert "is a directory" in capsys.readouterr().err
    rc, out = validate(tmp_path, "{ agents: { $include: 'd.json5' } }", capsys)
    assert rc == 78 and "is a directory, not a regular file" in out


def test_main_file_is_capped_at_2_mib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = validate(tmp_path, "{}\n//" + "x" * (2 * 1024 * 1024), capsys)
    assert rc == 78 and "the limit is 2048 KiB" in out


@pytest.mark.parametrize(("name", "text"), [
    ("deep", "{x:" + "[" * 5000 + "]" * 5000 + "}"),
    ("array", "{x:[" + ",".join(["0"] * 200_000) + "]}"),
    ("keys", "{x:{" + ",".join(f"k{i}:0" for i in range(150_000)) + "}}"),
    ("values", "{x:[" + ",".join(["[" + ",".join(["0"] * 5000) + "]"] * 20) + "]}"),
])
def test_nesting_and_collection_sizes_fail_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                name: str, text: str) -> None:
    started = time.monotonic()
    rc, out = validate(tmp_path, text, capsys)
    assert rc == 78, out
    assert "nested too deeply" in out or "too many" in out
    assert time.monotonic() - started < 5


def test_include_fan_out_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "e.json5").write_text("{}", encoding="utf-8")
    started = time.monotonic()
    rc, out = validate(tmp_path, "{agents:{$include:[" + ",".join(["'e.json5'"] * 9_000) + "]}}", capsys)
    assert rc == 78 and "more than 256 includes" in out
    rc, out = validate(tmp_path, "{agents:{$include:[" + ",".join(["'e.json5'"] * 100_000) + "]}}", capsys)
    assert rc == 78 and "too many items" in out
    assert time.monotonic() - started < 10


def test_ten_thousand_unknown_keys_report_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    rc, out = validate(tmp_path, "{" + ",".join(f"k{i}:0" for i in range(9_000)) + "}", capsys)
    assert rc == 78 and "and 8900 more problems" in out
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("text", ["", "   \n", "// nothing yet\n/* really */\n"])
def test_empty_config_file_means_all_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    rc, out = validate(tmp_path, text, capsys)
    assert rc == 0 and "Config valid" in out
    assert main(["--config", str(tmp_path / "config.json5"), "config", "get", "gateway.port"]) == 0
    assert capsys.readouterr().out.strip() == "18789"


# --- exposure ---------------------------------------------------------------------------------


def test_simulator_host_must_be_loopback_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = validate(tmp_path, "{simulator:{host:'0.0.0.0'}}", capsys)
    assert rc == 78 and "simulator.host" in out and "allowNonLoopback" in out
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        rc, out = validate(tmp_path, f"{{simulator:{{host:'{host}'}}}}", capsys)
        assert rc == 0, out
    rc, out = validate(tmp_path, "{simulator:{host:'0.0.0.0', allowNonLoopback: true}}", capsys)
    assert rc == 0, out


def test_simulator_host_flag_follows_the_same_rule(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match="allowNonLoopback"):
        SimulatorServer(SimulatorConfig(), host="0.0.0.0")

    async def start_stop() -> None:
        server = SimulatorServer(SimulatorConfig.model_validate({"allowNonLoopback": True}), host="0.0.0.0")
        await server.start()
        await server.stop()

    with caplog.at_level(logging.WARNING, logger="core.sim.server"):
        asyncio.run(start_stop())
    assert any("non-loopback" in r.getMessage() for r in caplog.records)


def test_base_url_userinfo_is_redacted_in_show_and_get(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.json5"
    path.write_text("{models:{providers:{x:{baseUrl:'http://u:SUPERSECRETKEY@127.0.0.1:8080/v1'}}}}",
                    encoding="utf-8")
    for args in (["config", "show"], ["config", "get", "models.providers.x.baseUrl"],
                 ["config", "get", "models.providers"]):
        assert main(["--config", str(path), *args]) == 0
        out = capsys.readouterr().out
        assert "SUPERSECRETKEY" not in out and "http://u:__REDACTED__@127.0.0.1:8080/v1" in out
    path.write_text("{models:{providers:{x:{baseUrl:'http://u:SUPERSECRETKEY@127.0.0.1:99999/v1'}}}}",
                    encoding="utf-8")
    assert main(["config", "validate", str(path)]) == 78
    err = capsys.readouterr().err
    assert "SUPERSECRETKEY" not in err and "invalid port" in err
