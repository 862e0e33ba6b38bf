"""``clawtop config …`` as a user runs it: real subprocesses, real files, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.json5"

GOOD = """\
// my config
{
  agents: {
    defaults: {
      contextPruning: {
        mode: "cache-ttl", // keep
        ttl: "5m",
      },
    },
  },
  models: {
    providers: {
      local: { baseUrl: "http://127.0.0.1:11434/v1", apiKey: "${LOCAL_KEY}" },
    },
  },
}
"""

BAD = """\
{
  agents: {
    defaults: {
      contextPruning: {
        ttll: "5m",
      },
    },
  },
  gateway: { port: "eighty" },
}
"""


def run(*args: str, env_extra: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(env_extra or {})
    result = subprocess.run(
        [sys.executable, "-m", "clawtop", *args],
        cwd=cwd or REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "config.json5"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.json5"
    path.write_text(BAD)
    return path


KEY_ENV = {"LOCAL_KEY": "sk-local-secret"}


def test_validate_valid_file(good: Path) -> None:
    result = run("config", "validate", str(good), env_extra=KEY_ENV)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and str(good) in result.stdout


def test_validate_invalid_file_exits_78_with_path_line_and_suggestion(bad: Path) -> None:
    result = run("config", "validate", str(bad))
    assert result.returncode == 78
    assert f"{bad}:5:9: agents.defaults.contextPruning.ttll" in result.stderr
    assert "did you mean `ttl`?" in result.stderr
    assert f"{bad}:9:20: gateway.port" in result.stderr


def test_validate_json_output(bad: Path) -> None:
    result = run("config", "validate", "--json", str(bad))
    assert result.returncode == 78
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert {i["path"] for i in payload["issues"]} == {"agents.defaults.contextPruning.ttll", "gateway.port"}


def test_global_config_flag_and_missing_explicit_file(tmp_path: Path) -> None:
    missing = tmp_path / "typo.json5"
    result = run("--config", str(missing), "config", "validate")
    assert result.returncode == 78 and str(missing) in result.stderr and "not found" in result.stderr


def test_validate_without_any_file_uses_defaults(tmp_path: Path) -> None:
    result = run("config", "validate", env_extra={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0 and "defaults (no config file)" in result.stdout


def test_unset_env_var_exits_78_naming_var_and_key(good: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOCAL_KEY"}
    result = subprocess.run([sys.executable, "-m", "clawtop", "config", "validate", str(good)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "LOCAL_KEY" in result.stderr and "models.providers.local.apiKey" in result.stderr


def test_get_prints_json_and_redacts_secrets(good: Path) -> None:
    result = run("--config", str(good), "config", "get", "agents.defaults.contextPruning.ttl", env_extra=KEY_ENV)
    assert result.returncode == 0 and json.loads(result.stdout) == "5m"
    provider = run("--config", str(good), "config", "get", "models.providers.local", env_extra=KEY_ENV)
    assert provider.returncode == 0
    assert json.loads(provider.stdout)["apiKey"] == "__REDACTED__"
    assert "sk-local-secret" not in provider.stdout


def test_get_unknown_key_exits_78_with_suggestion(good: Path) -> None:
    result = run("--config", str(good), "config", "get", "agents.defaults.contextPruning.ttll", env_extra=KEY_ENV)
    assert result.returncode == 78
    assert "agents.defaults.contextPruning.ttll" in result.stderr and "did you mean `ttl`?" in result.stderr


def test_get_valid_but_unset_key_exits_1(good: Path) -> None:
    result = run("--config", str(good), "config", "get", "models.providers.nothere", env_extra=KEY_ENV)
    assert result.returncode == 1 and "not set" in result.stderr


def test_set_parses_values_writes_and_reports(good: Path) -> None:
    result = run("--config", str(good), "config", "set", "agents.defaults.contextPruning.ttl", "10m",
                 env_extra=KEY_ENV)
    assert result.returncode == 0, result.stderr
    assert 'agents.defaults.contextPruning.ttl: "5m" → "10m"' in result.stdout
    assert "reload: hot" in result.stdout
    text = good.read_text()
    assert text == GOOD.replace('ttl: "5m"', 'ttl: "10m"')
    number = run("--config", str(good), "config", "set", "agents.defaults.contextPruning.keepLastAssistants", "5",
                 env_extra=KEY_ENV)
    assert number.returncode == 0 and "keepLastAssistants: 5," in good.read_text()
    boolean = run("--config", str(good), "config", "set", "agents.defaults.contextPruning.requireCachePayoff",
                  "true", env_extra=KEY_ENV)
    assert boolean.returncode == 0 and "requireCachePayoff: true," in good.read_text()
    assert "${LOCAL_KEY}" in good.read_text() and "sk-local-secret" not in good.read_text()


def test_set_invalid_value_exits_78_and_leaves_file(good: Path) -> None:
    result = run("--config", str(good), "config", "set", "gateway.port", "eighty", env_extra=KEY_ENV)
    assert result.returncode == 78 and "gateway.port" in result.stderr
    unknown = run("--config", str(good), "config", "set", "gateway.prot", "1", env_extra=KEY_ENV)
    assert unknown.returncode == 78 and "did you mean `port`?" in unknown.stderr
    assert good.read_text() == GOOD


def test_set_on_example_copy_changes_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "config.json5"
    shutil.copyfile(EXAMPLE, copy)
    before = copy.read_text().splitlines()
    result = run("--config", str(copy), "config", "set", "agents.defaults.contextPruning.ttl", "10m")
    assert result.returncode == 0, result.stderr
    after = copy.read_text().splitlines()
    assert len(before) == len(after)
    diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(diff) == 1 and '"10m"' in diff[0][1]


def test_set_creates_missing_default_file(tmp_path: Path) -> None:
    result = run("config", "set", "gateway.port", "18800", env_extra={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = tmp_path / ".clawtop" / "config.json5"
    assert "port: 18800" in created.read_text() and "Created" in result.stdout


def test_unset_removes_the_key(good: Path) -> None:
    result = run("--config", str(good), "config", "unset", "agents.defaults.contextPruning.mode", env_extra=KEY_ENV)
    assert result.returncode == 0, result.stderr
    assert "mode:" not in good.read_text() and "// keep" not in good.read_text()


def test_schema_prints_json_schema() -> None:
    result = run("config", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema and "agents" in schema["properties"]


def test_show_lists_values_with_sources(good: Path, tmp_path: Path) -> None:
    result = run("--config", str(good), "config", "show", env_extra=KEY_ENV)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ttl = next(line for line in lines if line.startswith("agents.defaults.contextPruning.ttl ="))
    assert ttl.endswith(f"# {good}:7")
    key = next(line for line in lines if line.startswith("models.providers.local.apiKey ="))
    assert "__REDACTED__" in key and "env ${LOCAL_KEY}" in key and "sk-local-secret" not in result.stdout
    port = next(line for line in lines if line.startswith("gateway.port ="))
    assert port.endswith("# default")
