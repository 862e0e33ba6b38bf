"""Comment-preserving write-back: byte-exact round trips, inserts, deletes, conflicts, atomicity."""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import json5
import pytest

from core.config.errors import ConfigConflictError, ConfigError
from core.config.loader import load_config
from core.config.spans import parse_tree
from core.config.textedit import render_changes
from core.config.writer import NEW_FILE_TEXT, apply_patch, merge_patch, set_value

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.json5"

ORIGINAL = """\
// clawtop config: my laptop
{
  // Agent defaults
  agents: {
    defaults: {
      contextPruning: {
        mode: 'cache-ttl',   // prune when the cache went cold
        ttl: '5m',
        keepLastAssistants: 3,
      },
    },
  },

  /* the gateway */
  gateway: { port: 18790, token: "${GW_TOKEN}" },
  "ui": {
    "theme": "clawtop-dark"
  }
}
"""


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "CLAWTOP_STATE_DIR": str(tmp_path / "state"),
            "GW_TOKEN": "s3cret-token", **extra}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.json5"
    path.write_text(ORIGINAL, encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# --- byte-exact round trips --------------------------------------------------------------------


def test_set_changes_exactly_the_value_span(cfg: Path, tmp_path: Path) -> None:
    result = set_value(cfg, "agents.defaults.contextPruning.ttl", "10m", base_hash=sha(cfg), env=env_for(tmp_path))
    after = cfg.read_text()
    start = ORIGINAL.index("'5m'")
    # Everything before and after the old value's bytes is untouched.
    assert after[:start] == ORIGINAL[:start]
    assert after[start:].startswith("'10m'")  # the file's own quote style is kept
    assert after[start + len("'10m'"):] == ORIGINAL[start + len("'5m'"):]
    assert result.changed_paths == ("agents.defaults.contextPruning.ttl",)
    assert result.new_hash == sha(cfg)
    assert result.plan.hot == ("agents.defaults.contextPruning.ttl",)


def test_unchanged_render_is_identity() -> None:
    tree = parse_tree(ORIGINAL)
    assert render_changes(ORIGINAL, tree, copy.deepcopy(tree.value)) == ORIGINAL


def test_example_config_set_changes_exactly_one_line(tmp_path: Path) -> None:
    assert EXAMPLE.exists(), "config.example.json5 is part of the repo"
    copy_path = tmp_path / "config.json5"
    shutil.copyfile(EXAMPLE, copy_path)
    before = copy_path.read_text()
    set_value(copy_path, "agents.defaults.contextPruning.ttl", "10m", base_hash=sha(copy_path), env=env_for(tmp_path))
    after = copy_path.read_text()
    diff = changed_lines(before, after)
    assert len(diff) == 2, diff
    assert diff[0].startswith("-") and diff[1].startswith("+")
    assert diff[1] == diff[0].replace('"5m"', '"10m"').replace("-", "+", 1)
    assert load_config(copy_path, env=env_for(tmp_path), dotenv=False).data["agents"]["defaults"][
        "contextPruning"]["ttl"] == "10m"


def test_example_config_round_trips_every_scalar(tmp_path: Path) -> None:
    """Rewriting each scalar of the example to itself-with-a-change touches one span only."""
    text = EXAMPLE.read_text()
    tree = parse_tree(text)
    assert tree.value == json5.loads(text)
    count = 0

    def leaves(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in leaves(v, (*path, k))]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in leaves(v, (*path, i))]
        return [path]

    for path in leaves(tree.value, ()):
        new = copy.deepcopy(tree.value)
        target = new
        for part in path[:-1]:
            target = target[part]
        old = target[path[-1]]
        target[path[-1]] = "changed" if not isinstance(old, str) else old + "-x"
        out = render_changes(text, tree, new)
        assert parse_tree(out).value == new  # (json5 itself is too slow for 300 parses)
        assert len(changed_lines(text, out)) == 2, path
        count += 1
    assert count > 50


# --- inserts and deletes -----------------------------------------------------------------------


