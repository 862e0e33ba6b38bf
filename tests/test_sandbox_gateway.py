"""The gateway's sandbox wiring: the manager and the stats sampler start with the gateway when
``agents.defaults.sandbox.mode`` is not ``off``, a running container is sampled live, and editing
``cpus`` in the config file updates the running container in place (``HostConfig.NanoCpus``)
within seconds, announced by ``sandbox.limits_updated``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from core.config.loader import load_config
from core.events import ConfigReloaded, Event
from core.gateway import Gateway
from core.sandbox.events import SandboxLimitsUpdated, SandboxStats
from tests.sandbox_support import busybox_image, docker_client, sandbox_prefix  # noqa: F401

RELOAD_WAIT_S = 15.0
"""Bound for "within seconds": debounce + one engine update, with slack for a loaded CI host."""


def config_text(image: str, prefix: str, cpus: float) -> str:
    return (f'{{ simulator: {{ models: {{ fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 8 }} }} }},\n'
            f'  gateway: {{ reload: {{ debounceMs: 50 }} }},\n'
            f'  agents: {{ defaults: {{ sandbox: {{ mode: "all", docker: {{ image: "{image}", '
            f'containerPrefix: "{prefix}", cpus: {cpus} }} }} }} }} }}\n')


async def wait_for(sub: Any, seen: list[Event], kind: type[Event], predicate: Any = lambda e: True,
                   timeout: float = RELOAD_WAIT_S) -> Event:
    """The first ``kind`` event matching ``predicate``, already seen or arriving within ``timeout``
    (events are kept in ``seen``: the limits update is published before ``ConfigReloaded``)."""
    deadline = time.monotonic() + timeout
    while True:
        for event in seen:
            if isinstance(event, kind) and predicate(event):
                return event
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {kind.__name__} within {timeout}s")
        seen.extend(await sub.get_batch(timeout=0.2))


async def test_sandbox_off_starts_nothing(tmp_path: Path) -> None:
    env = {"CLAWTOP_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}
    gateway = Gateway(load_config(None, env=env), env=env, watch_config=False)
    await gateway.start()
    try:
        assert gateway.sandbox is None and gateway.sandbox_stats is None
    finally:
        await gateway.stop()


@pytest.mark.docker
async def test_cpus_edit_updates_the_running_container(tmp_path: Path, docker_client: Any,
                                                       busybox_image: str, sandbox_prefix: str) -> None:
    path = tmp_path / "config.json5"
    path.write_text(config_text(busybox_image, sandbox_prefix, 1.0), encoding="utf-8")
    env = {"CLAWTOP_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}
    gateway = Gateway(load_config(path, env=env, dotenv=False), env=env)
    sub = gateway.bus.subscribe("test")
    seen: list[Event] = []
    await gateway.start()
    try:
        assert gateway.sandbox is not None and gateway.sandbox_stats is not None
        result = await gateway.chat.send('[[tool:exec {"command":"echo ready"}]]')
        assert not result.tool_calls[0]["isError"]
        (container,) = [c for c in docker_client.containers.list(filters={"label": "clawtop.sandbox=1"})
                        if c.name.startswith(sandbox_prefix)]
        assert container.attrs["HostConfig"]["NanoCpus"] == 1_000_000_000
        # The sampler watches the container the exec created: live stats arrive.
        stats = await wait_for(sub, seen, SandboxStats, lambda e: e.name == container.name)
        assert stats.isolated and stats.pids_limit == 256

        path.write_text(config_text(busybox_image, sandbox_prefix, 1.5), encoding="utf-8")
        reloaded = await wait_for(sub, seen, ConfigReloaded)
        assert "agents.defaults.sandbox.docker.cpus" in reloaded.hot_paths
        updated = await wait_for(sub, seen, SandboxLimitsUpdated, lambda e: e.name == container.name)
        assert updated.changed == ("cpus",) and not updated.applies_on_recreate
        container.reload()
        assert container.attrs["HostConfig"]["NanoCpus"] == 1_500_000_000
    finally:
        await gateway.stop()
    assert gateway.sandbox is None and gateway.sandbox_stats is None
