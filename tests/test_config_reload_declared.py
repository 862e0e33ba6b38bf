"""Reload behaviour declared on the schema fields, and the registry of appliers that runs it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.config.appliers import Applier, ReloadAppliers
from core.config.reload_plan import plan_reload, reload_effect, reload_kind, rule_for
from core.config.schema import ClawtopConfig, json_schema, schema_paths
from core.config.schema.reload import Reload, declaration_of, reload
from core.config.schema.sandbox import SandboxDockerConfig

# --- declarations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "declared", "action", "declared_at"),
    [
        ("retry.provider.rateLimitAttempts", Reload.HOT, "retry-policy", "retry"),
        ("models.providers.local.retry.budget.burst", Reload.HOT, "retry-policy", "models.providers.*.retry"),
        ("channels.discord.accounts.a.retry.jitter", Reload.HOT, "retry-policy", "channels.discord.accounts.*.retry"),
        ("agents.defaults.sandbox.docker.memorySwap", Reload.DOCKER_UPDATE, "docker-update",
         "agents.defaults.sandbox.docker.memorySwap"),
        ("agents.defaults.sandbox.docker.pidsLimit", Reload.DOCKER_UPDATE, "docker-update",
         "agents.defaults.sandbox.docker.pidsLimit"),
        ("agents.defaults.sandbox.docker.image", Reload.RECREATE_CONTAINER, "sandbox-drift",
         "agents.defaults.sandbox"),
        ("agents.defaults.sandbox.workspaceAccess", Reload.RECREATE_CONTAINER, "sandbox-drift",
         "agents.defaults.sandbox"),
        ("agents.defaults.sandbox.mode", Reload.HOT, "sandbox-drift", "agents.defaults.sandbox.mode"),
        ("agents.defaults.sandbox.prune.idleHours", Reload.HOT, "sandbox-drift", "agents.defaults.sandbox.prune"),
        ("gateway.reload.mode", Reload.NONE, "reload-settings", "gateway.reload"),
        ("gateway.port", Reload.RESTART, "restart-core", "gateway"),
        ("telemetry.retentionDays", Reload.RESTART, "restart-core", ""),
        ("simulator.enabled", Reload.RESTART, "restart-core", ""),
        ("agents.defaults.maxConcurrent", Reload.RESTART, "restart-core", ""),
    ],
)
def test_nearest_declaration_on_the_path_wins(path: str, declared: Reload, action: str, declared_at: str) -> None:
    rule = rule_for(path)
    assert (rule.reload, rule.action, rule.declared_at) == (declared, action, declared_at)
    assert rule.kind == declared.plan_kind == reload_kind(path)


def test_effects_are_said_in_words() -> None:
    assert reload_effect("ui.refreshMs") == "applies live"
    assert reload_effect("gateway.port") == "needs a core restart"
    assert reload_effect("agents.defaults.sandbox.docker.image") == "applies on container recreate"
    assert reload_effect("agents.defaults.sandbox.docker.cpus") == "applies live to running containers"
    assert reload_effect("bench.runs").startswith("applies when next used")
    assert {k.plan_kind for k in Reload} == {"hot", "restart", "none"}
    assert Reload.RECREATE_CONTAINER.plan_kind == Reload.DOCKER_UPDATE.plan_kind == "hot"


def test_every_key_has_a_rule_and_the_plan_follows_it() -> None:
    paths = [p.replace("*", "x") for p in schema_paths()]
    plan = plan_reload(paths)
    assert sorted(plan.changed) == sorted(paths)
    for path in paths:
        assert path in getattr(plan, rule_for(path).kind)


def test_declarations_are_exported_in_the_json_schema() -> None:
    schema = json_schema()
    retry = schema["properties"]["retry"]
    assert (retry["reload"], retry["reloadAction"]) == ("hot", "retry-policy")
    docker = schema["$defs"]["SandboxDockerConfig"]["properties"]
    assert docker["cpus"]["reload"] == "docker-update" and "reload" not in docker["image"]


def test_reload_marker_keeps_other_markers() -> None:
    extra = reload(Reload.HOT, "x", secret=True)
    assert extra["secret"] is True and declaration_of(extra) is not None
    assert declaration_of(extra).kind is Reload.HOT  # type: ignore[union-attr]
    assert declaration_of(None) is None and declaration_of({"secret": True}) is None
    assert declaration_of(SandboxDockerConfig.model_fields["memory"].json_schema_extra).kind is Reload.DOCKER_UPDATE  # type: ignore[union-attr]


# --- appliers -----------------------------------------------------------------------------------


async def test_appliers_run_in_order_for_changes_under_their_prefix() -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []
    appliers = ReloadAppliers()

    def sync(name: str) -> Applier:
        def apply(_old: ClawtopConfig, _new: ClawtopConfig, paths: tuple[str, ...]) -> None:
            calls.append((name, paths))
        return apply

    async def slow(_old: ClawtopConfig, _new: ClawtopConfig, paths: tuple[str, ...]) -> None:
        await asyncio.sleep(0)
        calls.append(("sandbox", paths))

    appliers.register("auth.cooldowns", sync("cooldowns"))
    appliers.register("agents.defaults.sandbox", slow)
    appliers.register("", sync("any"))
    appliers.register("retry", sync("retry"))
    old = new = ClawtopConfig()
    ran = await appliers.apply(old, new, ["agents.defaults.sandbox.docker.cpus", "retryx", "ui.theme"])
    assert ran == ["agents.defaults.sandbox", "<any>"]
    assert calls == [("sandbox", ("agents.defaults.sandbox.docker.cpus",)),
                     ("any", ("agents.defaults.sandbox.docker.cpus", "retryx", "ui.theme"))]
    assert await appliers.apply(old, new, []) == []
    assert [p for p, _ in appliers.registered()] == ["auth.cooldowns", "agents.defaults.sandbox", "", "retry"]


async def test_an_applier_error_propagates_and_stops_the_rest() -> None:
    appliers = ReloadAppliers()
    seen: list[str] = []

    def boom(_old: ClawtopConfig, _new: ClawtopConfig, _paths: tuple[str, ...]) -> None:
        raise RuntimeError("boom")

    appliers.register("ui", boom)
    appliers.register("ui", lambda _o, _n, _p: seen.append("after"))
    with pytest.raises(RuntimeError, match="boom"):
        await appliers.apply(ClawtopConfig(), ClawtopConfig(), ["ui.theme"])
    assert seen == []


def test_gateway_registers_its_live_parts(tmp_path: Path) -> None:
    from core.config.loader import load_config
    from core.gateway import Gateway

    cfg = tmp_path / "c.json5"
    cfg.write_text("{}")
    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    gateway = Gateway(load_config(cfg, env=env, dotenv=False), env=env, watch_config=False)
    assert gateway.reload_appliers.registered() == [
        ("auth.cooldowns", "cooldowns"),
        ("agents.defaults.maxConcurrent", "turn-limit"),
        ("", "context"),
        ("agents.defaults.sandbox", "sandbox"),
        ("gateway.reload.debounceMs", "watcher"),
        ("", "settings-version"),
    ]


async def test_gateway_reload_reaches_the_live_parts_through_the_registry(tmp_path: Path) -> None:
    from core.config.loader import load_config
    from core.gateway import Gateway

    env = {"HOME": str(tmp_path), "CLAWTOP_STATE_DIR": str(tmp_path / "state")}
    a, b = tmp_path / "a.json5", tmp_path / "b.json5"
    a.write_text("{}")
    b.write_text("{ agents: { defaults: { maxConcurrent: 2 } }, auth: { cooldowns: { billingBackoffHours: 9 } } }")
    gateway = Gateway(load_config(a, env=env, dotenv=False), env=env, watch_config=False)
    new = load_config(b, env=env, dotenv=False)
    await gateway._on_config_change(new)
    assert gateway.agent.scheduler.limit == 2
    assert gateway.cooldowns.config == new.config.auth.cooldowns
    assert gateway.context.config is new.config
