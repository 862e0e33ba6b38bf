"""``clawtop sandbox ls | stats | exec | prune | build``: inspect and drive the tool sandboxes.

Works whatever ``sandbox.mode`` says (an explicit command is the user's choice), against the
Docker daemon when one answers, else the NOT ISOLATED process backend. Exit codes: 0 ok, 1 a
sandbox error (missing image, no daemon), the command's own exit code for ``exec``, 78 invalid
config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from core.config.loader import LoadedConfig, load_config
from core.sandbox.api import ContainerInfo, SandboxBackend, SandboxError, SandboxManager, SandboxUnavailable
from core.sandbox.docker_backend import docker_available
from core.sandbox.image import DEFAULT_IMAGE, build_image
from core.sandbox.stats import StatsSample, StatsSampler

EXIT_ERROR = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sandbox`` and its subcommands."""
    parser = subparsers.add_parser("sandbox", help="list, exec in, watch, prune and build tool sandboxes",
                                   description="Per-scope sandbox containers (agents.defaults.sandbox).")
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
    sub = parser.add_subparsers(title="sandbox commands", metavar="SUBCOMMAND", required=True)
    ls = sub.add_parser("ls", help="list sandbox containers")
    ls.add_argument("--json", action="store_true", help="a JSON array of container objects")
    ls.set_defaults(handler=_handle(_ls))
    st = sub.add_parser("stats", help="live CPU/memory/pids of running sandboxes")
    st.add_argument("--no-stream", action="store_true", help="print one snapshot and exit")
    st.add_argument("--json", action="store_true", help="one JSON object per container per line")
    st.set_defaults(handler=_handle(_stats))
    ex = sub.add_parser("exec", help="run a command in a scope's sandbox: exec SCOPE [OPTIONS] -- CMD…",
                        description="Options may come anywhere before `--`; everything after it is the command.")
    ex.add_argument("scope", metavar="SCOPE", help="scope key, e.g. agent:main or shared")
    _exec_options(ex)
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    ex.set_defaults(handler=_handle(_exec), parser=ex)
    pr = sub.add_parser("prune", help="remove idle/old sandbox containers (workspaces are kept)")
    pr.add_argument("--force", action="store_true", help="remove every clawtop sandbox container")
    pr.set_defaults(handler=_handle(_prune))
    bd = sub.add_parser("build", help="build the default image clawtop-sandbox:bookworm-slim")
    bd.add_argument("--tag", default=None, help="image tag (default: the default image)")
    bd.set_defaults(handler=_handle(_build))


def _exec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout-ms", type=int, default=None, help="kill the command after this long")
    parser.add_argument("--max-output", type=int, default=None, metavar="BYTES", help="output cap")


def split_exec_argv(args: argparse.Namespace) -> list[str]:
    """The command of ``sandbox exec``; options between SCOPE and ``--`` are parsed into ``args``.
    argparse hands everything after SCOPE to the remainder, options included, so they are parsed
    here again. Exits 2 (argparse's usage error) on an unknown option before ``--``."""
    rest = list(args.argv)
    if "--" not in rest:
        return rest
    cut = rest.index("--")
    head, command = rest[:cut], rest[cut + 1:]
    if head:
        options = argparse.ArgumentParser(prog=f"{args.parser.prog} SCOPE", add_help=False)
        _exec_options(options)
        parsed, unknown = options.parse_known_args(head)
        if unknown:
            args.parser.error(f"unrecognized arguments before --: {' '.join(unknown)}")
        for key in ("timeout_ms", "max_output"):
            if getattr(parsed, key) is not None:
                setattr(args, key, getattr(parsed, key))
    return command


Action = Callable[[argparse.Namespace, LoadedConfig], Coroutine[Any, Any, int]]


