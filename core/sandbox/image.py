"""The sandbox image: checking it exists and building it (docs/design/sandbox.md#image,
docs/design/sandbox.md#safer-default-limits).

A missing image fails fast with the command that fixes it; the default image is never replaced
by a pulled one (a silent pull would run unreviewed software, and offline hosts cannot pull).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.sandbox.contract import SandboxImageMissing

__all__ = ["DEFAULT_IMAGE", "DOCKERFILE_DIR", "build_image", "ensure_image"]

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
