"""``clawtop sim``: run the provider simulator on its own, in the foreground.

Prints the base URL and the models on stdout, one line per generation request on stderr
(``time method path model status fault ms``), and stops cleanly on Ctrl-C or SIGTERM (exit 0).
Flags override the ``simulator`` section of the config. Exit codes: 0 after a clean stop, 1 when
the port cannot be bound, 2 for bad flags (a bad ``--script`` token is reported by argparse with
the vocabulary), 78 for an invalid config (raised as ``ConfigError``, reported by ``clawtop.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Callable
from typing import TextIO

from core.config.loader import load_config
from core.events.base import Event
from core.sim import SimulatorServer, parse_script
from core.sim.events import SimRequestEvent


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the provider simulator (Anthropic + OpenAI APIs on loopback) in the foreground",
        description="Serve simulated models over the Anthropic Messages and OpenAI Chat Completions "
        "APIs on a loopback port, with scripted or random faults. Flags override the config's "
        "simulator section. Ctrl-C stops it.",
        epilog="SPEC tokens, one per successive request (then ok): ok, 429, 429:retry-after=S, "
        "429:retry-after-ms=MS, 429:no-retry-after, 529, 500, 502, 503, timeout, reset, stream-error, "
        "400:context-overflow (prompt too long). "
        "Example: --script 429,429:retry-after=2,ok,stream-error",
    )
    parser.add_argument("--host", help="interface to bind (default: simulator.host, 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="TCP port, 0 = any free port (default: simulator.port, 0)")
    parser.add_argument("--script", metavar="SPEC", type=_script,
                        help="comma-separated outcomes of successive requests")
    parser.add_argument("--fault-rate", metavar="R", type=_rate,
                        help="probability 0–1 of a random transient fault per request after the script")
    parser.add_argument("--seed", metavar="S", type=_seed, help="seed of the fault draw and of every model's replies")
    parser.set_defaults(handler=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    try:
        server = SimulatorServer(
            loaded.config.simulator,
            host=args.host,
            port=args.port,
            script=args.script,
            fault_rate=args.fault_rate,
            seed=args.seed,
            publish=_request_logger(sys.stderr),
        )
    except ValueError as exc:  # e.g. --fault-rate with an empty simulator.faults.randomFaults
        print(f"clawtop sim: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(server))
    except OSError as exc:  # bind failed: port in use, bad host
        print(f"clawtop sim: cannot listen on {server.host}:{server.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1


async def _serve(server: SimulatorServer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    _print_banner(server, sys.stdout)
    try:
        await stop.wait()
    finally:
        await server.stop()
    stats = server.stats
    print(
        f"clawtop sim: stopped after {stats.requests} requests "
        f"({stats.faults_injected} faults injected, {stats.rate_limited} rate-limited, {stats.cache_hits} cache hits)",
        file=sys.stderr,
    )
    return 0


def _print_banner(server: SimulatorServer, out: TextIO) -> None:
    url = server.base_url
    print(f"clawtop sim listening on {url}", file=out)
    print(f"  Anthropic: POST {url}/v1/messages    OpenAI: base URL {url}/v1", file=out)
    for name in server.models:
        model = server.config.models[name]
        speed = f"ttft {model.ttft_ms} ms, {model.tokens_per_sec:g} tokens/s, {model.reply_tokens} tokens per reply"
        print(f"  model {name}: {speed}", file=out)
    out.flush()


def _request_logger(out: TextIO) -> Callable[[Event], None]:
    """A ``publish`` callback that prints one line per simulator event:
    ``HH:MM:SS method path model status fault ms``."""

    def publish(event: Event) -> None:
        if isinstance(event, SimRequestEvent):
            stamp = time.strftime("%H:%M:%S", time.localtime(event.wall))
            status = event.status if event.status is not None else "-"
            line = (f"{stamp} {event.method} {event.path} {event.model} {status} {event.fault or '-'}"
                    f" {event.duration_ms:.0f}ms")
            print(line, file=out, flush=True)

    return publish


def _script(text: str) -> str:
    try:
        parse_script(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0–1")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0–65535)")
    return int(text)


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return int(text)
