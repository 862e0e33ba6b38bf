"""``clawtop send --json`` reports the tool calls of the whole turn, also when a later model call
of the turn fails: the tool ran and changed the workspace, so the document must say so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.provider_support import FAST, send

EDIT = '[[tool:edit {"path":"a.txt","oldText":"hello","newText":"bye"}]]'


def test_tool_calls_of_a_turn_whose_second_call_failed(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("hello file", encoding="utf-8")
    # First call: the edit tool call (ok); second call, with the tool's result: reset mid-reply.
    config = (f'{{ simulator: {{ {FAST}, faults: {{ script: "ok,reset" }} }}, '
              f'agents: {{ defaults: {{ workspace: "{workspace}" }} }} }}')
    result = send(tmp_path, config, "--json", EDIT)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["error"]["class"] == "ambiguous"
    assert (workspace / "a.txt").read_text(encoding="utf-8") == "bye file"
    (call,) = doc["toolCalls"]
    assert (call["name"], call["isError"], call["iteration"]) == ("edit", False, 1)
    assert call["input"] == {"path": "a.txt", "oldText": "hello", "newText": "bye"}
    assert call["toolCallId"]
