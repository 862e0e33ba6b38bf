"""The Docker backend: one hardened, long-lived container per scope key
(docs/design/sandbox.md#names-labels-and-workspaces, docs/design/sandbox.md#lifecycle,
docs/design/sandbox.md#clawtop-goes-further).

Every docker SDK call blocks, so each runs in ``asyncio.to_thread``; a per-name thread lock keeps
two concurrent ``ensure`` calls for one scope from racing to create the same container.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.config.schema.sandbox import SandboxConfig
from core.sandbox import naming
from core.sandbox.contract import ContainerInfo, ExecResult, Limits, Publish, SandboxError, SandboxUnavailable
from core.sandbox.events import (
    LimitName,
    RemovalReason,
    SandboxContainerCreated,
    SandboxContainerRecreated,
    SandboxContainerRemoved,
    SandboxContainerReused,
    SandboxExec,
    SandboxLimitHit,
    SandboxLimitsUpdated,
)
from core.sandbox.exec import ExecStartFailed, first_line, run_exec, unusable_reason
from core.sandbox.hardening import (
    create_kwargs,
    hardening_summary,
    limits_of,
    unexpected_problems,
    validate_binds_at_create,
)
from core.sandbox.image import ensure_image, user_ids
from core.sandbox.prune import IN_USE_GRACE_S, Registry, prune_reason

__all__ = ["DockerBackend", "docker_available"]

log = logging.getLogger(__name__)
_LABEL_FILTER = {"label": f"{naming.LABEL_SANDBOX}=1"}


def docker_available(timeout: float = 5.0) -> Any | None:
    """A connected docker client when a daemon answers ``ping``, else None. Blocking."""
    try:
        import docker  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

        client = docker.from_env(timeout=int(timeout))
        client.ping()
        return client
    except Exception:  # noqa: BLE001 — any failure means "no daemon" (errors: docs/design/sandbox.md#image)
        return None


def _limits_from_host(host: dict[str, Any]) -> Limits:
    def pos(v: Any) -> int | None:
        return int(v) if isinstance(v, int) and v > 0 else None

    nano = pos(host.get("NanoCpus"))
    return Limits(
        cpus=nano / 1e9 if nano else None,
        memory_bytes=pos(host.get("Memory")),
        memory_swap_bytes=pos(host.get("MemorySwap")),
        pids_limit=pos(host.get("PidsLimit")),
    )


def _docker_time(value: Any) -> float:
    """Docker's RFC 3339 ``Created`` (nanosecond precision) as wall seconds; now when unreadable,
    so an unparsable container is never pruned as ancient."""
    try:
        text = str(value)
        head, _, frac = text.rstrip("Z").partition(".")
        return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (frac or "0")[:6])
    except ValueError:
        return time.time()


class DockerBackend:
    """:class:`~core.sandbox.api.SandboxBackend` on a Docker engine."""

    name = "docker"
    isolated = True

    def __init__(
        self, config: SandboxConfig, *, publish: Publish, state_dir: str | Path, client: Any = None,
        workspace_root: str | Path | None = None,
    ) -> None:
        self.config = config
        self._publish = publish
        self._client = client
        state = Path(state_dir)
        self.workspace_root = Path(workspace_root or config.workspace_root or state / "sandboxes").expanduser()
        self.registry = Registry(state / "sandbox" / "containers.json")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._adopted: set[str] = set()  # names already reported as reused by this backend

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_available()
            if self._client is None:
                raise SandboxUnavailable("Docker daemon is not available")
        return self._client

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    # -- ensure ---------------------------------------------------------------------------------

    def _user_for(self, workspace: Path) -> str | None:
        if self.config.docker.user:
            return self.config.docker.user
        st = workspace.stat()
        # Root-owned workspace: never run as root; let the image's non-root USER apply.
        return None if st.st_uid == 0 else f"{st.st_uid}:{st.st_gid}"

    def _inspect(self, name: str) -> dict[str, Any] | None:
        import docker.errors  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

        try:
            return dict(self.client.api.inspect_container(name))
        except docker.errors.NotFound:
            return None

    def _info(self, attrs: dict[str, Any]) -> ContainerInfo:
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        name = str(attrs.get("Name", "")).lstrip("/")
        created_ms = labels.get(naming.LABEL_CREATED, "0")
        return ContainerInfo(
            name=name,
            scope_key=labels.get(naming.LABEL_SCOPE, ""),
            image=str((attrs.get("Config") or {}).get("Image", "")),
            state=str((attrs.get("State") or {}).get("Status", "unknown")),
            created_wall=int(created_ms) / 1000 if created_ms.isdigit() else _docker_time(attrs.get("Created")),
            last_used_wall=self.registry.last_used(name),
            config_hash=labels.get(naming.LABEL_CONFIG_HASH, ""),
            backend="docker",
            isolated=True,
            limits=_limits_from_host(attrs.get("HostConfig") or {}),
            hardening=hardening_summary(attrs),
        )

    def _remove(self, name: str, scope_key: str, reason: RemovalReason) -> None:
        import docker.errors  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_container(name, force=True)
        self.registry.forget(name)
        self._publish(SandboxContainerRemoved(name=name, scope_key=scope_key, reason=reason))

    def _create(self, scope_key: str, name: str, workspace: Path, hash_: str) -> dict[str, Any]:
        d = self.config.docker
        image = ensure_image(self.client, d.image)
        validate_binds_at_create(self.config, [workspace, self.workspace_root])
        created_ms = int(time.time() * 1000)
        user = self._user_for(workspace)
        kwargs = create_kwargs(
            self.config, name=name, labels=naming.labels(scope_key, created_ms=created_ms, hash_=hash_),
            workspace=workspace, user=user, tmpfs_owner=user_ids(self.client, image, user),
        )
        container = self.client.containers.create(d.image, **kwargs)
        setup_ran = False
        try:
            container.start()
            container.reload()
            problems = unexpected_problems(self.config, container.attrs)
            if problems:
                raise SandboxError(f"sandbox container {name} is not hardened as configured: {'; '.join(problems)}"
                                   " (set dangerouslyAllowWeakHardening to accept a weaker sandbox)")
            if d.setup_command:
                cmd = d.setup_command if isinstance(d.setup_command, str) else "\n".join(d.setup_command)
                code, out = container.exec_run(["/bin/sh", "-lc", cmd], workdir=d.workdir)
                if code != 0:
                    tail = out.decode(errors="replace")[-500:] if out else ""
                    raise SandboxError(f"sandbox setupCommand failed (exit {code}) in {name}: {tail}")
                setup_ran = True
        except BaseException:
            self._remove(name, scope_key, "setup_failed")  # never leave a half-set-up container (#143685)
            raise
        self.registry.touch(name, scope_key, created_ms=created_ms)
        self._adopted.add(name)
        self._publish(SandboxContainerCreated(
            name=name, scope_key=scope_key, image=d.image, config_hash=hash_, setup_ran=setup_ran,
        ))
        attrs = self._inspect(name)
        if attrs is None:
            raise SandboxError(f"sandbox container {name} vanished right after creation")
        return attrs

    def ensure_sync(self, scope_key: str) -> dict[str, Any]:
        """Blocking ensure (docs/design/sandbox.md#ensure-and-drift); returns the container's inspect dict."""
        d = self.config.docker
        name = naming.container_name(d.container_prefix, scope_key)
        workspace = naming.workspace_dir(self.workspace_root, scope_key)
        workspace.mkdir(parents=True, exist_ok=True)
        hash_ = naming.config_hash(self.config, workspace=workspace)
        with self._lock(name):
            attrs = self._inspect(name)
            if attrs is None:
                return self._create(scope_key, name, workspace, hash_)
            old = ((attrs.get("Config") or {}).get("Labels") or {}).get(naming.LABEL_CONFIG_HASH, "")
            running = bool((attrs.get("State") or {}).get("Running"))
            if old != hash_:
                last = self.registry.last_used(name)
                if running and (last is None or time.time() - last < IN_USE_GRACE_S):
                    note = (f"Sandbox config changed for {name}; kept because it was used in the last 5 minutes. "
                            "Recreate to apply: clawtop sandbox prune --force")
                    log.warning(note)
                    self._publish(SandboxContainerReused(name=name, scope_key=scope_key, drift_kept=True, note=note))
                else:
                    self._remove(name, scope_key, "drift")
                    attrs = self._create(scope_key, name, workspace, hash_)
                    self._publish(SandboxContainerRecreated(name=name, scope_key=scope_key, old_hash=old,
                                                            new_hash=hash_))
                    return attrs
            elif name not in self._adopted:
                self._publish(SandboxContainerReused(name=name, scope_key=scope_key))
            self._adopted.add(name)
            if not running:
                import docker.errors  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

                try:
                    self.client.api.start(name)
                except docker.errors.APIError as exc:
                    log.warning("sandbox container %s does not start (%s): recreating it", name, first_line(exc))
                    self._remove(name, scope_key, "unusable")
                    return self._create(scope_key, name, workspace, hash_)
                attrs = self._inspect(name) or attrs
            self.registry.touch(name, scope_key)
            return attrs

    async def ensure(self, scope_key: str) -> ContainerInfo:
        return self._info(await asyncio.to_thread(self.ensure_sync, scope_key))

    # -- exec -----------------------------------------------------------------------------------

    async def exec(
        self, scope_key: str, argv: Sequence[str], *, workdir: str | None = None, env: dict[str, str] | None = None,
        timeout_ms: int | None = None, max_output_bytes: int | None = None,
    ) -> ExecResult:
        if not argv:
            raise ValueError("exec needs a command")
        attrs = await asyncio.to_thread(self.ensure_sync, scope_key)
        d = self.config.docker
        name = str(attrs["Name"]).lstrip("/")
        full_env = {"HOME": d.workdir, **d.env, **(env or {})}
        if env and "PATH" in env:
            full_env["CLAWTOP_PREPEND_PATH"] = full_env.pop("PATH")
        else:
            full_env.pop("PATH", None)
        cwd = d.workdir if not workdir else workdir if workdir.startswith("/") else f"{d.workdir}/{workdir}"
        recovered = ""
        try:
            result, before, after = await run_exec(
                self.client.api, attrs["Id"], argv, workdir=cwd, env=full_env,
                timeout_ms=timeout_ms, max_output_bytes=max_output_bytes,
            )
        except ExecStartFailed as exc:
            # The command never started: run it again, once, in a recreated container when this
            # one cannot even run a trivial command.
            broken = await asyncio.to_thread(unusable_reason, self.client.api, attrs["Id"])
            if broken:
                recovered = f"{broken}; the engine could not start the command ({first_line(exc)})"
                attrs = await asyncio.to_thread(self._recover_sync, scope_key, name, recovered)
            try:
                result, before, after = await run_exec(
                    self.client.api, attrs["Id"], argv, workdir=cwd, env=full_env,
                    timeout_ms=timeout_ms, max_output_bytes=max_output_bytes,
                )
            except ExecStartFailed as again:
                raise SandboxError(f"sandbox {name} could not start the command: {first_line(again)}") from again
        else:
            if result.oom_killed or result.exit_code in (None, 137):
                broken = await asyncio.to_thread(unusable_reason, self.client.api, attrs["Id"])
                if broken:
                    recovered = broken
                    await asyncio.to_thread(self._recover_sync, scope_key, name, broken)
        result = self._report_limits(name, scope_key, argv[0], attrs, result, before, after)
        if recovered:
            result = dataclasses.replace(result, stderr=result.stderr + (
                f"\n[sandbox: container {name} was unusable: {recovered}; "
                "it was recreated (files in its /tmp and its background processes are gone)]"))
        await asyncio.to_thread(self.registry.touch, name, scope_key)
        self._publish(SandboxExec(
            name=name, scope=scope_key, argv0=argv[0], exit_code=result.exit_code, duration_ms=result.duration_ms,
            timed_out=result.timed_out, truncated=result.truncated, oom_killed=result.oom_killed,
        ))
        return result

    def _recover_sync(self, scope_key: str, name: str, reason: str) -> dict[str, Any]:
        """Remove an unusable container and create its replacement (the next ensure would only
        restart a stopped one, keeping whatever filled it)."""
        log.warning("sandbox container %s is unusable (%s): recreating it", name, reason)
        with self._lock(name):
            self._remove(name, scope_key, "unusable")
        return self.ensure_sync(scope_key)

    def _report_limits(
        self, name: str, scope: str, argv0: str, attrs: dict[str, Any], result: ExecResult,
        before: dict[str, int], after: dict[str, int],
    ) -> ExecResult:
        limits = _limits_from_host(attrs.get("HostConfig") or {})
        notes: list[tuple[LimitName, str]] = []
        if result.timed_out:
            notes.append(("timeout", "command exceeded its timeout; every process it started was SIGKILLed"))
        if result.oom_killed:
            notes.append(("memory", f"exit 137, OOMKilled: memory limit {limits.memory_bytes} bytes"))
        refused = after.get("pids_max", 0) - before.get("pids_max", 0)
        if refused > 0:
            notes.append(("pids", f"pids limit {limits.pids_limit} reached: {refused} fork(s) refused"))
        for limit, detail in notes:
            self._publish(SandboxLimitHit(name=name, limit=limit, detail=detail, scope=scope, argv0=argv0))
        if not notes:
            return result
        marker = "".join(f"\n[sandbox: {limit} limit hit: {detail}]" for limit, detail in notes)
        return dataclasses.replace(result, stderr=result.stderr + marker)

    # -- list / prune / limits ------------------------------------------------------------------

    def _all_attrs(self) -> list[dict[str, Any]]:
        out = []
        prefix = "/" + self.config.docker.container_prefix
        for c in self.client.api.containers(all=True, filters=_LABEL_FILTER):
            # Only this config's prefix: another clawtop (or a test) with its own prefix is not ours.
            if not any(n.startswith(prefix) for n in c.get("Names") or []):
                continue
            attrs = self._inspect(c["Id"])
            if attrs is not None:
                out.append(attrs)
        return out

    async def list(self) -> list[ContainerInfo]:
        return [self._info(a) for a in await asyncio.to_thread(self._all_attrs)]

    def _prune_sync(self, force: bool) -> builtins.list[str]:
        p = self.config.prune
        removed = []
        now = time.time()
        for info in [self._info(a) for a in self._all_attrs()]:
            reason = prune_reason(now=now, created=info.created_wall, last_used=info.last_used_wall,
                                  idle_hours=p.idle_hours, max_age_days=p.max_age_days, force=force)
            if reason:
                self._remove(info.name, info.scope_key, reason)
                removed.append(info.name)
        return removed

    async def prune(self, *, force: bool = False) -> builtins.list[str]:
        return await asyncio.to_thread(self._prune_sync, force)

    def _update_sync(self, scope_key: str | None, limits: Limits) -> builtins.list[str]:
        body: dict[str, int] = {"PidsLimit": limits.pids_limit if limits.pids_limit is not None else -1}
        if limits.cpus is not None:
            body["NanoCpus"] = int(limits.cpus * 1e9)
        if limits.memory_bytes is not None:
            body["Memory"] = limits.memory_bytes
            body["MemorySwap"] = limits.memory_swap_bytes if limits.memory_swap_bytes is not None else -1
        api = self.client.api
        names = []
        for attrs in self._all_attrs():
            info = self._info(attrs)
            if scope_key is not None and info.scope_key != scope_key:
                continue
            api._raise_for_status(api._post_json(api._url("/containers/{0}/update", attrs["Id"]), data=body))
            after = _limits_from_host((self._inspect(attrs["Id"]) or {}).get("HostConfig") or {})
            changed = tuple(f for f in ("cpus", "memory_bytes", "memory_swap_bytes", "pids_limit")
                            if getattr(after, f) != getattr(info.limits, f))
            self._publish(SandboxLimitsUpdated(name=info.name, changed=changed, before=repr(info.limits),
                                               after=repr(after)))
            names.append(info.name)
        return names

    async def update_limits(self, scope_key: str | None, limits: Limits) -> builtins.list[str]:
        return await asyncio.to_thread(self._update_sync, scope_key, limits)

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None


def configured_limits(config: SandboxConfig) -> Limits:
    """The limits a fresh container would get (for display before one exists)."""
    return limits_of(config)