def test_missing_key_is_inserted_in_its_object_with_sibling_indent(cfg: Path, tmp_path: Path) -> None:
    set_value(cfg, "agents.defaults.contextPruning.softTrimRatio", 0.4, base_hash=sha(cfg), env=env_for(tmp_path))
    after = cfg.read_text()
    assert "        keepLastAssistants: 3,\n        softTrimRatio: 0.4,\n      },\n" in after
    diff = changed_lines(ORIGINAL, after)
    assert diff == ["+        softTrimRatio: 0.4,"]


def test_intermediate_objects_are_created(cfg: Path, tmp_path: Path) -> None:
    set_value(cfg, "agents.defaults.compaction.reserveTokens", 30000, base_hash=sha(cfg), env=env_for(tmp_path))
    after = cfg.read_text()
    assert "      },\n      compaction: {\n        reserveTokens: 30000,\n      },\n    },\n" in after
    loaded = load_config(cfg, env=env_for(tmp_path), dotenv=False)
    assert loaded.data["agents"]["defaults"]["compaction"] == {"reserveTokens": 30000}
    assert after.startswith("// clawtop config: my laptop\n{\n  // Agent defaults\n")


def test_insert_into_quoted_object_without_trailing_comma(cfg: Path, tmp_path: Path) -> None:
    set_value(cfg, "ui.refreshMs", 500, base_hash=sha(cfg), env=env_for(tmp_path))
    after = cfg.read_text()
    assert '  "ui": {\n    "theme": "clawtop-dark",\n    "refreshMs": 500\n  }\n}\n' in after


def test_patch_null_deletes_the_whole_line(cfg: Path, tmp_path: Path) -> None:
    result = apply_patch(cfg, {"agents": {"defaults": {"contextPruning": {"mode": None}}}},
                         base_hash=sha(cfg), env=env_for(tmp_path))
    diff = changed_lines(ORIGINAL, cfg.read_text())
    assert diff == ["-        mode: 'cache-ttl',   // prune when the cache went cold"]
    assert result.changed_paths == ("agents.defaults.contextPruning.mode",)


def test_patch_inline_object_and_merge(cfg: Path, tmp_path: Path) -> None:
    apply_patch(cfg, {"gateway": {"port": 18791, "bind": "0.0.0.0"}}, base_hash=sha(cfg), env=env_for(tmp_path))
    after = cfg.read_text()
    assert 'gateway: { port: 18791, token: "${GW_TOKEN}", bind: "0.0.0.0" },' in after
    assert len(changed_lines(ORIGINAL, after)) == 2


def test_merge_patch_semantics() -> None:
    raw = {"a": {"b": 1, "c": [1, 2]}, "list": [{"id": "x", "v": 1}, {"id": "y", "v": 2}]}
    out = merge_patch(raw, {"a": {"b": None, "c": [3]}, "list": [{"id": "y", "v": 5}, {"id": "z"}]}, {})
    assert out == {"a": {"c": [3]}, "list": [{"id": "x", "v": 1}, {"id": "y", "v": 5}, {"id": "z"}]}
    replaced = merge_patch(raw, {"list": [{"id": "y"}]}, {}, replace_paths=frozenset({"list"}))
    assert replaced["list"] == [{"id": "y"}]


def test_noop_patch_writes_nothing(cfg: Path, tmp_path: Path) -> None:
    mtime = cfg.stat().st_mtime_ns
    result = apply_patch(cfg, {"gateway": {"port": 18790}}, base_hash=sha(cfg), env=env_for(tmp_path))
    assert result.noop and result.changed_paths == ()
    assert cfg.stat().st_mtime_ns == mtime and not (cfg.parent / "config.json5.bak").exists()


# --- secrets and ${VAR} ------------------------------------------------------------------------


