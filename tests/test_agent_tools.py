"""The workspace file tools: confinement (``..``, absolute paths, symlinks out), edit semantics,
and that every failure is an ``is_error`` result the model can read, never an exception."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.agent.tools import TOOL_SPECS, Workspace, run_tool


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("alpha\nbeta\ngamma\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("top secret", encoding="utf-8")
    return Workspace(root)


def test_specs_are_the_four_file_tools() -> None:
    assert [s.name for s in TOOL_SPECS] == ["read", "write", "edit", "ls"]
    assert all(s.input_schema["type"] == "object" for s in TOOL_SPECS)


@pytest.mark.parametrize("tool,args", [
    ("read", {"path": "../secret.txt"}),
    ("read", {"path": "sub/../../secret.txt"}),
    ("write", {"path": "../evil.txt", "content": "x"}),
    ("edit", {"path": "../secret.txt", "oldText": "top", "newText": "no"}),
    ("ls", {"path": ".."}),
])
async def test_dotdot_is_refused(ws: Workspace, tool: str, args: dict[str, object]) -> None:
    out = await run_tool(ws, tool, args)
    assert out.is_error and out.refused is not None
    assert "outside the workspace" in out.text and "escapes the workspace root" in out.text
    assert (ws.root.parent / "secret.txt").read_text() == "top secret"
    assert not (ws.root.parent / "evil.txt").exists()


async def test_absolute_path_outside_is_refused_inside_is_allowed(ws: Workspace) -> None:
    out = await run_tool(ws, "read", {"path": str(ws.root.parent / "secret.txt")})
    assert out.is_error and out.refused is not None
    ok = await run_tool(ws, "read", {"path": str(ws.root / "notes.txt")})
    assert not ok.is_error and ok.text.startswith("alpha")


async def test_symlink_out_of_the_workspace_is_refused(ws: Workspace) -> None:
    os.symlink(ws.root.parent / "secret.txt", ws.root / "link.txt")
    os.symlink(ws.root.parent, ws.root / "up")
    for args in ({"path": "link.txt"}, {"path": "up/secret.txt"}):
        out = await run_tool(ws, "read", args)
        assert out.is_error and out.refused is not None and "symlink" in out.refused.reason
    out = await run_tool(ws, "write", {"path": "up/new.txt", "content": "x"})
    assert out.refused is not None and not (ws.root.parent / "new.txt").exists()
    # ls lists the link (marked) without following it.
    listing = await run_tool(ws, "ls", {})
    assert "link.txt@" in listing.text and "notes.txt\t17" in listing.text


async def test_symlink_inside_the_workspace_is_fine(ws: Workspace) -> None:
    os.symlink(ws.root / "notes.txt", ws.root / "alias.txt")
    out = await run_tool(ws, "read", {"path": "alias.txt"})
    assert not out.is_error and "beta" in out.text


async def test_read_window_write_and_ls(ws: Workspace) -> None:
    out = await run_tool(ws, "read", {"path": "notes.txt", "offset": 2, "limit": 1})
    assert out.text == "beta\n"
    out = await run_tool(ws, "write", {"path": "deep/dir/new.txt", "content": "hello"})
    assert not out.is_error and (ws.root / "deep/dir/new.txt").read_text() == "hello"
    assert "deep/" in (await run_tool(ws, "ls", {})).text
    missing = await run_tool(ws, "read", {"path": "nope.txt"})
    assert missing.is_error and "no such file" in missing.text and missing.refused is None


async def test_edit_semantics(ws: Workspace) -> None:
    path = ws.root / "dup.txt"
    path.write_text("x = 1\nx = 1\ny = 2\n", encoding="utf-8")
    ambiguous = await run_tool(ws, "edit", {"path": "dup.txt", "oldText": "x = 1", "newText": "x = 3"})
    assert ambiguous.is_error and "occurs 2 times" in ambiguous.text
    assert path.read_text() == "x = 1\nx = 1\ny = 2\n"  # untouched
    missing = await run_tool(ws, "edit", {"path": "dup.txt", "oldText": "z", "newText": "w"})
    assert missing.is_error and "not found" in missing.text
    empty = await run_tool(ws, "edit", {"path": "dup.txt", "oldText": "", "newText": "w"})
    assert empty.is_error
    one = await run_tool(ws, "edit", {"path": "dup.txt", "oldText": "y = 2", "newText": "y = 5"})
    assert not one.is_error and path.read_text() == "x = 1\nx = 1\ny = 5\n"
    every = await run_tool(ws, "edit", {"path": "dup.txt", "oldText": "x = 1", "newText": "x = 0",
                                       "replaceAll": True})
    assert "replaced 2 occurrences" in every.text and path.read_text() == "x = 0\nx = 0\ny = 5\n"


async def test_unknown_tool_and_bad_args_are_error_results(ws: Workspace) -> None:
    assert (await run_tool(ws, "exec", {"cmd": "ls"})).is_error
    assert (await run_tool(ws, "read", {})).is_error
    assert (await run_tool(ws, "write", {"path": "a.txt", "content": 5})).is_error
