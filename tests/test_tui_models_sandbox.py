"""Sandbox model: containers folded from the sandbox's own events, with limits and hardening
from the gateway's ContainerInfo when it has one and from the config until then."""

from __future__ import annotations

from core.config.schema import ClawtopConfig
from core.events import ConfigReloaded
from core.sandbox.api import ContainerInfo, Limits
from core.sandbox.events import (
    SandboxContainerCreated,
    SandboxContainerRecreated,
    SandboxContainerRemoved,
    SandboxExec,
    SandboxLimitHit,
    SandboxLimitsUpdated,
    SandboxStats,
)
from tui.models.sandbox import SandboxModel, hardening_from, short_tags


def config(text: dict[str, object] | None = None) -> ClawtopConfig:
    return ClawtopConfig.model_validate(text or {"agents": {"defaults": {"sandbox": {"mode": "all"}}}})


class Env:
    """The two reads the model makes of the gateway: the sandbox config and ContainerInfo."""

    def __init__(self) -> None:
        self.config = config()
        self.infos: dict[str, ContainerInfo] = {}

    def model(self) -> SandboxModel:
        return SandboxModel(lambda: self.config.agents.defaults.sandbox, self.infos.get)


def stats(name: str, cpu: float, *, stale: bool = False, isolated: bool = True) -> SandboxStats:
    return SandboxStats(name=name, cpu_percent=cpu, memory_bytes=1 << 20, memory_limit_bytes=1 << 30, pids=3,
                        pids_limit=256, stale=stale, isolated=isolated)


def test_a_container_is_created_with_config_limits_and_hardening() -> None:
    env = Env()
    model = env.model()
    change = model.apply([SandboxContainerCreated(name="c1", scope_key="agent:main", image="img", config_hash="h"),
                          stats("c1", 5.0), stats("c1", 50.0, stale=True)])
    assert change.touched == {"c1"} and not change.removed and not change.execs
    state = model.containers["c1"]
    assert state.scope == "agent:main" and state.backend == "docker" and state.isolated
    assert state.cpus == 1.0 and state.memory_limit == 1 << 30 and state.pids_limit == 256
    assert [s.cpu_percent for s in state.samples] == [5.0, 50.0] and state.stale
    assert state.hardening == hardening_from(env.config.agents.defaults.sandbox.docker, True)
    assert {"init", "nnp", "ro", "net:none", "cap-drop:ALL"} == set(state.hardening)


def test_the_process_fallback_is_not_isolated_and_has_no_hardening() -> None:
    model = Env().model()
    model.apply([SandboxExec(name="p1", scope="agent:main", argv0="echo", exit_code=0, duration_ms=3.0,
                             isolated=False)])
    state = model.containers["p1"]
    assert not state.isolated and state.backend == "process" and state.hardening == ()
    assert model.exposed == 1 and [key for key, _ in model.exec_log] == ["x1"]


def test_container_info_overrides_what_the_config_says() -> None:
    env = Env()
    env.infos["c1"] = ContainerInfo(
        name="c1", scope_key="session:s1", image="img", state="running", created_wall=0.0, last_used_wall=None,
        config_hash="h", backend="docker", isolated=True,
        limits=Limits(cpus=2.0, memory_bytes=512 << 20, memory_swap_bytes=1 << 30, pids_limit=64),
        hardening=("read-only-root", "network=none", "seccomp=default"))
    model = env.model()
    model.apply([stats("c1", 10.0)])
    state = model.containers["c1"]
    assert state.scope == "session:s1" and state.cpus == 2.0
    assert state.memory_limit == 512 << 20 and state.pids_limit == 64 and state.memory_swap == 1 << 30
    assert state.hardening == ("ro", "net:none", "seccomp:default")
    assert short_tags(["NOT ISOLATED (process)", "no-new-privileges"]) == ("nnp",)


def test_hits_execs_updates_recreate_and_removal() -> None:
    model = Env().model()
    model.apply([stats("c1", 1.0), stats("c2", 1.0)])
    change = model.apply([
        SandboxLimitHit(name="c1", limit="memory", detail="exit 137, OOMKilled"),
        SandboxExec(name="c1", scope="agent:main", argv0="make", exit_code=137, duration_ms=120.0, oom_killed=True),
        SandboxLimitsUpdated(name="c1", changed=("cpus",), before="1", after="2"),
        SandboxContainerRecreated(name="c1", scope_key="agent:main", old_hash="a", new_hash="b"),
        SandboxContainerRemoved(name="c2", scope_key="agent:main", reason="idle"),
    ])
    assert change.touched == {"c1"} and change.removed == {"c2"} and change.execs
    state = model.containers["c1"]
    assert list(state.hits) == [("memory", "exit 137, OOMKilled")] and model.hit_count == 1
    assert [e.argv0 for e in state.execs] == ["make"] and state.updates == ["cpus: 1 → 2"]
    assert not state.samples  # a recreated container starts a new series
    assert "c2" not in model.containers


def test_a_sandbox_config_reload_rescales_cpus_and_reports_the_mode() -> None:
    env = Env()
    model = env.model()
    model.apply([stats("c1", 1.0)])
    assert not model.sandbox_off
    env.config = config({"agents": {"defaults": {"sandbox": {"mode": "off", "docker": {"cpus": 0.5}}}}})
    unrelated = model.apply([ConfigReloaded(changed_paths=("ui.theme",))])
    assert not unrelated.config and model.containers["c1"].cpus == 1.0
    change = model.apply([ConfigReloaded(changed_paths=("agents.defaults.sandbox.docker.cpus",))])
    assert change.config and change.touched == {"c1"}
    assert model.containers["c1"].cpus == 0.5 and model.sandbox_off
