"""Docker fixtures for sandbox tests: a client that skips only when no daemon answers, and a tiny
busybox image (built from the host's static busybox, no registry needed)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEST_IMAGE = "clawtop-sandbox-test:busybox"
_DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nUSER 1000:1000\n'


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
    source = Path("/bin/busybox") if Path("/bin/busybox").exists() else Path(shutil.which("busybox") or "")
    if not source.is_file():
        pytest.fail("busybox is required for the Docker sandbox tests (apt-get install busybox-static)")
    ctx = tmp_path_factory.mktemp("busybox-image")
    shutil.copy2(source, ctx / "busybox")
    (ctx / "Dockerfile").write_text(_DOCKERFILE)
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