def test_resolved_secret_is_written_back_as_its_reference(cfg: Path, tmp_path: Path) -> None:
    loaded = load_config(cfg, env=env_for(tmp_path), dotenv=False)
    assert loaded.data["gateway"]["token"] == "s3cret-token"
    # A client sends back the whole resolved gateway section with one change.
    section = dict(loaded.data["gateway"], port=18795)
    apply_patch(cfg, {"gateway": section}, base_hash=loaded.raw_hash, env=env_for(tmp_path))
    after = cfg.read_text()
    assert "s3cret-token" not in after and '"${GW_TOKEN}"' in after and "port: 18795" in after
    # The redacted placeholder also restores the original reference.
    apply_patch(cfg, {"gateway": {"token": "__REDACTED__"}}, base_hash=sha(cfg), env=env_for(tmp_path))
    assert '"${GW_TOKEN}"' in cfg.read_text()


# --- safety --------------------------------------------------------------------------------------


def test_conflict_when_file_changed_since_read(cfg: Path, tmp_path: Path) -> None:
    base = sha(cfg)
    cfg.write_text(ORIGINAL.replace("18790", "18799"))
    edited = cfg.read_bytes()
    with pytest.raises(ConfigConflictError, match="changed on disk"):
        set_value(cfg, "gateway.port", 1, base_hash=base, env=env_for(tmp_path))
    assert cfg.read_bytes() == edited
    with pytest.raises(ConfigConflictError, match="base hash required"):
        set_value(cfg, "gateway.port", 1, base_hash=None, env=env_for(tmp_path))


def test_invalid_write_leaves_file_untouched(cfg: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        set_value(cfg, "agents.defaults.contextPruning.ttll", "10m", base_hash=sha(cfg), env=env_for(tmp_path))
    assert "did you mean `ttl`?" in info.value.format()
    with pytest.raises(ConfigError):
        set_value(cfg, "gateway.port", 70000, base_hash=sha(cfg), env=env_for(tmp_path))
    assert cfg.read_text() == ORIGINAL
    assert not list(tmp_path.glob("*.bak*")) and not list(tmp_path.glob(".config.json5.*"))


def test_missing_file_is_created_with_header_and_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.json5"
    result = set_value(path, "gateway.port", 18800, base_hash=None, env=env_for(tmp_path))
    text = path.read_text()
    assert result.created and text.startswith(NEW_FILE_TEXT.split("{")[0])
    assert "  gateway: {\n    port: 18800,\n  },\n" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConfigConflictError):
        set_value(tmp_path / "gone.json5", "gateway.port", 1, base_hash="0" * 64, env=env_for(tmp_path))


def test_mode_is_kept_and_backups_rotate(cfg: Path, tmp_path: Path) -> None:
    os.chmod(cfg, 0o640)
    for port in range(18801, 18808):
        set_value(cfg, "gateway.port", port, base_hash=sha(cfg), env=env_for(tmp_path))
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    backups = sorted(p.name for p in tmp_path.glob("config.json5.bak*"))
    assert backups == ["config.json5.bak", "config.json5.bak.1", "config.json5.bak.2",
                       "config.json5.bak.3", "config.json5.bak.4"]
    assert "port: 18806" in (tmp_path / "config.json5.bak").read_text()
    assert "port: 18802" in (tmp_path / "config.json5.bak.4").read_text()


def test_key_defined_only_in_an_include_cannot_be_deleted_here(tmp_path: Path) -> None:
    (tmp_path / "gw.json5").write_text("{ port: 18790 }")
    cfg = tmp_path / "config.json5"
    cfg.write_text("{\n  gateway: { $include: 'gw.json5' },\n}\n")
    with pytest.raises(ConfigError, match="included file"):
        apply_patch(cfg, {"gateway": {"port": None}}, base_hash=sha(cfg), env=env_for(tmp_path))
    # Setting it works: a sibling key next to $include is merged on top of the included file.
    set_value(cfg, "gateway.port", 18791, base_hash=sha(cfg), env=env_for(tmp_path))
    assert load_config(cfg, env=env_for(tmp_path), dotenv=False).data["gateway"]["port"] == 18791
    assert (tmp_path / "gw.json5").read_text() == "{ port: 18790 }"
