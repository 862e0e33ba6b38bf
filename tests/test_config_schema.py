"""The typed config schema: defaults, strictness, bounds, secrets, hash, JSON Schema,
and the completeness of ``config.example.json5``."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import json5
import pytest
from pydantic import ValidationError

from core.config.schema import (
    REDACTED,
    ChannelRetryOverride,
    ClawtopConfig,
    ProviderRetryOverride,
    RetryConfig,
    TelegramRetryPolicy,
    child_keys,
    config_hash,
    effective_memory_swap,
    field_at,
    iter_fields,
    json_schema,
    redacted_dump,
    schema_paths,
    secret_paths,
)
from tests.config_support import errors_of, locs_of, nest, validate

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.json5"


@pytest.fixture(scope="module")
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example_data(example_text: str) -> dict[str, Any]:
    return json5.loads(example_text)


# --- defaults -------------------------------------------------------------------------------


def test_empty_document_is_all_defaults() -> None:
    config = validate({})
    assert config == ClawtopConfig()
    assert config.gateway.bind == "127.0.0.1"
    assert config.gateway.port == 18789
    assert config.gateway.token is None
    assert config.gateway.reload.mode == "hybrid"
    assert config.gateway.reload.debounce_ms == 300
    assert config.models.providers == {}
    assert config.agents.defaults.model.primary == "sim/fast"
    assert config.agents.defaults.model.fallbacks == []
    assert config.agents.defaults.max_concurrent == 4
    assert config.ui.theme == "clawtop-dark"
    assert config.ui.refresh_ms == 1000
    assert config.ui.keymap == {}
    assert config.bench.models == ["sim/fast", "sim/slow"]
    assert (config.bench.runs, config.bench.warmup, config.bench.max_tokens) == (10, 1, 64)
    assert config.bench.retries == 0


def test_simulator_defaults() -> None:
    sim = validate({}).simulator
    assert sim.enabled and sim.host == "127.0.0.1" and sim.port == 0
    assert (sim.models["fast"].ttft_ms, sim.models["fast"].tokens_per_sec) == (50, 200)
    assert (sim.models["slow"].ttft_ms, sim.models["slow"].tokens_per_sec) == (800, 30)
    assert sim.faults.fault_rate == 0 and sim.faults.script == []


def test_pruning_and_compaction_defaults_match_openclaw() -> None:
    d = validate({}).agents.defaults
    p = d.context_pruning
    assert (p.mode, p.ttl, p.keep_last_assistants) == ("off", "5m", 3)
    assert (p.soft_trim_ratio, p.hard_clear_ratio, p.min_prunable_tool_chars) == (0.3, 0.5, 50000)
    assert (p.soft_trim.max_chars, p.soft_trim.head_chars, p.soft_trim.tail_chars) == (4000, 1500, 1500)
    assert p.hard_clear.enabled and p.hard_clear.placeholder == "[Old tool result content cleared]"
    assert p.tools.allow == [] and p.tools.deny == []
    c = d.compaction
    assert (c.mode, c.reserve_tokens, c.reserve_tokens_floor, c.keep_recent_tokens) == (
        "safeguard", 16384, 20000, 20000)
    assert c.memory_flush.soft_threshold_tokens == 4000
    assert validate({}).session.manager_cache_ttl_ms == 45000
    assert validate({}).session.store_cache_ttl_ms == 45000


def test_sandbox_defaults_are_clawtops_safer_ones() -> None:
    sandbox = validate({}).agents.defaults.sandbox
    docker = sandbox.docker
    assert (sandbox.mode, sandbox.scope, sandbox.workspace_access) == ("off", "agent", "none")
    assert (docker.pids_limit, docker.memory, docker.cpus) == (256, "1g", 1.0)
    assert docker.memory_swap is None and effective_memory_swap(docker) == "1g"
    assert docker.image == "clawtop-sandbox:bookworm-slim"
    assert docker.container_prefix == "clawtop-sbx-"
    assert docker.read_only_root and docker.network == "none" and docker.cap_drop == ["ALL"]
    assert docker.tmpfs == ["/tmp", "/var/tmp", "/run"]
    assert docker.env == {"LANG": "C.UTF-8"}
    assert (sandbox.prune.idle_hours, sandbox.prune.max_age_days) == (24, 7)


def test_retry_defaults_match_spec_table() -> None:
    config = validate({})
    r = config.retry
    assert (r.max_retry_after_ms, r.retry_after_jitter, r.deadline_ms) == (60000, 0.1, 90000)
    assert (r.provider.attempts, r.provider.min_delay_ms, r.provider.max_delay_ms) == (4, 1000, 30000)
    assert (r.provider.jitter_mode, r.provider.jitter) == ("proportional", 0.5)
    assert (r.budget.burst, r.budget.refill_per_second, r.budget.success_credit) == (10, 0.1, 0.1)
    tg, dc = config.channels.telegram.retry, config.channels.discord.retry
    assert (tg.attempts, tg.min_delay_ms, tg.max_delay_ms, tg.jitter) == (3, 400, 30000, 0.1)
    assert (dc.attempts, dc.min_delay_ms, dc.max_delay_ms, dc.jitter) == (3, 500, 30000, 0.1)
    # A partial Discord object keeps Discord's own defaults, not Telegram's.
    partial = validate({"channels": {"discord": {"retry": {"attempts": 5}}}}).channels.discord.retry
    assert (partial.attempts, partial.min_delay_ms) == (5, 500)


def test_telemetry_defaults() -> None:
    t = validate({}).telemetry
    assert t.db_path is None
    assert (t.retention_days, t.retention_rows, t.flush_interval_ms) == (30, 1_000_000, 250)
    assert (t.batch_size, t.subscriber_queue_size) == (5000, 10_000)


# --- the example file -----------------------------------------------------------------------


def test_example_validates(example_data: dict[str, Any]) -> None:
    config = validate(example_data)
    assert config.models.providers["ollama"].api == "openai-completions"
    assert config.agents.defaults.context_pruning.ttl == "5m"


def _covered(data: Any, path: list[str]) -> bool:
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == "*":
        items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else []
        return any(_covered(item, rest) for item in items)
    return isinstance(data, dict) and head in data and _covered(data[head], rest)


def test_example_covers_every_schema_field(example_data: dict[str, Any]) -> None:
    missing = [p for p in schema_paths() if not _covered(example_data, p.split("."))]
    assert missing == [], f"config.example.json5 lacks: {missing}"


def test_example_has_a_comment_with_default_for_every_leaf_key(example_text: str) -> None:
    lines = example_text.splitlines()
    key = re.compile(r"^\s*([$A-Za-z_][\w$]*|\"[^\"]+\"):\s*(.*)$")
    problems = []
    for number, line in enumerate(lines):
        match = key.match(line)
        if not match or match.group(2).strip() in ("{", "["):
            continue  # objects and multi-line lists are documented by their children
        comments = []
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("//"):
            comments.insert(0, lines[above].strip())
            above -= 1
        text = " ".join(comments)
        if not comments or not re.search(r"\b(Default|Required)\b", text):
            problems.append(f"{number + 1}: {line.strip()}")
    assert problems == []


def test_example_ttl_is_on_exactly_one_line(example_text: str) -> None:
    assert [line.strip() for line in example_text.splitlines() if "ttl:" in line] == ['ttl: "5m",']


def test_example_format(example_text: str) -> None:
    for line in example_text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        assert "\t" not in line
        assert indent % 2 == 0, line
    # No ${VAR} outside comments: an unset variable is a load error, so the example must not need one.
    code = [line for line in example_text.splitlines() if not line.strip().startswith("//")]
    assert not any("${" in line for line in code)


# --- strictness -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"gatewy": {}}, ("gatewy",)),
        (nest("agents.defaults.contextPruning.ttll", "5m"), ("agents", "defaults", "contextPruning", "ttll")),
        (nest("agents.defaults.sandbox.docker.memroy", "1g"), ("agents", "defaults", "sandbox", "docker", "memroy")),
        (
            {"models": {"providers": {"x": {"baseUrl": "http://h", "models": [{"id": "m", "idd": 1}]}}}},
            ("models", "providers", "x", "models", 0, "idd"),
        ),
        ({"channels": {"slack": {}}}, ("channels", "slack")),
    ],
)
def test_unknown_keys_are_rejected_at_their_path(data: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    errors = errors_of(data)
    assert [(tuple(e["loc"]), e["type"]) for e in errors] == [(loc, "extra_forbidden")]


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        (nest("agents.defaults.context_pruning", {}), ("agents", "defaults", "context_pruning")),
        (nest("gateway.reload.debounce_ms", 10), ("gateway", "reload", "debounce_ms")),
        ({"models": {"providers": {"x": {"base_url": "http://h"}}}}, ("models", "providers", "x", "base_url")),
        (nest("ui.refresh_ms", 500), ("ui", "refresh_ms")),
    ],
)
def test_snake_case_keys_are_rejected(data: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    assert loc in locs_of(data)


def test_schema_key_is_the_only_root_exception() -> None:
    assert validate({"$schema": "./clawtop.schema.json"}).schema_ == "./clawtop.schema.json"
    assert locs_of({"$comment": "x"}) == [("$comment",)]


def test_config_is_frozen() -> None:
    config = validate({})
    with pytest.raises(ValidationError):
        config.ui.refresh_ms = 500  # type: ignore[misc]


# --- bounds and cross-field checks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "good", "bad"),
    [
        ("ui.refreshMs", [250, 10000], [249, 10001]),
        ("gateway.port", [1, 65535], [0, 65536]),
        ("gateway.reload.mode", ["off", "hot", "restart", "hybrid"], ["sometimes"]),
        ("gateway.bind", ["0.0.0.0", "::1", "localhost"], ["not a host"]),
        ("retry.provider.jitter", [0, 1], [-0.1, 1.5, "full"]),
        ("retry.provider.jitterMode", ["none", "proportional", "full", "decorrelated"], ["random"]),
        ("retry.maxRetryAfterMs", [0, 60000], [-1]),
        ("channels.telegram.retry.attempts", [1, 20], [0]),
        ("telemetry.batchSize", [1], [0]),
        ("telemetry.retentionDays", [1, 3650], [0]),
        ("agents.defaults.contextPruning.softTrimRatio", [0, 0.5], [1.2, -0.1]),
        ("agents.defaults.contextPruning.keepLastAssistants", [0], [-1]),
        ("agents.defaults.contextPruning.mode", ["off", "cache-ttl"], ["adaptive"]),
        ("agents.defaults.contextPruning.ttl", ["0", "1h", 300, "1h30m"], ["5 min", "soon", -5, 1.5, True]),
        ("agents.defaults.compaction.recentTurnsPreserve", [0, 12], [13]),
        ("agents.defaults.compaction.maxActiveTranscriptBytes", ["20mb", 1048576], ["lots", "10"]),
        ("agents.defaults.contextTokens", [16000], [15999]),
        ("agents.defaults.sandbox.docker.memory", ["6m", "512m", "1g", "unlimited", 1073741824],
         ["5m", "1x", -1, "-1"]),
        ("agents.defaults.sandbox.docker.pidsLimit", [1, "unlimited"], [0, -1, "lots", 1.5]),
        ("agents.defaults.sandbox.docker.cpus", [0.5, 2, "unlimited"], [0, -1, "two"]),
        ("agents.defaults.sandbox.mode", ["off", "non-main", "all"], ["some"]),
        ("agents.defaults.sandbox.prune.idleHours", [0, 24], [-1]),
        ("contextAccounting.charsPerToken", ["calibrated", "fixed", 3.5], [1.0, 7, "auto"]),
        ("simulator.port", [0, 65535], [-1, 65536]),
        ("simulator.faults.faultRate", [0, 1], [1.5]),
    ],
)
def test_bounds(path: str, good: list[Any], bad: list[Any]) -> None:
    loc = tuple(path.split("."))
    for value in good:
        validate(nest(path, value))
    for value in bad:
        locs = locs_of(nest(path, value))
        assert locs == [loc], (value, locs)


def test_delay_order_is_checked_where_the_user_edits() -> None:
    data = {"retry": {"provider": {"minDelayMs": 5000, "maxDelayMs": 100}}}
    assert locs_of(data) == [("retry", "provider", "maxDelayMs")]
    assert "must be ≥ minDelayMs" in errors_of(data)[0]["msg"]


def test_jitter_string_points_to_jitter_mode() -> None:
    msg = errors_of(nest("channels.telegram.retry.jitter", "full"))[0]["msg"]
    assert 'jitterMode: "full"' in msg


def test_hard_clear_ratio_not_below_soft_trim_ratio() -> None:
    data = nest("agents.defaults.contextPruning", {"softTrimRatio": 0.6, "hardClearRatio": 0.5})
    assert locs_of(data) == [("agents", "defaults", "contextPruning", "hardClearRatio")]


def test_memory_swap_must_cover_memory() -> None:
    base = "agents.defaults.sandbox.docker"
    assert locs_of(nest(base, {"memory": "1g", "memorySwap": "512m"})) == [
        ("agents", "defaults", "sandbox", "docker", "memorySwap")
    ]
    ok = validate(nest(base, {"memory": "1g", "memorySwap": "2g"})).agents.defaults.sandbox.docker
    assert effective_memory_swap(ok) == "2g"
    unlimited = validate(nest(base, {"memory": "unlimited"})).agents.defaults.sandbox.docker
    assert effective_memory_swap(unlimited) is None


@pytest.mark.parametrize(
    ("docker", "key"),
    [
        ({"network": "host"}, "network"),
        ({"network": "container:abc"}, "network"),
        ({"seccompProfile": "Unconfined"}, "seccompProfile"),
        ({"apparmorProfile": "unconfined"}, "apparmorProfile"),
        ({"binds": ["/:/host"]}, "binds"),
        ({"binds": ["/etc/ssl:/ssl:ro"]}, "binds"),
        ({"binds": ["/var/run/docker.sock:/var/run/docker.sock"]}, "binds"),
        ({"binds": ["relative:/x"]}, "binds"),
        ({"binds": ["/data:/workspace/data"]}, "binds"),
        ({"binds": ["/data"]}, "binds"),
        ({"ulimits": {"nofile": {"soft": 10, "hard": 5}}}, "ulimits"),
        ({"ulimits": {"nofile": "9:3"}}, "ulimits"),
    ],
)
def test_sandbox_security_rules(docker: dict[str, Any], key: str) -> None:
    locs = locs_of(nest("agents.defaults.sandbox.docker", docker))
    assert locs and all(loc[:5] == ("agents", "defaults", "sandbox", "docker", key) for loc in locs), locs


def test_sandbox_dangerous_flags_unlock_their_rule() -> None:
    validate(nest("agents.defaults.sandbox.docker",
                  {"network": "container:abc", "dangerouslyAllowContainerNamespaceJoin": True}))
    validate(nest("agents.defaults.sandbox.docker",
                  {"binds": ["/data:/workspace/data:ro"], "dangerouslyAllowReservedContainerTargets": True}))
    docker = validate(nest("agents.defaults.sandbox.docker",
                           {"ulimits": {"nofile": {"soft": 1024, "hard": 4096}, "nproc": 512, "core": "0:0"}}))
    assert docker.agents.defaults.sandbox.docker.model_dump(mode="json")["ulimits"]["nofile"] == {
        "soft": 1024, "hard": 4096}


def test_model_refs_must_resolve() -> None:
    assert locs_of(nest("agents.defaults.model.primary", "nope/x")) == [("agents", "defaults", "model", "primary")]
    assert locs_of(nest("agents.defaults.model.fallbacks", ["sim/slow", "sim/medium"])) == [
        ("agents", "defaults", "model", "fallbacks", 1)
    ]
    assert locs_of({"simulator": {"enabled": False}}) == [
        ("agents", "defaults", "model", "primary"),
        ("bench", "models", 0),
        ("bench", "models", 1),
    ]
    assert locs_of(nest("agents.defaults.model.primary", "no-slash")) == [("agents", "defaults", "model", "primary")]
    provider = {"models": {"providers": {"ollama": {"baseUrl": "http://127.0.0.1:11434/v1"}}}}
    validate(provider | nest("agents.defaults.model.primary", "ollama/llama3.2"))


def test_sim_provider_id_is_reserved() -> None:
    assert locs_of({"models": {"providers": {"sim": {"baseUrl": "http://x"}}}}) == [("models", "providers", "sim")]


def test_provider_checks() -> None:
    assert locs_of({"models": {"providers": {"x": {"baseUrl": "ftp://h"}}}}) == [
        ("models", "providers", "x", "baseUrl")]
    assert locs_of({"models": {"providers": {"x": {}}}}) == [("models", "providers", "x", "baseUrl")]
    dup = {"models": {"providers": {"x": {"baseUrl": "http://h", "models": [{"id": "a"}, {"id": "a"}]}}}}
    assert locs_of(dup) == [("models", "providers", "x", "models", 1, "id")]
    assert locs_of({"models": {"providers": {"x": {"baseUrl": "http://h", "api": "grpc"}}}}) == [
        ("models", "providers", "x", "api")
    ]


def test_simulator_models_merge_over_builtins() -> None:
    sim = validate({"simulator": {"models": {"slow": {"ttftMs": 1000}, "tiny": {"contextWindow": 16000}}}}).simulator
    assert (sim.models["slow"].ttft_ms, sim.models["slow"].tokens_per_sec) == (1000, 30)
    assert sim.models["fast"].ttft_ms == 50
    assert (sim.models["tiny"].ttft_ms, sim.models["tiny"].context_window) == (50, 16000)
    validate({"simulator": {"models": {"tiny": {}}}} | nest("agents.defaults.model.primary", "sim/tiny"))
    bad = {"simulator": {"faults": {"script": ["429", "430"]}}}
    assert locs_of(bad) == [("simulator", "faults", "script", 1)]


# --- retry merging --------------------------------------------------------------------------


def test_provider_retry_override_merges_key_by_key() -> None:
    retry = RetryConfig()
    override = ProviderRetryOverride.model_validate({"attempts": 2, "deadlineMs": 5000, "budget": {"burst": 2}})
    resolved = retry.for_provider(override)
    assert resolved["policy"].attempts == 2
    assert resolved["policy"].min_delay_ms == 1000
    assert resolved["budget"].burst == 2 and resolved["budget"].refill_per_second == 0.1
    assert resolved["deadline_ms"] == 5000 and resolved["max_retry_after_ms"] == 60000
    assert retry.for_provider(None)["policy"] == retry.provider
    with pytest.raises(ValidationError):
        ProviderRetryOverride.model_validate({"minDelayMs": 60000}).merged_over(retry.provider)


def test_channel_account_retry_is_deep_merged() -> None:
    base = TelegramRetryPolicy()
    merged = ChannelRetryOverride.model_validate({"attempts": 5}).merged_over(base)
    assert isinstance(merged, TelegramRetryPolicy)
    assert (merged.attempts, merged.min_delay_ms, merged.jitter) == (5, 400, 0.1)


# --- secrets and hash -----------------------------------------------------------------------

SECRETS = {
    "gateway": {"token": "gw-secret-123"},
    "models": {"providers": {"a": {"baseUrl": "https://api.example.com", "apiKey": "sk-live-456"}}},
}


def test_redaction_hides_every_secret() -> None:
    config = validate(SECRETS)
    dumped = redacted_dump(config)
    assert dumped["gateway"]["token"] == REDACTED
    assert dumped["models"]["providers"]["a"]["apiKey"] == REDACTED
    text = json.dumps(dumped)
    assert "gw-secret-123" not in text and "sk-live-456" not in text
    assert config.gateway.token == "gw-secret-123"  # the config itself is untouched
    assert sorted(secret_paths(config)) == ["gateway.token", "models.providers.a.apiKey"]
    unset = redacted_dump(validate({}))
    assert unset["gateway"]["token"] is None


def test_secret_fields_are_marked() -> None:
    secrets = sorted(f.dotted for f in iter_fields(ClawtopConfig) if f.secret)
    assert secrets == ["gateway.token", "models.providers.*.apiKey"]


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def test_config_hash_is_stable_under_key_order(example_data: dict[str, Any]) -> None:
    digest = config_hash(validate(example_data))
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert config_hash(validate(_reverse_keys(example_data))) == digest
    assert config_hash(validate(copy.deepcopy(example_data))) == digest


def test_config_hash_changes_with_values_not_secrets() -> None:
    base = config_hash(validate(SECRETS))
    changed = copy.deepcopy(SECRETS)
    changed["gateway"]["port"] = 18790
    assert config_hash(validate(changed)) != base
    rekeyed = copy.deepcopy(SECRETS)
    rekeyed["models"]["providers"]["a"]["apiKey"] = "sk-other"
    assert config_hash(validate(rekeyed)) == base
    assert config_hash(validate(SECRETS | {"$schema": "x.json"})) == base
    # Writing a default explicitly is the same resolved config.
    assert config_hash(validate({})) == config_hash(validate(nest("gateway.port", 18789)))


# --- JSON Schema and documentation ----------------------------------------------------------


def test_every_field_is_documented() -> None:
    undocumented = [f.dotted for f in iter_fields(ClawtopConfig) if len(f.description.strip()) < 10]
    assert undocumented == []


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for name, definition in [("root", schema), *schema.get("$defs", {}).items()]:
        for key, prop in definition.get("properties", {}).items():
            found.append((f"{name}.{key}", prop))
    return found


def test_json_schema_is_json_with_descriptions() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "$schema", "gateway", "models", "simulator", "agents", "retry", "auth", "contextAccounting",
        "channels", "session", "telemetry", "ui", "bench",
    }
    undocumented = [name for name, prop in _properties(schema) if not prop.get("description")]
    assert undocumented == []
    defs = schema["$defs"]
    assert defs["GatewayConfig"]["properties"]["token"]["secret"] is True
    assert defs["ProviderConfig"]["properties"]["apiKey"]["secret"] is True
    assert defs["UiConfig"]["properties"]["refreshMs"]["minimum"] == 250
    assert defs["UiConfig"]["properties"]["refreshMs"]["maximum"] == 10000
    ttl = defs["ContextPruningConfig"]["properties"]["ttl"]
    assert ttl["default"] == "5m" and any(alt.get("type") == "string" for alt in ttl["anyOf"])
    assert all(d.get("additionalProperties") is False for d in defs.values() if d.get("type") == "object")
    assert "snake" not in text and "context_pruning" not in text


# --- introspection used by the loader -------------------------------------------------------


def test_field_at_and_child_keys() -> None:
    ttl = field_at(("agents", "defaults", "contextPruning", "ttl"))
    assert ttl is not None and ttl.key == "ttl" and "5m" in ttl.description
    item = field_at(("models", "providers", "ollama", "models", 0, "cost", "cacheRead"))
    assert item is not None and item.dotted == "models.providers.*.models.*.cost.cacheRead"
    env = field_at(("agents", "defaults", "sandbox", "docker", "env", "FOO"))
    assert env is not None and env.dotted == "agents.defaults.sandbox.docker.env"
    assert field_at(("agents", "defaults", "contextPruning", "ttll")) is None
    assert field_at(("gatewy",)) is None
    assert "ttl" in child_keys(("agents", "defaults", "contextPruning"))
    assert "baseUrl" in child_keys(("models", "providers", "anything"))
    assert "gateway" in child_keys(())
    assert child_keys(("nope", "x")) == []
