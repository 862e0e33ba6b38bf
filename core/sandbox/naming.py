"""Scope keys, slugs, container names, labels and the config hash (docs/design/sandbox.md#names-labels-and-workspaces,
docs/design/sandbox.md#ensure-and-drift, docs/design/sandbox.md#safer-default-limits).

The names and hash are a stable identity: a container found by label is ours, its hash label says
whether it was created from the current config. Labels use the ``clawtop.`` namespace so clawtop
never touches OpenClaw's containers on the same host.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from core.config.schema.sandbox import SandboxConfig, effective_memory_swap

__all__ = [
    "CREATE_ARGS_EPOCH",
    "LABEL_CONFIG_HASH",
    "LABEL_CREATED",
    "LABEL_LAST_USED",
    "LABEL_SANDBOX",
    "LABEL_SCOPE",
    "MOUNT_FORMAT_VERSION",
    "config_hash",
    "container_name",
    "labels",
    "scope_key",
    "slugify",
    "workspace_dir",
]

LABEL_SANDBOX = "clawtop.sandbox"
LABEL_SCOPE = "clawtop.sessionKey"
LABEL_CREATED = "clawtop.createdAtMs"
LABEL_MOUNT_FORMAT = "clawtop.mountFormatVersion"
LABEL_EPOCH = "clawtop.createArgsEpoch"
LABEL_CONFIG_HASH = "clawtop.configHash"
LABEL_LAST_USED = "clawtop.lastUsedAtMs"  # informational only: labels are immutable after create
MOUNT_FORMAT_VERSION = 3
CREATE_ARGS_EPOCH = "2026-12-05-tmpfs"
"""Bumping this makes every existing container drift, so idle ones are recreated
(docs/design/sandbox.md#ensure-and-drift)."""
DOCKER_ENV_POLICY_EPOCH = 1
_MAX_NAME = 63


def scope_key(scope: str, *, session_key: str, agent_id: str = "main") -> str:
    """``session`` → the session key; ``agent`` → ``agent:<id>``; ``shared`` → ``shared``."""
    if scope == "session":
        return session_key
    if scope == "shared":
        return "shared"
    return f"agent:{agent_id}"


def slugify(key: str) -> str:
    """Slug of a key: readable prefix (≤ 32 chars of ``[a-z0-9._-]``) + 8 hex chars of its
    SHA-256, so distinct keys never share a container even when their prefixes collide."""
    trimmed = key.strip()
    base = re.sub(r"[^a-z0-9._-]+", "-", (trimmed or "session").lower()).strip("-")[:32] or "session"
    return f"{base}-{hashlib.sha256(trimmed.encode()).hexdigest()[:8]}"


def container_name(prefix: str, key: str) -> str:
    """``prefix + slug`` (shared scope: ``prefix + "shared"``), at most 63 characters."""
    slug = "shared" if key == "shared" else slugify(key)
    return (prefix + slug)[:_MAX_NAME]


def workspace_dir(root: Path, key: str) -> Path:
    """Host directory mounted at the container workdir (shared scope: the root itself)."""
    return root if key == "shared" else root / slugify(key)


def resolved_docker(config: SandboxConfig) -> dict[str, Any]:
    """The docker section with clawtop's defaults applied (swap = memory), JSON-ready; this is
    what enters the hash, so a changed default makes containers drift (docs/design/sandbox.md#safer-default-limits)."""
    data = config.docker.model_dump(mode="json", by_alias=True, exclude_none=True)
    swap = effective_memory_swap(config.docker)
    if swap is not None:
        data["memorySwap"] = swap
    return data


def _strip_sort(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_sort(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list):
        return [_strip_sort(v) for v in value]
    return value


def config_hash(config: SandboxConfig, *, workspace: Path) -> str:
    """SHA-256 hex of the key-sorted, None-stripped identity object (docs/design/sandbox.md#ensure-and-drift)."""
    identity = {
        "docker": resolved_docker(config),
        "workspaceAccess": config.workspace_access,
        "workspaceDir": str(workspace),
        "mountFormatVersion": MOUNT_FORMAT_VERSION,
        "dockerEnvPolicyEpoch": DOCKER_ENV_POLICY_EPOCH,
        "createArgsEpoch": CREATE_ARGS_EPOCH,
    }
    text = json.dumps(_strip_sort(identity), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def labels(key: str, *, created_ms: int, hash_: str) -> dict[str, str]:
    """The labels every sandbox container carries (docs/design/sandbox.md#names-labels-and-workspaces,
    docs/design/sandbox.md#safer-default-limits)."""
    return {
        LABEL_SANDBOX: "1",
        LABEL_SCOPE: key,
        LABEL_CREATED: str(created_ms),
        LABEL_MOUNT_FORMAT: str(MOUNT_FORMAT_VERSION),
        LABEL_EPOCH: CREATE_ARGS_EPOCH,
        LABEL_CONFIG_HASH: hash_,
    }
