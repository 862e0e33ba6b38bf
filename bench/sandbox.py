"""Sandbox benchmarks (sandbox spec §13.5).

Run: ``.venv/bin/python bench/sandbox.py [--containers 1,10] [--seconds 20] [--json]``

Section "stats sampling": N busy containers (a shell busy loop at ``--cpus 0.2`` each, from the
busybox test image built FROM scratch), one ``core.sandbox.stats.StatsSampler`` stream per
container for ``--seconds``. Reported per container count: the sampler's own CPU time (the thread
CPU clock of every stream thread — SDK JSON decode included — plus the loop-side delivery: ring
buffer, limit detector, event construction) as % of one core per container, and the whole
process's CPU time (``time.process_time``, an upper bound that also counts the event loop idling)
the same way. Target: ≤ 1 % of one core per container. Needs a Docker daemon; every container is
removed on exit, even on failure.

Other sections (exec latency …) may be added as further ``section_*`` functions called by ``main``.
Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.sandbox.events import SandboxStats  # noqa: E402
from core.sandbox.stats import StatsSampler  # noqa: E402

TARGET_PCT_PER_CONTAINER = 1.0
IMAGE = "clawtop-sandbox-test:busybox"
_DOCKERFILE = b'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nUSER 1000:1000\n'


def build_image(client: Any) -> str:
    """The tests' busybox image (same tag and recipe as ``tests/sandbox_support.py``)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add("/bin/busybox", arcname="busybox")
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(_DOCKERFILE)
        tar.addfile(info, io.BytesIO(_DOCKERFILE))
    buf.seek(0)
    client.images.build(fileobj=buf, custom_context=True, tag=IMAGE, rm=True)
    return IMAGE


async def _sample(containers: list[Any], seconds: float) -> dict[str, Any]:
    events: list[Any] = []
    sampler = StatsSampler(events.append)
    sampler.start()
    for c in containers:
        sampler.watch(c.name, c)
    await asyncio.sleep(2.5)  # streams open, first frames in: measure steady state only
    base = {c.name: sampler.cpu_seconds(c.name) for c in containers}
    n0 = sum(isinstance(e, SandboxStats) for e in events)
    p0, w0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    p1, w1 = time.process_time(), time.monotonic()
    used = sum(sampler.cpu_seconds(c.name) - base[c.name] for c in containers)
    n1 = sum(isinstance(e, SandboxStats) for e in events)
    await sampler.close()
    wall, n = w1 - w0, len(containers)
    return {
        "containers": n,
        "seconds": round(wall, 1),
        "samples": n1 - n0,
        "sampler_pct_per_container": round(used / wall / n * 100, 4),
        "process_pct_per_container": round((p1 - p0) / wall / n * 100, 4),
        "sampler_ms_per_sample": round(used * 1000 / max(1, n1 - n0), 3),
    }


def section_stats_sampling(counts: list[int], seconds: float) -> list[dict[str, Any]]:
    """CPU cost of stats sampling per container count (§13.5)."""
    import docker

    client = docker.from_env(timeout=60)
    image = build_image(client)
    tag = uuid.uuid4().hex[:8]
    rows: list[dict[str, Any]] = []
    made: list[Any] = []
    try:
        for n in counts:
            while len(made) < n:
                made.append(client.containers.run(
                    image, ["sh", "-c", "while :; do :; done"], detach=True, network_mode="none",
                    nano_cpus=200_000_000, mem_limit="32m", pids_limit=16,
                    name=f"clawtop-bench-{tag}-{len(made)}", labels={"clawtop.bench": tag}))
            rows.append(asyncio.run(_sample(made[:n], seconds)))
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        client.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", default="1,10", help="comma-separated container counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per count")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}

    counts = [int(x) for x in args.containers.split(",") if x.strip()]
    results["stats_sampling"] = rows = section_stats_sampling(counts, args.seconds)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"== stats sampling (target ≤ {TARGET_PCT_PER_CONTAINER} % of one core per container)")
        print("containers  window  samples  sampler %/ctr  process %/ctr  ms/sample")
        for r in rows:
            print(f"{r['containers']:>10}  {r['seconds']:>5}s  {r['samples']:>7}  {r['sampler_pct_per_container']:>13.3f}"
                  f"  {r['process_pct_per_container']:>13.3f}  {r['sampler_ms_per_sample']:>9.3f}")
    ok = all(r["sampler_pct_per_container"] <= TARGET_PCT_PER_CONTAINER for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
