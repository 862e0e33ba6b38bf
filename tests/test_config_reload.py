"""Reload: path diff, the clawtop reload plan, mode decisions and the polling watcher."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from core.config.diff import changed_paths, config_changed_paths
from core.config.errors import ConfigError
from core.config.loader import LoadedConfig, load_config
from core.config.reload_plan import decide, plan_reload, reload_kind
from core.config.watcher import ConfigWatcher

# --- diff --------------------------------------------------------------------------------------


def test_changed_paths_recurses_objects_and_compares_arrays_whole() -> None:
    old = {"a": {"b": 1, "c": [1, {"x": 1}], "d": True}, "gone": 1, "same": [1, 2]}
    new = {"a": {"b": 2, "c": [1, {"x": 2}], "d": 1}, "added": {"k": 1}, "same": [1, 2]}
    assert changed_paths(old, new) == ["a.b", "a.c", "a.d", "gone", "added"]
    assert changed_paths({"n": 5}, {"n": 5.0}) == []
    assert changed_paths({}, {}) == []


def test_config_changed_paths_sees_defaults_as_unchanged(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    (tmp_path / "a.json5").write_text("{}")
    (tmp_path / "b.json5").write_text(
        "{ gateway: { port: 18789 }, agents: { defaults: { contextPruning: { ttl: '6m' } } } }")
    a = load_config(tmp_path / "a.json5", env=env, dotenv=False).config
    b = load_config(tmp_path / "b.json5", env=env, dotenv=False).config
    assert config_changed_paths(a, b) == ["agents.defaults.contextPruning.ttl"]


# --- plan --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("retry.attempts", "hot"),
        ("channels.telegram.retry.attempts", "hot"),
        ("channels.telegram.accounts.main.retry.minDelayMs", "hot"),
        ("models.providers.anthropic.retry.attempts", "hot"),
        ("auth.cooldowns.billingBackoffHours", "hot"),
        ("agents.defaults.contextPruning.ttl", "hot"),
        ("agents.defaults.compaction.reserveTokens", "hot"),
        ("contextAccounting.charsPerToken", "hot"),
        ("agents.defaults.sandbox.docker.cpus", "hot"),
        ("agents.defaults.sandbox.docker.image", "hot"),
        ("bench.runs", "none"),
        ("ui.theme", "hot"),
        ("gateway.reload.debounceMs", "none"),
        ("gateway.port", "restart"),
        ("plugins.entries", "restart"),
        ("models.providers.anthropic.baseUrl", "restart"),
        ("channels.telegram.token", "restart"),
        ("retryx", "restart"),
        ("", "restart"),
    ],
)
def test_reload_kind_table(path: str, kind: str) -> None:
    assert reload_kind(path) == kind


def test_plan_groups_paths_and_actions() -> None:
    plan = plan_reload(["agents.defaults.sandbox.docker.memory", "agents.defaults.sandbox.docker.image",
                        "gateway.port", "bench.runs", "ui.theme"])
    assert plan.hot == ("agents.defaults.sandbox.docker.memory", "agents.defaults.sandbox.docker.image", "ui.theme")
    assert plan.restart == ("gateway.port",) and plan.none == ("bench.runs",)
    assert dict(plan.actions) == {
        "docker-update": ("agents.defaults.sandbox.docker.memory",),
        "sandbox-drift": ("agents.defaults.sandbox.docker.image",),
        "ui": ("ui.theme",),
    }


def test_decide_by_mode() -> None:
    hot_only = plan_reload(["ui.theme"])
    both = plan_reload(["ui.theme", "gateway.port"])
    assert decide(hot_only, "hybrid").apply_hot and not decide(hot_only, "hybrid").restart
    assert decide(both, "hybrid").restart
    assert decide(both, "hot").skipped_restart and not decide(both, "hot").restart
    assert decide(hot_only, "restart").restart
    off = decide(both, "off")
    assert not off.apply_hot and not off.restart
    assert decide(plan_reload([]), "hybrid").note == "no changes"


# --- watcher -----------------------------------------------------------------------------------


class Recorder:
    """Collects watcher callbacks and lets a test await the next one with a deadline."""

    def __init__(self) -> None:
        self.changes: list[LoadedConfig] = []
        self.invalid: list[ConfigError] = []
        self.event = asyncio.Event()

    async def on_change(self, loaded: LoadedConfig) -> None:
        self.changes.append(loaded)
        self.event.set()

    async def on_invalid(self, error: ConfigError) -> None:
        self.invalid.append(error)
        self.event.set()

    async def next(self, timeout: float = 1.0) -> float:
        start = time.monotonic()
        await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()
        return time.monotonic() - start


def rewrite(path: Path, text: str) -> None:
    """Write and bump mtime explicitly: two writes within one timestamp tick must still differ."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


