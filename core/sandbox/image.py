"""The sandbox image: checking it exists and building it (docs/design/sandbox.md#image,
docs/design/sandbox.md#safer-default-limits).

A missing image fails fast with the command that fixes it; the default image is never replaced
by a pulled one (a silent pull would run unreviewed software, and offline hosts cannot pull).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.sandbox.contract import SandboxImageMissing

__all__ = ["DEFAULT_IMAGE", "DOCKERFILE_DIR", "build_image", "ensure_image", "user_ids"]

DEFAULT_IMAGE = "clawtop-sandbox:bookworm-slim"
DOCKERFILE_DIR = Path(__file__).resolve().parents[2] / "sandbox"
"""``sandbox/Dockerfile`` at the repository root (debian:bookworm-slim + the agent's tools)."""


def ensure_image(client: Any, image: str) -> dict[str, Any]:
    """Inspect ``image``; raise :class:`SandboxImageMissing` naming the fix. Blocking."""
    import docker.errors  # deferred: start-up cost, the docker SDK takes ~0.25 s to import

    try:
        return dict(client.api.inspect_image(image))
    except docker.errors.ImageNotFound:
        hint = ("run `clawtop sandbox build`" if image == DEFAULT_IMAGE
                else "build or load it first (`clawtop sandbox build` builds the default image)")
        raise SandboxImageMissing(f"Sandbox image not found: {image}; {hint}") from None


def _numeric(user: str) -> tuple[int, int | None] | None:
    name, _, group = user.partition(":")
    if not name.isdigit() or (group and not group.isdigit()):
        return None
    return int(name), int(group) if group else None


def _passwd_of(client: Any, image: str) -> str:
    # A created, never started container is the cheapest way to read a file of an image.
    cid = client.api.create_container(image, command=["true"], network_disabled=True)["Id"]
    try:
        chunks, _stat = client.api.get_archive(cid, "/etc/passwd")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.next()
            fh = tar.extractfile(member) if member is not None else None
            return fh.read().decode(errors="replace") if fh is not None else ""
    finally:
        client.api.remove_container(cid, force=True)


def user_ids(client: Any, image: dict[str, Any], user: str | None) -> tuple[int, int | None] | None:
    """Numeric (uid, gid) a container of ``image`` runs as: ``user``, else the image's ``USER``;
    a name is looked up in the image's ``/etc/passwd``. None when unknown (or no such user).
    Blocking."""
    wanted = user or str((image.get("Config") or {}).get("User") or "") or "0"
    ids = _numeric(wanted)
    if ids is not None:
        return ids
    name, _, group = wanted.partition(":")
    try:
        passwd = _passwd_of(client, str(image["Id"]))
    except Exception:  # noqa: BLE001 — no /etc/passwd in the image: the owner stays unknown
        return None
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            return int(fields[2]), int(group) if group.isdigit() else int(fields[3])
    return None


def _progress_lines(stream: Iterator[Any]) -> Iterator[str]:
    for chunk in stream:
        items = chunk if isinstance(chunk, dict) else [json.loads(x) for x in chunk.decode().splitlines() if x.strip()]
        for item in items if isinstance(items, list) else [items]:
            if "error" in item:
                raise RuntimeError(str(item["error"]).strip())
            text = item.get("stream") or item.get("status")
            if text:
                yield str(text).rstrip("\n")


def build_image(
    client: Any, *, tag: str = DEFAULT_IMAGE, path: Path = DOCKERFILE_DIR, on_line: Callable[[str], None] = print
) -> str:
    """Build ``tag`` from ``path/Dockerfile`` through the Engine API with progress lines; returns
    the image id. Blocking (the CLI calls it directly). Raises RuntimeError with the build error."""
    stream = client.api.build(path=str(path), tag=tag, rm=True, forcerm=True, decode=True)
    for line in _progress_lines(stream):
        on_line(line)
    return str(client.api.inspect_image(tag)["Id"])
