"""A container allowed weak hardening (``dangerouslyAllowWeakHardening``) is flagged in the
Sandbox pane: its ``WEAK`` tag, from the hardening summary of its real inspect shape, in the error
style."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from core.sandbox.api import ContainerInfo, Limits
from core.sandbox.events import SandboxContainerCreated, SandboxStats
from core.sandbox.hardening import hardening_summary
from tests.test_tui_sandbox import SIZE, pane_of, row_text, wait_until
from tests.tui_support import gateway_with_config
from tui.app import ClawtopApp

CONFIG = ('{ agents: { defaults: { sandbox: { mode: "all", docker: '
          '{ user: "0:0", capDrop: [], readOnlyRoot: false, dangerouslyAllowWeakHardening: true } } } } }')


def _info(name: str, *, weak: bool) -> ContainerInfo:
    inspect = {"Config": {"User": "0:0" if weak else "1000:1000"}, "HostConfig": {
        "ReadonlyRootfs": not weak, "NetworkMode": "none", "CapDrop": [] if weak else ["ALL"],
        "SecurityOpt": ["no-new-privileges"], "Init": True}}
    return ContainerInfo(name=name, scope_key="agent:main", image="img", state="running", created_wall=0.0,
                         last_used_wall=None, config_hash="h", backend="docker", isolated=True,
                         limits=Limits(cpus=1.0, memory_bytes=1 << 30, memory_swap_bytes=1 << 30, pids_limit=256),
                         hardening=hardening_summary(inspect))


async def test_weak_container_is_flagged_in_the_pane(tmp_path: Path) -> None:
    gateway = gateway_with_config(tmp_path, CONFIG)
    gateway.sandbox_runtime.containers.update({"weak": _info("weak", weak=True), "ok": _info("ok", weak=False)})
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        for name in ("weak", "ok"):
            gateway.bus.publish(SandboxContainerCreated(name=name, scope_key="agent:main", image="img",
                                                        config_hash="h"))
            gateway.bus.publish(SandboxStats(name=name, cpu_percent=1.0, memory_bytes=1 << 20,
                                             memory_limit_bytes=1 << 30, pids=2, pids_limit=256))
        await wait_until(pilot, lambda: {"weak", "ok"} <= set(pane.containers))
        table = pane.query_one("#sandbox-containers", DataTable)
        weak_tags = row_text(pane, "weak")[-1].split()
        assert weak_tags[0] == "WEAK:root,caps,rw-root", weak_tags
        assert "bold" in str(table.get_row("weak")[-1].style)
        assert not any(t.startswith("WEAK") for t in row_text(pane, "ok")[-1].split())
        assert "bold" not in str(table.get_row("ok")[-1].style)
