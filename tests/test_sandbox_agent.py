"""The agent's ``exec`` tool end to end: a simulator tool trigger makes the agent loop run a
command in the session's sandbox — a real hardened container built from the busybox test image,
or the process fallback, whose result says NOT ISOLATED — and the ``toolResult`` lands in the
transcript. ``exec`` is offered only when sandboxing is on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.agent.tools import TOOL_SPECS
from core.config.loader import load_config
from core.gateway import Gateway
from tests.sandbox_support import busybox_image, docker_client, sandbox_prefix  # noqa: F401

FAST = "fast: { ttftMs: 2, tokensPerSec: 8000, replyTokens: 12, contextWindow: 16000 }"
ID_U = '[[tool:exec {"command":"id -u"}]]'


def gateway_for(home: Path, sandbox: str) -> Gateway:
    (home / "ws").mkdir(exist_ok=True)
    path = home / "config.json5"
    path.write_text(f"""{{
      simulator: {{ models: {{ {FAST} }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}", sandbox: {sandbox} }} }},
    }}""", encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


def tool_results(gateway: Gateway, session_id: str) -> list[dict[str, Any]]:
    assert gateway.sessions is not None
    lines = gateway.sessions.transcript_path(session_id).read_text(encoding="utf-8").splitlines()
    messages = [json.loads(line).get("message") for line in lines if line.strip()]
    return [m for m in messages if m and m.get("role") == "toolResult"]


async def test_exec_is_not_offered_when_sandboxing_is_off(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, '{ mode: "off" }')
    await gateway.start()
    try:
        assert gateway.sandbox is None
        assert gateway.agent.tool_specs("main") == TOOL_SPECS
        result = await gateway.chat.send(ID_U)
    finally:
        await gateway.stop()
    # The simulator only calls offered tools: no exec ran.
    assert not any(call["name"] == "exec" for call in result.tool_calls)


async def test_non_main_mode_keeps_the_main_session_unsandboxed(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, '{ mode: "non-main", backend: "process" }')
    await gateway.start()
    try:
        assert [s.name for s in gateway.agent.tool_specs("main")] == [s.name for s in TOOL_SPECS]
        assert [s.name for s in gateway.agent.tool_specs("side")][-1] == "exec"
    finally:
        await gateway.stop()


async def test_exec_on_the_process_fallback_says_not_isolated(tmp_path: Path) -> None:
    gateway = gateway_for(tmp_path, '{ mode: "all", backend: "process" }')
    sub = gateway.bus.subscribe("test", kinds=["sandbox.exec"])
    await gateway.start()
    try:
        assert gateway.sandbox is not None
        result = await gateway.chat.send('[[tool:exec {"command":"echo hi; exit 3"}]]')
        _timeout = await gateway.chat.send('[[tool:exec {"command":"sleep 5", "timeout": 0.3}]]')
    finally:
        await gateway.stop()
    assert [c["name"] for c in result.tool_calls] == ["exec"] and not result.tool_calls[0]["isError"]
    first, second = tool_results(gateway, result.session_id)
    text = first["content"][0]["text"]
    assert text.startswith("NOT ISOLATED") and "exit code: 3" in text and "hi" in text
    assert second["isError"] and "timed out after 0.3 s" in second["content"][0]["text"]
    execs = sub.take_nowait()
    assert execs and all(e.isolated is False for e in execs)


@pytest.mark.docker
async def test_exec_runs_in_a_hardened_container(tmp_path: Path, docker_client: Any, busybox_image: str,
                                                 sandbox_prefix: str) -> None:
    gateway = gateway_for(tmp_path, f'{{ mode: "all", docker: {{ image: "{busybox_image}", '
                                    f'containerPrefix: "{sandbox_prefix}" }} }}')
    sub = gateway.bus.subscribe("test", kinds=["sandbox.exec", "sandbox.container_created"])
    await gateway.start()
    try:
        result = await gateway.chat.send(ID_U)
        names = list(gateway.sandbox_containers) or [e.name for e in sub.take_nowait() if e.kind == "sandbox.exec"]
    finally:
        await gateway.stop()
    assert [c["name"] for c in result.tool_calls] == ["exec"] and not result.tool_calls[0]["isError"]
    (only,) = tool_results(gateway, result.session_id)
    text = only["content"][0]["text"]
    assert "NOT ISOLATED" not in text and "exit code: 0" in text
    uid = text.split("stdout:\n", 1)[1].split()[0]
    assert uid.isdigit() and int(uid) != 0
    (container,) = [c for c in docker_client.containers.list(all=True, filters={"label": "clawtop.sandbox=1"})
                    if c.name.startswith(sandbox_prefix)]
    host = container.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] and host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"]
    assert host["NanoCpus"] == 1_000_000_000 and host["PidsLimit"] == 256
    assert any(o.startswith("no-new-privileges") for o in host["SecurityOpt"])
    assert names == [container.name] or container.name in names
