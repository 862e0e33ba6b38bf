"""Live resource tuning of running sandbox containers (docs/design/sandbox.md#live-limit-tuning).

A change to ``cpus``, ``memory``, ``memorySwap`` or ``pidsLimit`` is applied to every running
clawtop container with one Engine API ``POST /containers/{id}/update`` carrying ``NanoCpus``,
``Memory``, ``MemorySwap`` and ``PidsLimit``. The SDK's ``update_container`` has neither
``NanoCpus`` nor ``PidsLimit``, so the body is posted through the low-level client. Memory and swap
travel together so the daemon (runc orders the two cgroup writes) never sees swap < memory.

Verified on Docker 20.10 / API 1.41 / cgroup v1: all four keys update live; ``PidsLimit: -1``
removes the pids limit; ``NanoCpus: 0`` and ``Memory: 0`` mean "unchanged" and ``Memory: -1`` is
refused, so lifting a ``cpus`` or ``memory`` limit to ``"unlimited"`` applies only on recreate. When
the engine refuses a value (e.g. memory below current usage) nothing is assumed: the refused keys
are reported "applies on recreate" with the engine's message, the accepted ones are re-read from
``inspect``. Blocking: call from a worker thread (:func:`apply_live_limits_async`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from core.config.schema.sandbox import SandboxConfig, SandboxDockerConfig, effective_memory_swap
from core.config.schema.sandbox_limits import UNLIMITED
from core.config.schema.sizes import byte_size
from core.sandbox.events import SandboxLimitsUpdated

__all__ = ["LIVE_KEYS", "apply_live_limits", "apply_live_limits_async", "changed_keys", "update_body"]

LIVE_KEYS: tuple[str, ...] = ("cpus", "memory", "memorySwap", "pidsLimit")
"""Config keys (OpenClaw spelling, under ``sandbox.docker``) that ``docker update`` can change."""

_HOST_FIELDS = {"cpus": "NanoCpus", "memory": "Memory", "memorySwap": "MemorySwap", "pidsLimit": "PidsLimit"}
_SANDBOX_LABEL = "clawtop.sandbox=1"


def _flat(cfg: SandboxConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = value

    walk("", cfg.model_dump(by_alias=True, mode="json"))
    return out


def changed_keys(old: SandboxConfig, new: SandboxConfig) -> tuple[list[str], list[str]]:
    """(live, recreate): changed live keys (``cpus`` …) and every other changed sandbox path.

    An unset ``memorySwap`` follows ``memory`` (docs/design/sandbox.md#safer-default-limits), so a memory change also
    changes swap.
    """
    a, b = _flat(old), _flat(new)
    live: list[str] = []
    for key in LIVE_KEYS:
        if a.get(f"docker.{key}") != b.get(f"docker.{key}"):
            live.append(key)
    if "memory" in live and "memorySwap" not in live and new.docker.memory_swap is None:
        live.append("memorySwap")
    live_paths = {f"docker.{k}" for k in LIVE_KEYS}
    recreate = sorted(k for k in a.keys() | b.keys() if k not in live_paths and a.get(k) != b.get(k))
    return live, recreate


def update_body(docker: SandboxDockerConfig, keys: list[str]) -> tuple[dict[str, int], list[str]]:
    """Engine ``update`` body for ``keys`` plus the keys that cannot go live (to unlimited)."""
    body: dict[str, int] = {}
    not_live: list[str] = []
    for key in keys:
        if key == "cpus":
            if docker.cpus == UNLIMITED:
                not_live.append(key)  # NanoCpus 0 means "unchanged" to the engine
            else:
                body["NanoCpus"] = round(float(docker.cpus) * 1e9)
        elif key == "pidsLimit":
            body["PidsLimit"] = -1 if docker.pids_limit == UNLIMITED else int(docker.pids_limit)
        elif key in ("memory", "memorySwap"):
            if docker.memory == UNLIMITED:
                not_live.append(key)  # Memory -1 is refused, 0 means "unchanged"
                continue
            body["Memory"] = byte_size(docker.memory)
            swap = effective_memory_swap(docker)
            assert swap is not None, "None only when memory is unset or unlimited, handled above"
            body["MemorySwap"] = -1 if swap == UNLIMITED else byte_size(swap)
    return body, not_live


def _post_update(api: Any, container_id: str, body: dict[str, int]) -> None:
    res = api._post_json(api._url("/containers/{0}/update", container_id), data=body)
    api._result(res, True)


def _groups(body: dict[str, int]) -> list[tuple[list[str], dict[str, int]]]:
    # Retry split: CPU, pids, and memory+swap together (never one without the other).
    out: list[tuple[list[str], dict[str, int]]] = []
    if "NanoCpus" in body:
        out.append((["cpus"], {"NanoCpus": body["NanoCpus"]}))
    if "PidsLimit" in body:
        out.append((["pidsLimit"], {"PidsLimit": body["PidsLimit"]}))
    if "Memory" in body:
        out.append((["memory", "memorySwap"], {"Memory": body["Memory"], "MemorySwap": body["MemorySwap"]}))
    return out


def _limits_text(attrs: dict[str, Any], keys: list[str]) -> str:
    hc = attrs.get("HostConfig") or {}
    return ", ".join(f"{k}={hc.get(_HOST_FIELDS[k])}" for k in keys)


def apply_live_limits(
    client_or_backend: Any,
    old_cfg: SandboxConfig,
    new_cfg: SandboxConfig,
    *,
    source: str = "config",
    label: str | Sequence[str] = _SANDBOX_LABEL,
) -> list[SandboxLimitsUpdated]:
    """Apply changed live limits to every running clawtop container; one event per outcome.

    Per container: one event with the keys applied in place (``applies_on_recreate=False``,
    ``before``/``after`` re-read from ``inspect``) and, when anything else changed or the engine
    refused a key, one event with ``applies_on_recreate=True`` naming those keys (``after`` carries
    the engine's refusal). ``label``: one filter or several that must all match (tests narrow it
    to their own containers). Blocking docker calls: run it in a worker thread.
    """
    client = getattr(client_or_backend, "client", client_or_backend)
    live, recreate = changed_keys(old_cfg, new_cfg)
    if not live and not recreate:
        return []
    body, not_live = update_body(new_cfg.docker, live)
    live = [k for k in live if k not in not_live]
    events: list[SandboxLimitsUpdated] = []
    running = {"label": label if isinstance(label, str) else list(label), "status": "running"}
    for container in client.containers.list(filters=running):
        applied, refused, errors = list(live), list(not_live), []
        before = _limits_text(container.attrs, applied) if applied else ""
        if body:
            try:
                _post_update(client.api, container.id, body)
            except Exception:  # noqa: BLE001 - split to learn which key the engine refuses
                applied = []
                for keys, part in _groups(body):
                    try:
                        _post_update(client.api, container.id, part)
                        applied += keys
                    except Exception as exc:  # noqa: BLE001 - reported, never raised
                        refused += keys
                        errors.append(_engine_message(exc))
        if applied:
            container.reload()
            events.append(SandboxLimitsUpdated(
                name=container.name, changed=tuple(applied), applies_on_recreate=False,
                before=before, after=_limits_text(container.attrs, applied), source=source,
            ))
        pending = refused + recreate
        if pending:
            note = "applies on recreate" + (f"; engine refused: {'; '.join(errors)}" if errors else "")
            events.append(SandboxLimitsUpdated(
                name=container.name, changed=tuple(pending), applies_on_recreate=True,
                after=note, source=source,
            ))
    return events


async def apply_live_limits_async(client_or_backend: Any, old_cfg: SandboxConfig, new_cfg: SandboxConfig,
                                  *, source: str = "config",
                                  label: str | Sequence[str] = _SANDBOX_LABEL) -> list[SandboxLimitsUpdated]:
    """:func:`apply_live_limits` off the event loop (every docker call blocks)."""
    return await asyncio.to_thread(apply_live_limits, client_or_backend, old_cfg, new_cfg, source=source, label=label)


def _engine_message(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip().splitlines()[0][:300]
