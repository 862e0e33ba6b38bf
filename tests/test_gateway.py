"""The gateway shell: lifecycle, persistence on stop, hot reload by mode, and headless mode."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config.loader import load_config
from core.events import ConfigInvalid, ConfigReloaded, Event
from core.gateway import Gateway, GatewayState

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    return {"CLAWTOP_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}


def _kinds(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT kind FROM events ORDER BY id")]


async def _next_event(sub, kind: type[Event], timeout: float = 10.0) -> Event:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await sub.get_batch(timeout=0.2):
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__} event within {timeout}s")


async def test_start_stop_persists_lifecycle_events(tmp_path: Path) -> None:
    env = _env(tmp_path)
    gateway = Gateway(load_config(None, env=env), env=env, watch_config=False)
    assert gateway.loaded.source == "defaults (no config file)"
    await gateway.start()
    assert gateway.state is GatewayState.RUNNING
    await gateway.stop()
    assert gateway.state is GatewayState.STOPPED
    assert _kinds(gateway.loaded.db_path) == ["gateway.started", "gateway.stopped"]


async def _running_with_file(tmp_path: Path, text: str) -> tuple[Gateway, Path]:
    config = tmp_path / "config.json5"
    config.write_text(text)
    env = _env(tmp_path)
    gateway = Gateway(load_config(config, env=env), env=env)
    await gateway.start()
    return gateway, config


async def test_hot_change_is_applied_and_announced(tmp_path: Path) -> None:
    gateway, config = await _running_with_file(
        tmp_path, '{\n  // mine\n  ui: { theme: "clawtop-dark" },\n}\n'
    )
    sub = gateway.bus.subscribe("test")
    try:
        config.write_text('{\n  // mine\n  ui: { theme: "clawtop-light" },\n}\n')
        event = await _next_event(sub, ConfigReloaded)
        assert event.changed_paths == ("ui.theme",)
        assert event.hot_paths == ("ui.theme",) and event.action == "applied"
        assert gateway.config.ui.theme == "clawtop-light"
    finally:
        await gateway.stop()


async def test_restart_kind_change_restarts_the_store_in_process(tmp_path: Path) -> None:
    gateway, config = await _running_with_file(tmp_path, "{}\n")
    sub = gateway.bus.subscribe("test")
    first_db = gateway.loaded.db_path
    try:
        config.write_text('{ telemetry: { dbPath: "other.sqlite3" } }\n')
        event = await _next_event(sub, ConfigReloaded)
        assert event.restart_paths == ("telemetry.dbPath",)
        assert event.action == "restarted"
        assert gateway.loaded.db_path.name == "other.sqlite3"
    finally:
        await gateway.stop()
    assert "gateway.started" in _kinds(first_db)
    assert _kinds(gateway.loaded.db_path)[-1] == "gateway.stopped"


async def test_hot_mode_skips_the_restart_and_keeps_it_pending(tmp_path: Path) -> None:
    gateway, config = await _running_with_file(tmp_path, '{ gateway: { reload: { mode: "hot" } } }\n')
    sub = gateway.bus.subscribe("test")
    try:
        config.write_text('{ gateway: { port: 19001, reload: { mode: "hot" } } }\n')
        event = await _next_event(sub, ConfigReloaded)
        assert event.action == "restart-skipped"
        assert gateway.restart_pending == ("gateway.port",)
    finally:
        await gateway.stop()


async def test_invalid_change_keeps_the_old_config_running(tmp_path: Path) -> None:
    gateway, config = await _running_with_file(tmp_path, '{ ui: { refreshMs: 500 } }\n')
    sub = gateway.bus.subscribe("test")
    try:
        config.write_text("{ ui: { refreshMs: 5 } }\n")
        event = await _next_event(sub, ConfigInvalid)
        assert any("ui.refreshMs" in issue for issue in event.issues)
        assert gateway.config.ui.refresh_ms == 500
        assert gateway.config_error is not None
        config.write_text("{ ui: { refreshMs: 750 } }\n")
        await _next_event(sub, ConfigReloaded)
        assert gateway.config_error is None and gateway.config.ui.refresh_ms == 750
    finally:
        await gateway.stop()


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_headless_gateway_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    env = dict(os.environ, **_env(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "clawtop", "gateway"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    db = tmp_path / "state" / "telemetry.sqlite3"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if db.exists() and "gateway.started" in _kinds(db):
                    break
            except sqlite3.OperationalError:
                pass  # the file exists before its first migration has created the table
            time.sleep(0.1)
        else:
            raise AssertionError("the gateway never recorded gateway.started")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "gateway running" in stderr and "gateway stopped" in stderr
    assert _kinds(db)[-1] == "gateway.stopped"
