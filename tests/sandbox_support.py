"""Docker fixtures for sandbox tests: a client that skips only when no daemon answers, and a tiny
test image built with no registry: from the host's busybox when it has one, else from the host's own
shell and coreutils, each copied with the shared libraries ``ldd`` lists (so a fresh machine with a
Docker daemon needs no install step)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEST_IMAGE = "clawtop-sandbox-test:busybox"
_BUSYBOX_DOCKERFILE = 'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nUSER 1000:1000\n'
_HOST_DOCKERFILE = 'FROM scratch\nCOPY rootfs/ /\nUSER 1000:1000\n'
HOST_TOOLS = ("sh", "echo", "cat", "wc", "pwd", "sleep", "ps", "yes", "head", "id", "timeout", "true", "ls",
              "touch", "grep", "mkdir", "rm")
"""What the sandbox tests run inside the container when the image is built from host binaries."""
OPTIONAL_HOST_TOOLS = ("wget",)
"""Copied when the host has them: the network probe also lists ``/sys/class/net`` without them."""
_LDD_PATH = re.compile(r"(/\S+)\s+\(0x")


def _shared_libraries(binary: Path) -> list[Path]:
    """The libraries (and loader) ``ldd`` says ``binary`` needs; none for a static binary."""
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    return [Path(m.group(1)) for m in _LDD_PATH.finditer(done.stdout)]


def _copy_with_libraries(binary: Path, rootfs: Path, name: str) -> None:
    """``binary`` as ``/bin/<name>`` plus its libraries at their own paths inside ``rootfs``."""
    (rootfs / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary.resolve(), rootfs / "bin" / name)
    for lib in _shared_libraries(binary):
        target = rootfs / lib.relative_to("/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib.resolve(), target)


def build_test_rootfs(ctx: Path) -> str:
    """Fill ``ctx/rootfs`` and return the Dockerfile that turns it into the test image."""
    rootfs = ctx / "rootfs"
    busybox = Path("/bin/busybox") if Path("/bin/busybox").exists() else Path(shutil.which("busybox") or "")
    if busybox.is_file() and os.environ.get("CLAWTOP_TEST_IMAGE_FROM") != "host":
        _copy_with_libraries(busybox, rootfs, "busybox")
        return _BUSYBOX_DOCKERFILE
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    if missing or shutil.which("ldd") is None:
        pytest.fail(f"the sandbox test image needs busybox, or ldd and these host tools: {', '.join(missing)}")
    for tool in (*HOST_TOOLS, *(t for t in OPTIONAL_HOST_TOOLS if shutil.which(t))):
        _copy_with_libraries(Path(shutil.which(tool) or tool), rootfs, tool)
    return _HOST_DOCKERFILE


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker client; skips (→ failure under CLAWTOP_REQUIRE_DOCKER=1) only without a daemon."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CLAWTOP_REQUIRE_DOCKER") == "1":
            # Even a test someone forgot to mark `docker` must not skip where a daemon is required.
            pytest.fail(f"CLAWTOP_REQUIRE_DOCKER=1 but no Docker daemon answers: {exc}")
        pytest.skip(f"no Docker daemon answers: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build ``clawtop-sandbox-test:busybox`` (non-root user 1000) once per session."""
    ctx = tmp_path_factory.mktemp("sandbox-test-image")
    (ctx / "Dockerfile").write_text(build_test_rootfs(ctx))
    docker_client.images.build(path=str(ctx), tag=TEST_IMAGE, rm=True, forcerm=True)
    return TEST_IMAGE


@pytest.fixture
def sandbox_prefix(docker_client: Any) -> Iterator[str]:
    """A unique container prefix; every container carrying it is removed afterwards, even on failure."""
    prefix = f"clawtop-sbxt{uuid.uuid4().hex[:6]}-"
    yield prefix
    for c in docker_client.containers.list(all=True, filters={"label": "clawtop.sandbox=1"}):
        if c.name.startswith(prefix):
            c.remove(force=True)