async def start_watcher(tmp_path: Path, rec: Recorder, text: str = "{ gateway: { port: 18790 } }",
                        debounce_ms: int = 300) -> tuple[Path, ConfigWatcher]:
    cfg = tmp_path / "config.json5"
    cfg.write_text(text)
    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    current = load_config(cfg, env=env, dotenv=False)
    watcher = ConfigWatcher(cfg, debounce_ms=debounce_ms, on_change=rec.on_change, on_invalid=rec.on_invalid,
                            explicit=cfg, env=env, current=current)
    await watcher.start()
    return cfg, watcher


async def test_valid_change_applied_within_one_second(tmp_path: Path) -> None:
    rec = Recorder()
    cfg, watcher = await start_watcher(tmp_path, rec)
    try:
        rewrite(cfg, "{ gateway: { port: 18791 } }")
        elapsed = await rec.next(timeout=1.0)
        assert elapsed < 1.0
        assert rec.changes[-1].data == {"gateway": {"port": 18791}}
        assert not rec.invalid
    finally:
        await watcher.stop()


async def test_invalid_change_reports_and_fix_recovers(tmp_path: Path) -> None:
    rec = Recorder()
    cfg, watcher = await start_watcher(tmp_path, rec)
    try:
        rewrite(cfg, "{ gateway: { prot: 1 } }")
        await rec.next()
        assert not rec.changes and "did you mean `port`?" in rec.invalid[0].format()
        rewrite(cfg, "{ gateway: { port: 18792 } }")
        await rec.next()
        assert rec.changes[-1].config.gateway.port == 18792
    finally:
        await watcher.stop()


async def test_touch_without_content_change_does_not_reload(tmp_path: Path) -> None:
    rec = Recorder()
    cfg, watcher = await start_watcher(tmp_path, rec)
    try:
        rewrite(cfg, cfg.read_text())
        with pytest.raises(TimeoutError):
            await rec.next(timeout=0.8)
        assert not rec.changes and not rec.invalid
    finally:
        await watcher.stop()


async def test_burst_of_writes_is_debounced_into_one_reload(tmp_path: Path) -> None:
    rec = Recorder()
    cfg, watcher = await start_watcher(tmp_path, rec, debounce_ms=300)
    try:
        for port in (18801, 18802, 18803, 18804):
            rewrite(cfg, f"{{ gateway: {{ port: {port} }} }}")
            await asyncio.sleep(0.12)
        await rec.next(timeout=1.5)
        await asyncio.sleep(0.5)
        assert [c.config.gateway.port for c in rec.changes] == [18804]
    finally:
        await watcher.stop()


async def test_included_file_change_reloads(tmp_path: Path) -> None:
    rec = Recorder()
    (tmp_path / "ui.json5").write_text("{ theme: 'clawtop-dark' }")
    _cfg, watcher = await start_watcher(tmp_path, rec, text="{ ui: { $include: 'ui.json5' } }")
    try:
        rewrite(tmp_path / "ui.json5", "{ theme: 'clawtop-light' }")
        await rec.next()
        assert rec.changes[-1].data["ui"]["theme"] == "clawtop-light"
    finally:
        await watcher.stop()


async def test_reload_now_skips_the_debounce(tmp_path: Path) -> None:
    rec = Recorder()
    cfg, watcher = await start_watcher(tmp_path, rec, debounce_ms=5000)
    try:
        rewrite(cfg, "{ gateway: { port: 18793 } }")
        watcher.reload_now()
        elapsed = await rec.next(timeout=1.0)
        assert elapsed < 1.0 and rec.changes[-1].config.gateway.port == 18793
    finally:
        await watcher.stop()
    assert not watcher.running
