"""The tuning catalogue and proposals: every schema leaf listed with its bounds, unit, default, doc and
reload effect, current values traced to their source (file line, included file, ``${VAR}``), and
changes validated in memory with the schema's own message per key."""

from __future__ import annotations

from pathlib import Path

from core.config.loader import LoadedConfig, load_config
from core.config.schema.introspect import schema_paths
from core.tuning import (
    PRUNING,
    SANDBOX,
    Change,
    in_scope,
    list_tunables,
    propose,
    retry_scope,
    tunable_at,
)

MAIN = """// my config
{
  agents: {
    defaults: {
      contextPruning: { $include: "./pruning.json5" },
      sandbox: { docker: { memory: "${SBX_MEM}" } },
    },
  },
  models: {
    providers: {
      local: { baseUrl: "http://127.0.0.1:9", api: "openai-completions", retry: { attempts: 2 } },
    },
  },
  retry: {
    provider: { minDelayMs: 250 },
  },
}
"""
PRUNING_FILE = """{
  mode: "cache-ttl",
  ttl: "5m",
}
"""


def _loaded(tmp_path: Path) -> LoadedConfig:
    (tmp_path / "config.json5").write_text(MAIN, encoding="utf-8")
    (tmp_path / "pruning.json5").write_text(PRUNING_FILE, encoding="utf-8")
    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state"), "SBX_MEM": "768m"}
    return load_config(tmp_path / "config.json5", env=env, dotenv=False)


def test_catalogue_covers_pruning_retry_and_sandbox_with_bounds_and_sources(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    rows = {r.tunable.path: r for r in list_tunables(loaded)}
    main, included = tmp_path / "config.json5", tmp_path / "pruning.json5"

    ttl = rows["agents.defaults.contextPruning.ttl"]
    t = ttl.tunable
    assert (t.type, t.minimum, t.maximum, t.unit) == ("duration", 0, 43200, "min")
    assert ttl.tunable.default == "5m" and ttl.tunable.effect == "applies live" and ttl.tunable.reload == "hot"
    assert "Idle time since the last request" in ttl.tunable.doc
    assert ttl.value == "5m" and ttl.source == f"include {included}:3"

    ratio = rows["agents.defaults.contextPruning.softTrimRatio"]
    assert (ratio.tunable.type, ratio.tunable.minimum, ratio.tunable.maximum) == ("number", 0, 1)
    assert ratio.value == 0.3 and ratio.source == "default" and ratio.tunable.default == 0.3

    attempts = rows["retry.provider.attempts"]
    assert (attempts.tunable.type, attempts.tunable.minimum, attempts.tunable.maximum) == ("integer", 1, 21)
    delay = rows["retry.provider.minDelayMs"]
    assert delay.tunable.unit == "ms" and delay.value == 250 and delay.source == f"{main}:15"

    override = rows["models.providers.local.retry.attempts"]
    assert override.value == 2 and override.tunable.nullable and override.source == f"{main}:11"
    assert not any(p.startswith("models.providers.other.") for p in rows)

    memory = rows["agents.defaults.sandbox.docker.memory"]
    assert memory.tunable.type == "byte size" and memory.tunable.unit == "bytes"
    assert memory.tunable.choices == ("unlimited",) and memory.tunable.reload == "docker-update"
    assert memory.value == "768m" and memory.source == f"env ${{SBX_MEM}} ({main}:6)"
    image = rows["agents.defaults.sandbox.docker.image"]
    assert image.tunable.effect == "applies on container recreate"
    assert rows["gateway.port"].tunable.effect == "needs a core restart"


def test_catalogue_is_derived_from_the_schema(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    listed = {r.tunable.path for r in list_tunables(loaded)}
    leaves = [p for p in schema_paths() if "*" not in p and not any(q.startswith(p + ".") for q in schema_paths())]
    assert leaves and set(leaves) <= listed
    assert tunable_at("retry.provider") is None and tunable_at("retry.provider.nope") is None
    assert tunable_at("models.providers.anyid.retry.minDelayMs") is not None


def test_scopes_filter_dot_wise(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    sandbox = [r.tunable.path for r in list_tunables(loaded) if in_scope(r.tunable.path, SANDBOX)]
    assert sorted(p.rsplit(".", 1)[1] for p in sandbox) == ["cpus", "memory", "memorySwap", "pidsLimit"]
    pruning = [r.tunable.path for r in list_tunables(loaded) if in_scope(r.tunable.path, PRUNING)]
    assert "agents.defaults.compaction.mode" in pruning and "agents.defaults.contextPruning.ttl" in pruning
    scoped = retry_scope(provider="local")
    retry = [r.tunable.path for r in list_tunables(loaded) if in_scope(r.tunable.path, scoped)]
    assert "retry.provider.attempts" in retry and "models.providers.local.retry.attempts" in retry
    assert not list_tunables(loaded, "retry.prov")
    assert [r.tunable.path for r in list_tunables(loaded, "retry.provider.attempts")] == ["retry.provider.attempts"]


def test_propose_validates_in_memory_with_the_schema_messages(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    before = (tmp_path / "config.json5").read_bytes(), (tmp_path / "pruning.json5").read_bytes()
    ok = propose(loaded, [Change("agents.defaults.contextPruning.ttl", "10s"), Change("gateway.port", 19000)])
    assert ok.ok and ok.candidate is not None
    assert ok.candidate.agents.defaults.context_pruning.ttl_ms == 10_000
    assert ok.effects == {"agents.defaults.contextPruning.ttl": "applies live", "gateway.port": "needs a core restart"}
    assert ok.needs_restart == ("gateway.port",)

    bad = propose(loaded, [Change("agents.defaults.contextPruning.ttl", "10x"),
                           Change("retry.provider.attempts", 0)])
    assert not bad.ok and bad.candidate is None
    assert "'10x' is not a duration" in bad.errors["agents.defaults.contextPruning.ttl"]
    assert "greater than or equal to 1" in bad.errors["retry.provider.attempts"]
    crossed = propose(loaded, [Change("agents.defaults.contextPruning.softTrimRatio", 0.9)])
    assert "must be ≥ softTrimRatio" in crossed.errors["agents.defaults.contextPruning.softTrimRatio"]
    typo = propose(loaded, [Change("retry.provider.atempts", 3)])
    assert "did you mean `attempts`" in typo.errors["retry.provider.atempts"]
    assert ((tmp_path / "config.json5").read_bytes(), (tmp_path / "pruning.json5").read_bytes()) == before
