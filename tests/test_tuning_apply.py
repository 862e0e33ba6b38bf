"""Applying and undoing tunings on real files with the real writer: only the changed lines change, a key
from an ``$include``d file is written there, undo is byte for byte (or value by value after a hand edit,
and says so), conflicts and invalid values write nothing, a read-only file leaves no backup behind, and the
first tuning creates the config file."""

from __future__ import annotations

import difflib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from core.config.loader import LoadedConfig, load_config
from core.events.base import Event
from core.tuning import Change, ConfigTuned, TuningError, apply_tuning, tuning_history, undo_tuning

MAIN = """// my config: comments stay
{
  agents: {
    defaults: {
      // pruning lives in its own file
      contextPruning: { $include: "./pruning.json5" },
    },
  },
  retry: {
    provider: {
      attempts: 4, // four tries
      minDelayMs: 1000,
    },
  },
}
"""
PRUNING_FILE = """// pruning settings
{
  mode: "cache-ttl",
  ttl: "5m", // match the provider's cache
  softTrimRatio: 0.3,
}
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    main, included = tmp_path / "config.json5", tmp_path / "pruning.json5"
    main.write_text(MAIN, encoding="utf-8")
    included.write_text(PRUNING_FILE, encoding="utf-8")
    return main, included


def _load(tmp_path: Path, path: Path | None = None) -> LoadedConfig:
    return load_config(path or tmp_path / "config.json5", env=_env(tmp_path), dotenv=False)


def _diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_apply_changes_exactly_the_changed_lines_and_publishes(tmp_path: Path) -> None:
    main, included = _setup(tmp_path)
    events: list[Event] = []
    tuning = apply_tuning(_load(tmp_path), [Change("retry.provider.attempts", 6)], origin="cli",
                          publish=events.append, env=_env(tmp_path))
    assert _diff(MAIN, main.read_text(encoding="utf-8")) == [
        "-      attempts: 4, // four tries", "+      attempts: 6, // four tries"]
    assert included.read_text(encoding="utf-8") == PRUNING_FILE
    assert [(c.path, c.old, c.new, c.reload) for c in tuning.changes] == [("retry.provider.attempts", 4, 6, "hot")]
    [event] = events
    assert isinstance(event, ConfigTuned) and event.kind == "config.tuned"
    assert (event.tuning_id, event.origin, event.changes) == (tuning.id, "cli", (("retry.provider.attempts", 4, 6),))
    assert event.reload == {"retry.provider.attempts": "hot"} and event.files == (str(main),)
    assert [t.id for t in tuning_history(tmp_path / "state")] == [tuning.id]
    assert _load(tmp_path).config.retry.provider.attempts == 6


def test_a_key_from_an_included_file_is_written_in_that_file(tmp_path: Path) -> None:
    main, included = _setup(tmp_path)
    tuning = apply_tuning(_load(tmp_path), [Change("agents.defaults.contextPruning.ttl", "10s"),
                                            Change("agents.defaults.contextPruning.hardClearRatio", 0.6)],
                          origin="api", publish=None, env=_env(tmp_path))
    assert main.read_text(encoding="utf-8") == MAIN
    assert _diff(PRUNING_FILE, included.read_text(encoding="utf-8")) == [
        '-  ttl: "5m", // match the provider\'s cache', '+  ttl: "10s", // match the provider\'s cache',
        "+  hardClearRatio: 0.6,"]
    assert [f.path for f in tuning.files] == [str(included)]
    pruning = _load(tmp_path).config.agents.defaults.context_pruning
    assert (pruning.ttl_ms, pruning.hard_clear_ratio) == (10_000, 0.6)


def test_undo_is_byte_for_byte_across_files(tmp_path: Path) -> None:
    main, included = _setup(tmp_path)
    main_bytes, included_bytes = main.read_bytes(), included.read_bytes()
    tuning = apply_tuning(_load(tmp_path), [Change("agents.defaults.contextPruning.ttl", "10s"),
                                            Change("retry.provider.minDelayMs", 50)],
                          origin="cli", publish=None, env=_env(tmp_path))
    assert main.read_bytes() != main_bytes and included.read_bytes() != included_bytes
    events: list[Event] = []
    undo = undo_tuning(_load(tmp_path), origin="cli", publish=events.append, env=_env(tmp_path))
    assert (main.read_bytes(), included.read_bytes()) == (main_bytes, included_bytes)
    assert undo.undo_of == tuning.id and "byte for byte" in undo.note
    assert [(c.path, c.old, c.new) for c in undo.changes] == [
        ("agents.defaults.contextPruning.ttl", "10s", "5m"), ("retry.provider.minDelayMs", 50, 1000)]
    assert isinstance(events[0], ConfigTuned) and events[0].undo_of == tuning.id
    with pytest.raises(TuningError, match="no tuning to undo"):
        undo_tuning(_load(tmp_path), origin="cli", publish=None, env=_env(tmp_path))


def test_undo_after_a_hand_edit_reverts_only_the_tuned_values_and_says_so(tmp_path: Path) -> None:
    main, _ = _setup(tmp_path)
    apply_tuning(_load(tmp_path), [Change("retry.provider.attempts", 6), Change("retry.deadlineMs", 5000)],
                 origin="cli", publish=None, env=_env(tmp_path))
    edited = main.read_text(encoding="utf-8").replace("minDelayMs: 1000", "minDelayMs: 1234")
    main.write_text(edited, encoding="utf-8")
    undo = undo_tuning(_load(tmp_path), origin="dashboard", publish=None, env=_env(tmp_path))
    assert "edited since" in undo.note and "only the tuned keys" in undo.note
    text = main.read_text(encoding="utf-8")
    assert "minDelayMs: 1234" in text and "attempts: 4, // four tries" in text and "deadlineMs" not in text
    assert _diff(MAIN, text) == ["-      minDelayMs: 1000,", "+      minDelayMs: 1234,"]


def test_a_file_changed_since_it_was_read_is_never_overwritten(tmp_path: Path) -> None:
    main, included = _setup(tmp_path)
    loaded = _load(tmp_path)
    main.write_text(MAIN.replace("attempts: 4", "attempts: 5"), encoding="utf-8")
    with pytest.raises(TuningError) as info:
        apply_tuning(loaded, [Change("retry.provider.attempts", 6)], origin="cli", publish=None, env=_env(tmp_path))
    assert info.value.conflict and "changed on disk" in str(info.value)
    assert "attempts: 5" in main.read_text(encoding="utf-8")
    main.write_text(MAIN, encoding="utf-8")
    loaded = _load(tmp_path)
    included.write_text(PRUNING_FILE.replace('"5m"', '"7m"'), encoding="utf-8")
    with pytest.raises(TuningError) as info:
        apply_tuning(loaded, [Change("agents.defaults.contextPruning.ttl", "1m")], origin="cli", publish=None,
                     env=_env(tmp_path))
    assert info.value.conflict and '"7m"' in included.read_text(encoding="utf-8")
    assert tuning_history(tmp_path / "state") == [] and not (tmp_path / "config.json5.bak").exists()


def test_an_invalid_value_writes_nothing_and_names_the_key(tmp_path: Path) -> None:
    main, included = _setup(tmp_path)
    with pytest.raises(TuningError) as info:
        apply_tuning(_load(tmp_path), [Change("retry.provider.attempts", 6),
                                       Change("agents.defaults.contextPruning.ttl", "soon")],
                     origin="cli", publish=None, env=_env(tmp_path))
    assert list(info.value.errors) == ["agents.defaults.contextPruning.ttl"]
    assert "is not a duration" in info.value.errors["agents.defaults.contextPruning.ttl"]
    assert (main.read_text(encoding="utf-8"), included.read_text(encoding="utf-8")) == (MAIN, PRUNING_FILE)
    assert _files(tmp_path) == ["config.json5", "pruning.json5"]


def test_a_read_only_file_is_refused_with_no_backup_left_behind(tmp_path: Path) -> None:
    main, _ = _setup(tmp_path)
    main.chmod(0o444)
    try:
        with pytest.raises(TuningError, match="read-only"):
            apply_tuning(_load(tmp_path), [Change("retry.provider.attempts", 6)], origin="cli", publish=None,
                         env=_env(tmp_path))
        assert main.read_text(encoding="utf-8") == MAIN
        assert _files(tmp_path) == ["config.json5", "pruning.json5"]
        assert stat.S_IMODE(main.stat().st_mode) == 0o444
    finally:
        main.chmod(0o644)


def test_an_immutable_file_is_refused_with_no_backup_left_behind(tmp_path: Path) -> None:
    main, _ = _setup(tmp_path)
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(main)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem (or user) cannot make a file immutable")
    try:
        with pytest.raises(TuningError, match="cannot write this file"):
            apply_tuning(_load(tmp_path), [Change("retry.provider.attempts", 6)], origin="cli", publish=None,
                         env=_env(tmp_path))
        assert main.read_text(encoding="utf-8") == MAIN
        assert _files(tmp_path) == ["config.json5", "pruning.json5"]
    finally:
        subprocess.run([chattr, "-i", str(main)], check=True)


def test_the_first_tuning_creates_the_file_with_only_the_tuned_keys(tmp_path: Path) -> None:
    env = _env(tmp_path)
    loaded = load_config(None, env=env, dotenv=False)
    assert not loaded.exists
    tuning = apply_tuning(loaded, [Change("agents.defaults.contextPruning.ttl", "10s")], origin="cli",
                          publish=None, env=env)
    created = tmp_path / ".clawtop" / "config.json5"
    assert tuning.created == str(created) and f"created {created}" in tuning.note
    again = load_config(None, env=env, dotenv=False)
    assert again.data == {"agents": {"defaults": {"contextPruning": {"ttl": "10s"}}}}
    assert stat.S_IMODE(os.stat(created).st_mode) == 0o600
    undo_tuning(again, origin="cli", publish=None, env=env)
    assert not created.exists()
