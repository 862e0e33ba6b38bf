"""Sandbox benchmarks (docs/design/sandbox.md#stats-sampling-cost).

Run: ``.venv/bin/python bench/sandbox.py [--containers 1,10] [--seconds 20] [--json]``

Section "stats sampling": N busy containers (a shell busy loop at ``--cpus 0.2`` each, from the
busybox test image built FROM scratch), one ``core.sandbox.stats.StatsSampler`` stream per
container for ``--seconds``. Reported per container count: the sampler's own CPU time (the thread
CPU clock of every stream thread — SDK JSON decode included — plus the loop-side delivery: ring
buffer, limit detector, event construction) as % of one core per container, and the whole
process's CPU time (``time.process_time``, an upper bound that also counts the event loop idling)
the same way. Target: ≤ 1 % of one core per container. Needs a Docker daemon; every container is
removed on exit, even on failure.

Section "warm exec" (``--sections warm``): one clawtop sandbox (``DockerBackend``, the busybox image,
64 MiB / 64 pids) is created once; then ``DockerBackend.exec(scope, ["echo", "hi"])`` and the CLI
``docker exec <same container> echo hi`` are timed alternately (order flipped every round) for
``--warm-runs`` rounds after 3 untimed warm-ups of each. Target: median ratio clawtop / CLI ≤ 1.0.

Section "cold start" (``--sections cold``): clawtop ``ensure`` + ``exec`` on a brand-new scope
(container create + start + first command) vs ``docker run --rm`` of the same image, same command
and the same create flags as clawtop's (``hardening.create_kwargs``: init, read-only root, tmpfs,
network none, cap-drop ALL, no-new-privileges, limits, workspace bind), interleaved,
``--cold-runs`` each. The clawtop container is removed after each round (untimed; its removal
time is reported separately, since ``docker run --rm`` includes removal). Target: ratio ≤ 1.2.

Section "accuracy" (``--sections accuracy``): one loaded container (busy loop at ``--cpus 0.5``
plus 40 MiB held by the same shell: ``a=$(head -c 40m /dev/zero | tr '\\0' a)``; busybox ``tail``
on a newline-free pipe keeps almost nothing) watched by a ``StatsSampler``; for
``--pairs`` rounds the CLI ``docker stats --no-stream --format '{{json .}}'`` is run and compared
with the mean of the sampler's samples delivered while it ran. Target: |ΔCPU| ≤ 5 percentage
points and |Δmemory| ≤ 5 % of the CLI's figure in every pair.

Every container is labelled (``clawtop.bench=<run tag>``; clawtop's own carry ``clawtop.sandbox=1``
and the run's unique name prefix) and removed on exit, even on failure.
Benchmarks are not tests: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.sandbox.events import SandboxStats
from core.sandbox.stats import StatsSampler

TARGET_PCT_PER_CONTAINER = 1.0
TARGET_WARM_RATIO = 1.0
TARGET_COLD_RATIO = 1.2
TARGET_CPU_PP = 5.0
TARGET_MEM_PCT = 5.0
CMD = ["echo", "hi"]
IMAGE = "clawtop-sandbox-test:busybox"
_DOCKERFILE = (b'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
               b"USER 1000:1000\n")


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
    """CPU cost of stats sampling per container count (docs/design/sandbox.md#stats-sampling-cost)."""
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
            with contextlib.suppress(Exception):  # already gone
                c.remove(force=True)
        client.close()
    return rows


# -- exec latency (warm / cold) -----------------------------------------------------------------


def _docker(*args: str) -> float:
    """Run one docker CLI command; its wall time in ms. Raises on a non-zero exit."""
    t0 = time.perf_counter()
    subprocess.run(["docker", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return (time.perf_counter() - t0) * 1000


def _backend(client: Any, prefix: str, state: Path) -> Any:
    from core.config.schema.sandbox import SandboxConfig
    from core.sandbox.docker_backend import DockerBackend

    cfg = SandboxConfig.model_validate({
        "mode": "all",
        "docker": {"image": IMAGE, "containerPrefix": prefix, "pidsLimit": 64, "memory": "64m"},
    })
    return DockerBackend(cfg, publish=lambda e: None, state_dir=state / "state", client=client)


def _cleanup(client: Any, prefix: str, tag: str) -> None:
    """Remove every container of this run: clawtop's (label + name prefix) and the bench's (label)."""
    seen = client.containers.list(all=True, filters={"label": "clawtop.sandbox=1"})
    seen += client.containers.list(all=True, filters={"label": f"clawtop.bench={tag}"})
    for c in seen:
        if c.name.startswith(prefix) or c.labels.get("clawtop.bench") == tag:
            with contextlib.suppress(Exception):  # already gone
                c.remove(force=True)


def _stats(xs: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(xs, n=10) if len(xs) >= 2 else [xs[0]] * 9
    return {"median": round(statistics.median(xs), 2), "p10": round(qs[0], 2), "p90": round(qs[-1], 2),
            "min": round(min(xs), 2), "n": len(xs)}


async def _warm(backend: Any, scope: str, runs: int) -> dict[str, Any]:
    info = await backend.ensure(scope)
    name = info.name

    async def ours() -> float:
        t0 = time.perf_counter()
        r = await backend.exec(scope, CMD)
        ms = (time.perf_counter() - t0) * 1000
        assert r.exit_code == 0 and r.stdout.strip() == "hi", r
        return ms

    def cli() -> float:
        return _docker("exec", name, *CMD)

    for _ in range(3):
        await ours()
        cli()
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if i % 2:
            b.append(cli())
            a.append(await ours())
        else:
            a.append(await ours())
            b.append(cli())
    ratio = statistics.median(a) / statistics.median(b)
    return {"runs": runs, "clawtop_ms": _stats(a), "cli_ms": _stats(b), "ratio": round(ratio, 3),
            "paired_ratio_median": round(statistics.median(x / y for x, y in zip(a, b, strict=True)), 3),
            "target": TARGET_WARM_RATIO, "met": ratio <= TARGET_WARM_RATIO}


def _run_flags(backend: Any, workspace: Path, tag: str) -> list[str]:
    """``docker run`` flags equivalent to clawtop's ``create_kwargs`` (same container config)."""
    from core.sandbox.hardening import limits_of

    d = backend.config.docker
    lim = limits_of(backend.config)
    flags = ["--rm", "--label", f"clawtop.bench={tag}", "--init", "--network", d.network, "-w", d.workdir,
             "-v", f"{workspace}:{d.workdir}:{'rw' if backend.config.workspace_access == 'rw' else 'ro'}",
             "--security-opt", "no-new-privileges", "--pids-limit", str(lim.pids_limit or -1)]
    if d.read_only_root:
        flags.append("--read-only")
    for t in d.tmpfs:
        flags += ["--tmpfs", f"{t}:rw,nosuid,nodev,mode=1777"]
    for cap in d.cap_drop:
        flags += ["--cap-drop", cap]
    for k, v in {**d.env, "CLAWTOP_SANDBOX": "1"}.items():
        flags += ["-e", f"{k}={v}"]
    if lim.memory_bytes:
        flags += ["--memory", str(lim.memory_bytes), "--memory-swap", str(lim.memory_swap_bytes or -1)]
    if lim.cpus:
        flags += ["--cpus", str(lim.cpus)]
    return flags


async def _cold(backend: Any, client: Any, tmp: Path, tag: str, runs: int) -> dict[str, Any]:
    from core.sandbox import naming

    ws = tmp / "cli-ws"
    ws.mkdir(exist_ok=True)
    flags = _run_flags(backend, ws, tag)

    async def ours(i: int) -> tuple[float, float]:
        scope = f"cold-{tag}-{i}"
        t0 = time.perf_counter()
        await backend.ensure(scope)
        r = await backend.exec(scope, CMD)
        ms = (time.perf_counter() - t0) * 1000
        assert r.exit_code == 0 and r.stdout.strip() == "hi", r
        name = naming.container_name(backend.config.docker.container_prefix, scope)
        t1 = time.perf_counter()
        await asyncio.to_thread(client.api.remove_container, name, force=True)
        return ms, (time.perf_counter() - t1) * 1000

    def cli() -> float:
        return _docker("run", *flags, IMAGE, *CMD)

    await ours(-1)  # warm-up of each (page cache, image layers), untimed
    cli()
    a: list[float] = []
    rm: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if i % 2:
            b.append(cli())
            ms, r = await ours(i)
        else:
            ms, r = await ours(i)
            b.append(cli())
        a.append(ms)
        rm.append(r)
    ratio = statistics.median(a) / statistics.median(b)
    with_rm = statistics.median(x + y for x, y in zip(a, rm, strict=True)) / statistics.median(b)
    return {"runs": runs, "clawtop_ms": _stats(a), "clawtop_remove_ms": _stats(rm), "cli_ms": _stats(b),
            "ratio": round(ratio, 3), "ratio_incl_remove": round(with_rm, 3),
            "target": TARGET_COLD_RATIO, "met": ratio <= TARGET_COLD_RATIO}


def section_exec(which: list[str], warm_runs: int, cold_runs: int) -> dict[str, Any]:
    """Warm exec latency and cold start vs the docker CLI, in one process (same machine state)."""
    import docker

    client = docker.from_env(timeout=60)
    build_image(client)
    tag = uuid.uuid4().hex[:8]
    prefix = f"clawtop-bench{tag}-"
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="clawtop-bench-") as tmp:
        backend = _backend(client, prefix, Path(tmp))
        try:
            if "warm" in which:
                out["warm_exec"] = asyncio.run(_warm(backend, f"warm-{tag}", warm_runs))
            if "cold" in which:
                out["cold_start"] = asyncio.run(_cold(backend, client, Path(tmp), tag, cold_runs))
        finally:
            _cleanup(client, prefix, tag)
            client.close()
    return out


# -- stats accuracy vs docker stats -------------------------------------------------------------

_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "kB": 1000, "MB": 10**6, "GB": 10**9}


def _bytes(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", text)
    if not m:
        raise ValueError(f"unreadable size {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


async def _accuracy(container: Any, pairs: int) -> dict[str, Any]:
    sampler = StatsSampler(lambda e: None)
    sampler.start()
    sampler.watch(container.name, container)
    await asyncio.sleep(4)  # memory filled, stream in steady state
    rows = []
    try:
        for _ in range(pairs):
            t0 = time.monotonic()
            out = await asyncio.to_thread(subprocess.run, [
                "docker", "stats", "--no-stream", "--format", "{{json .}}", container.name,
            ], check=True, capture_output=True, text=True)
            t1 = time.monotonic()
            cli = json.loads(out.stdout.strip().splitlines()[-1])
            await asyncio.sleep(0.3)  # let a frame that covers the end of the CLI's window arrive
            window = [s for s in sampler.samples(container.name) if t0 <= s.mono <= t1 + 0.3]
            if not window:
                latest = sampler.latest(container.name)
                assert latest is not None, "the sampler has seen this container by now"
                window = [latest]
            cpu_s = statistics.fmean(s.cpu_percent for s in window)
            mem_s = statistics.fmean(s.memory_bytes for s in window)
            cpu_c = float(cli["CPUPerc"].rstrip("%"))
            mem_c = _bytes(cli["MemUsage"].split("/")[0])
            rows.append({"sampler_cpu": round(cpu_s, 2), "cli_cpu": cpu_c, "d_cpu_pp": round(cpu_s - cpu_c, 2),
                         "sampler_mem_mib": round(mem_s / 2**20, 2), "cli_mem_mib": round(mem_c / 2**20, 2),
                         "d_mem_pct": round((mem_s - mem_c) / mem_c * 100, 2), "samples": len(window)})
            await asyncio.sleep(0.5)
    finally:
        await sampler.close()
    max_cpu = max(abs(r["d_cpu_pp"]) for r in rows)
    max_mem = max(abs(r["d_mem_pct"]) for r in rows)
    return {"pairs": rows, "median_abs_d_cpu_pp": round(statistics.median(abs(r["d_cpu_pp"]) for r in rows), 2),
            "max_abs_d_cpu_pp": max_cpu,
            "median_abs_d_mem_pct": round(statistics.median(abs(r["d_mem_pct"]) for r in rows), 2),
            "max_abs_d_mem_pct": max_mem,
            "met": max_cpu <= TARGET_CPU_PP and max_mem <= TARGET_MEM_PCT}


def section_accuracy(pairs: int) -> dict[str, Any]:
    """Sampler CPU % / memory vs ``docker stats --no-stream`` on one loaded container."""
    import docker

    client = docker.from_env(timeout=60)
    image = build_image(client)
    tag = uuid.uuid4().hex[:8]
    try:
        c = client.containers.run(
            image, ["sh", "-c", "a=$(head -c 41943040 /dev/zero | tr '\\0' a); while :; do :; done"], detach=True,
            network_mode="none", nano_cpus=500_000_000, mem_limit="128m", pids_limit=16,
            name=f"clawtop-bench-{tag}-load", labels={"clawtop.bench": tag})
        return asyncio.run(_accuracy(c, pairs))
    finally:
        _cleanup(client, f"clawtop-bench-{tag}-", tag)
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", default="1,10", help="comma-separated container counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per count")
    parser.add_argument("--sections", default="stats,warm,cold,accuracy",
                        help="comma-separated: stats, warm, cold, accuracy")
    parser.add_argument("--warm-runs", type=int, default=30, help="timed rounds of warm exec (each side)")
    parser.add_argument("--cold-runs", type=int, default=5, help="timed rounds of cold start (each side)")
    parser.add_argument("--pairs", type=int, default=6, help="paired sampler / docker stats readings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    which = [x.strip() for x in args.sections.split(",") if x.strip()]
    results: dict[str, Any] = {}
    ok = True

    if "stats" in which:
        counts = [int(x) for x in args.containers.split(",") if x.strip()]
        results["stats_sampling"] = rows = section_stats_sampling(counts, args.seconds)
        ok &= all(r["sampler_pct_per_container"] <= TARGET_PCT_PER_CONTAINER for r in rows)
    if "warm" in which or "cold" in which:
        results.update(section_exec(which, args.warm_runs, args.cold_runs))
    if "accuracy" in which:
        results["accuracy"] = section_accuracy(args.pairs)
    ok &= all(results[k]["met"] for k in ("warm_exec", "cold_start", "accuracy") if k in results)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0 if ok else 1
    if "stats_sampling" in results:
        print(f"== stats sampling (target ≤ {TARGET_PCT_PER_CONTAINER} % of one core per container)")
        print("containers  window  samples  sampler %/ctr  process %/ctr  ms/sample")
        for r in results["stats_sampling"]:
            print(f"{r['containers']:>10}  {r['seconds']:>5}s  {r['samples']:>7}"
                  f"  {r['sampler_pct_per_container']:>13.3f}"
                  f"  {r['process_pct_per_container']:>13.3f}  {r['sampler_ms_per_sample']:>9.3f}")
    targets = (("warm_exec", "warm exec", TARGET_WARM_RATIO), ("cold_start", "cold start", TARGET_COLD_RATIO))
    for key, title, target in targets:
        if key in results:
            r = results[key]
            print(f"== {title} (target ratio ≤ {target}): clawtop median {r['clawtop_ms']['median']} ms, "
                  f"docker CLI median {r['cli_ms']['median']} ms, ratio {r['ratio']}"
                  f" — {'met' if r['met'] else 'NOT met'}")
            print("   " + json.dumps({k: v for k, v in r.items() if k not in ("met", "target")}))
    if "accuracy" in results:
        r = results["accuracy"]
        print(f"== accuracy (target |ΔCPU| ≤ {TARGET_CPU_PP} pp, |Δmem| ≤ {TARGET_MEM_PCT} %): "
              f"max |ΔCPU| {r['max_abs_d_cpu_pp']} pp, max |Δmem| {r['max_abs_d_mem_pct']} %"
              f" — {'met' if r['met'] else 'NOT met'}")
        for p in r["pairs"]:
            print("   " + json.dumps(p))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