def _handle(fn: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        loaded = load_config(getattr(args, "config", None))
        try:
            return asyncio.run(fn(args, loaded))
        except SandboxError as exc:
            print(f"clawtop sandbox: {exc}", file=sys.stderr)
            return EXIT_ERROR
    return run


async def _backend(loaded: LoadedConfig) -> SandboxBackend:
    config = loaded.config.agents.defaults.sandbox
    if config.mode == "off":  # explicit CLI use: run as if enabled, same backend choice
        config = config.model_copy(update={"mode": "all"})
    return await SandboxManager(config, publish=lambda _e: None, state_dir=loaded.state_dir).backend()


def _info_json(info: ContainerInfo) -> dict[str, Any]:
    return {
        "name": info.name, "scopeKey": info.scope_key, "image": info.image, "state": info.state,
        "backend": info.backend if info.isolated else f"{info.backend} (NOT ISOLATED)", "isolated": info.isolated,
        "createdAtMs": int(info.created_wall * 1000),
        "lastUsedAtMs": int(info.last_used_wall * 1000) if info.last_used_wall else None,
        "configHash": info.config_hash,
        "limits": {"cpus": info.limits.cpus, "memoryBytes": info.limits.memory_bytes,
                   "memorySwapBytes": info.limits.memory_swap_bytes, "pidsLimit": info.limits.pids_limit},
        "hardening": list(info.hardening),
    }


async def _ls(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    backend = await _backend(loaded)
    try:
        infos = await backend.list()
    finally:
        await backend.close()
    if args.json:
        print(json.dumps([_info_json(i) for i in infos], indent=2))
        return 0
    if not infos:
        print("no sandbox containers")
    now = time.time()
    for i in infos:
        idle = f"{(now - i.last_used_wall) / 60:.0f}m" if i.last_used_wall else "?"
        tag = "" if i.isolated else "  NOT ISOLATED"
        print(f"{i.name:<48} {i.state:<8} {i.scope_key:<24} idle {idle:<6} {i.image}{tag}")
    return 0


async def _exec(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    argv = split_exec_argv(args)
    if not argv:
        print("clawtop sandbox exec: give a command after --", file=sys.stderr)
        return 2
    backend = await _backend(loaded)
    try:
        result = await backend.exec(args.scope, argv, timeout_ms=args.timeout_ms, max_output_bytes=args.max_output)
    finally:
        await backend.close()
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code if result.exit_code is not None else EXIT_ERROR


async def _prune(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    backend = await _backend(loaded)
    try:
        removed = await backend.prune(force=args.force)
    finally:
        await backend.close()
    for name in removed:
        print(f"removed {name}")
    if not removed:
        print("nothing to prune")
    return 0


async def _build(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    client = await asyncio.to_thread(docker_available)
    if client is None:
        raise SandboxUnavailable("Docker daemon is not available: building the sandbox image needs Docker")
    tag = args.tag or DEFAULT_IMAGE
    try:
        image_id = await asyncio.to_thread(build_image, client, tag=tag)
    except Exception as exc:  # noqa: BLE001 — build errors (no registry, apt failure) are messages
        print(f"clawtop sandbox build: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"built {tag} ({image_id[:19]})")
    return 0


def _stats_row(name: str, s: StatsSample) -> dict[str, Any]:
    return {"name": name, "cpuPercent": round(s.cpu_percent, 2), "memoryBytes": s.memory_bytes,
            "memoryLimitBytes": s.memory_limit_bytes, "pids": s.pids, "pidsLimit": s.pids_limit}


async def _stats(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    client = await asyncio.to_thread(docker_available)
    if client is None:
        raise SandboxUnavailable("Docker daemon is not available")
    sampler = StatsSampler(lambda _e: None)
    sampler.start()
    try:
        await sampler.sync(client)
        while True:
            # A CPU figure is a delta between two frames and a stream's first frame has nothing to
            # compare with: wait for a second sample of every container (frames come each ~1 s).
            # The sampler has no "n samples" signal to wait on: poll it, for at most 5 s.
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and any(len(sampler.samples(n)) < 2 for n in sampler.names()):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            rows = [_stats_row(n, s) for n in sorted(sampler.names()) if (s := sampler.latest(n)) is not None]
            for row in rows:
                if args.json:
                    print(json.dumps(row))
                else:
                    lim = row["memoryLimitBytes"] or 0
                    print(f"{row['name']:<48} cpu {row['cpuPercent']:6.1f}%  mem {row['memoryBytes'] / 2**20:8.1f}"
                          f" / {lim / 2**20:.0f} MiB  pids {row['pids']}/{row['pidsLimit'] or '-'}")
            sys.stdout.flush()
            if args.no_stream:
                return 0
            await asyncio.sleep(2.0)
            await sampler.sync(client)
    finally:
        await sampler.close()
        await asyncio.to_thread(client.close)
