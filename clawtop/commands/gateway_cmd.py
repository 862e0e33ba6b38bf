"""``clawtop gateway``: run the gateway headless until Ctrl-C / SIGTERM, then flush and exit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from core.config.loader import load_config
from core.gateway import Gateway


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="run the gateway headless (logs to stderr; Ctrl-C stops cleanly and flushes)",
        description="Run the gateway without the dashboard. Logs go to stderr. "
        "Ctrl-C or SIGTERM stops it cleanly: every recorded event is flushed to the store.",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="stderr log level (default: info)",
    )
    parser.set_defaults(handler=run_gateway)


def run_gateway(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    loaded = load_config(args.config)
    return asyncio.run(_serve(Gateway(loaded, env=os.environ)))


async def _serve(gateway: Gateway) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await gateway.start()
    try:
        await stop.wait()
    finally:
        await gateway.stop(reason="signal")
    return 0
