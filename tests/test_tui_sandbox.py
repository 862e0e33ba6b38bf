"""Sandbox pane: a row per container from real sandbox events (exec in the process fallback —
NOT ISOLATED in bold — and in a real container), keyed-diff updates, stale rows, the exec log,
the drill-down modal, and the plain "sandboxing is off" notice."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from core.sandbox.events import SandboxContainerCreated, SandboxLimitHit, SandboxStats
from tests import tui_support
from tests.sandbox_support import busybox_image, docker_client, sandbox_prefix  # noqa: F401
from tests.tui_support import gateway_with_config as make_gateway
from tui.app import ClawtopApp
from tui.panes import SandboxPane
from tui.panes.sandbox import NOT_ISOLATED, OFF_NOTICE
from tui.screens.sandbox_detail import SandboxDetailScreen

SIZE = (160, 50)
FAST = "simulator: { models: { fast: { ttftMs: 2, tokensPerSec: 8000, replyTokens: 8 } } },"
wait_until = partial(tui_support.wait_until, timeout=15.0, step=0.05)


def pane_of(app: ClawtopApp) -> SandboxPane:
    return app.dashboard.query_one(SandboxPane)


def row_text(pane: SandboxPane, key: str) -> list[str]:
    table = pane.query_one("#sandbox-containers", DataTable)
    return [getattr(cell, "plain", str(cell)) for cell in table.get_row(key)]


def stats(name: str, cpu: float, mem: int, pids: int, *, stale: bool = False, isolated: bool = True) -> SandboxStats:
    return SandboxStats(name=name, cpu_percent=cpu, memory_bytes=mem, memory_limit_bytes=1 << 30, pids=pids,
                        pids_limit=256, stale=stale, isolated=isolated)


async def test_off_says_so_plainly(tmp_path: Path) -> None:
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=SIZE):
        pane = pane_of(app)
        assert pane.has_class("-empty")
        assert str(pane.query_one(".pane--waiting", Static).render()) == OFF_NOTICE
        assert pane.HELP_LINE == "Container usage against its limits."


async def test_rows_update_only_changed_cells_and_mark_hits_and_stale(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, '{ agents: { defaults: { sandbox: { mode: "all" } } } }')
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        bus = gateway.bus
        bus.publish(SandboxContainerCreated(name="c1", scope_key="agent:main", image="img", config_hash="h"))
        for percent in (5.0, 50.0, 100.0):
            bus.publish(stats("c1", percent, 256 << 20, 4))
        await wait_until(pilot, lambda: "c1" in pane.containers and len(pane.containers["c1"].samples) == 3)
        _name, backend, cpu, mem, pids, hits, hardening = row_text(pane, "c1")
        assert backend == "docker" and cpu.endswith("100%/1") and cpu.startswith("▁▅█")
        assert mem.endswith("256M/1.0G") and pids.endswith("4/256") and hits == "—"
        assert "ro" in hardening.split() and "net:none" in hardening.split()
        before = pane.cell_updates
        pane.apply_events([SandboxLimitHit(name="c1", limit="memory", detail="exit 137, OOMKilled")])
        assert pane.cell_updates == before + 1 and row_text(pane, "c1")[5] == "⚠ memory"
        pane.apply_events([stats("c1", 100.0, 256 << 20, 4, stale=True)])
        cell = pane.query_one("#sandbox-containers", DataTable).get_row("c1")[2]
        assert "dim" in str(cell.style)


async def test_process_exec_shows_not_isolated_row_stats_and_detail(tmp_path: Path) -> None:
    gateway = make_gateway(
        tmp_path, f'{{ {FAST} agents: {{ defaults: {{ sandbox: {{ mode: "all", backend: "process" }} }} }} }}'
    )
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.providers is not None and gateway.sandbox is not None)
        result = await gateway.chat.send('[[tool:exec {"command":"echo hi"}]]')
        assert [c["name"] for c in result.tool_calls] == ["exec"]
        pane = pane_of(app)
        await wait_until(pilot, lambda: any(s.samples and s.execs for s in pane.containers.values()))
        (name,) = pane.containers
        cells = row_text(pane, name)
        assert cells[1] == NOT_ISOLATED
        table = pane.query_one("#sandbox-containers", DataTable)
        assert "bold" in str(table.get_row(name)[1].style)
        assert "/256" in cells[4]
        execs = pane.query_one("#sandbox-execs", DataTable)
        assert execs.row_count == 1 and NOT_ISOLATED in str(execs.get_row_at(0)[4])
        await pilot.press("4")
        assert app.focused is table
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SandboxDetailScreen))
        assert NOT_ISOLATED in str(app.screen.query_one("#sandbox-detail-isolation", Static).render())
        assert app.screen.query_one("#sandbox-detail-execs", DataTable).row_count == 1
        await pilot.press("escape")
        assert app.screen is app.dashboard


@pytest.mark.docker
async def test_container_exec_shows_live_stats(tmp_path: Path, docker_client: Any, busybox_image: str,
                                               sandbox_prefix: str) -> None:
    gateway = make_gateway(tmp_path, f'{{ {FAST} agents: {{ defaults: {{ sandbox: {{ mode: "all", docker: {{ '
                                     f'image: "{busybox_image}", containerPrefix: "{sandbox_prefix}" }} }} }} }} }}')
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.providers is not None and gateway.sandbox is not None)
        result = await gateway.chat.send('[[tool:exec {"command":"id -u"}]]')
        assert not result.tool_calls[0]["isError"]
        pane = pane_of(app)
        await wait_until(pilot, lambda: any(len(s.samples) >= 2 and s.execs for s in pane.containers.values()))
        (name,) = pane.containers
        assert name.startswith(sandbox_prefix)
        backend, cpu, mem, pids, _hits, hardening = row_text(pane, name)[1:]
        assert backend == "docker" and cpu.endswith("%/1") and mem.endswith("/1.0G") and pids.endswith("/256")
        assert {"ro", "nnp", "init", "net:none", "cap-drop:ALL"} <= set(hardening.split())
        await pilot.press("4", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SandboxDetailScreen))
        assert app.screen.query_one("#sandbox-detail-samples", DataTable).row_count >= 2
        await pilot.press("escape")
