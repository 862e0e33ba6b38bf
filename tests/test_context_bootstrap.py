"""Bootstrap (Project Context) injection, byte-exact against docs/design/context.md#bootstrap-files."""

from __future__ import annotations

from pathlib import Path

from core.context.bootstrap import clamp_to_budget, load_bootstrap, render_project_context, trim_bootstrap_content
from core.context.system_prompt import TRUNCATION_NOTICE, build_system_prompt, project_context_chars


def test_per_file_cap_keeps_70_and_20_percent_with_two_marker_lines() -> None:
    content = "A" * 20_000 + "B" * 5_000 + "  \n\n"
    text, truncated = trim_bootstrap_content(content, "AGENTS.md", 20_000)
    assert truncated
    expected = (
        "A" * 14_000
        + "\n\n[...truncated, read AGENTS.md for full content...]\n"
        + "…(truncated AGENTS.md: kept 14000+4000 chars of 25000)…\n\n"
        + "B" * 4_000
    )
    assert text == expected


def test_under_cap_is_only_right_trimmed() -> None:
    assert trim_bootstrap_content("hello\n\n", "SOUL.md", 20_000) == ("hello", False)


def test_clamp_to_budget() -> None:
    assert clamp_to_budget("abcdef", 4) == "abc…"
    assert clamp_to_budget("abcdef", 3) == "abc"
    assert clamp_to_budget("abc", 0) == ""
    assert clamp_to_budget("abc", 10) == "abc"


def _workspace(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return tmp_path


def test_missing_file_marker_and_order(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, AGENTS_md="rules\n", MEMORY_md="remember")
    result = load_bootstrap(ws)
    names = [f.name for f in result.files]
    assert names == ["AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "MEMORY.md"]
    soul = result.files[1]
    assert soul.missing and soul.content == f"[MISSING] Expected at: {tmp_path / 'SOUL.md'}"
    assert (result.files[0].raw_chars, result.files[0].injected_chars, result.files[0].truncated) == (5, 5, False)


def test_legacy_lowercase_memory_file(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, memory_md="old")
    assert [f.name for f in load_bootstrap(ws).files][-1] == "memory.md"


def test_total_budget_shrinks_file_by_file(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, AGENTS_md="a" * 900, SOUL_md="s" * 200)
    result = load_bootstrap(ws, max_chars=20_000, total_max_chars=1_000)
    agents, soul = result.files[:2]
    assert agents.injected_chars == 900 and not agents.truncated
    # SOUL.md is cut to the remaining 100 chars: trimmed at cap 100, then clamped with "…".
    assert soul.truncated and not soul.over_file_cap
    assert soul.injected_chars == 100 and soul.content.endswith("…")
    assert soul.content.startswith("s" * 70 + "\n\n[...truncated, read SOUL.md")
    # Budget exhausted: the rest inject nothing.
    assert all(f.injected_chars == 0 for f in result.files[2:])


def test_file_needs_64_chars_of_remaining_budget(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, AGENTS_md="a" * 940, SOUL_md="tiny")
    soul = load_bootstrap(ws, total_max_chars=1_000).files[1]
    assert (soul.injected_chars, soul.truncated, soul.content) == (0, True, "")


def test_project_context_section_and_report_cut(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, AGENTS_md="x" * 30, SOUL_md="persona")
    boot = load_bootstrap(ws)
    section = render_project_context(boot)
    assert section.startswith("# Project Context\n\nThe following project context files have been loaded:\n")
    assert "If SOUL.md is present, embody its persona and tone." in section
    assert "## AGENTS.md\n\n" + "x" * 30 + "\n" in section
    prompt = build_system_prompt(base="Base.", bootstrap=boot)
    start = prompt.text.index("\n# Project Context\n")
    end = prompt.text.index("\n## Silent Replies\n")
    assert prompt.project_context_chars == end - start == project_context_chars(prompt.text)
    assert TRUNCATION_NOTICE not in prompt.text


def test_truncation_notice_only_when_truncated(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, AGENTS_md="y" * 100)
    boot = load_bootstrap(ws, max_chars=64)
    assert TRUNCATION_NOTICE in build_system_prompt(bootstrap=boot).text
    assert TRUNCATION_NOTICE not in build_system_prompt(bootstrap=boot, truncation_notice=False).text
