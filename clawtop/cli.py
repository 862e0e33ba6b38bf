"""Entry point of the ``clawtop`` console script.

Every subcommand module registers its own parser and handler; handlers return an exit code.
Invalid config is reported here in one place: exit code 78 (EX_CONFIG), the issues, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from clawtop import __version__
from clawtop.commands import (
    bench_cmd,
    config_cmd,
    context_cmd,
    dashboard_cmd,
    events_cmd,
    gateway_cmd,
    prune_cmd,
    sandbox_cmd,
    send_cmd,
    sessions_cmd,
    sim_cmd,
    tune_cmd,
)
from core.config.errors import EXIT_CONFIG, ConfigError

Handler = Callable[[argparse.Namespace], int]

_GROUPS = (dashboard_cmd, gateway_cmd, config_cmd, events_cmd, send_cmd, sim_cmd, bench_cmd, prune_cmd, context_cmd,
           sessions_cmd, sandbox_cmd, tune_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clawtop",
        description="clawtop: the gateway core and its live dashboard. "
        "With no subcommand, starts the dashboard with the gateway in the background.",
    )
    parser.add_argument("--version", action="version", version=f"clawtop {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $CLAWTOP_CONFIG, else ~/.clawtop/config.json5)",
    )
    parser.set_defaults(handler=dashboard_cmd.run_dashboard)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in _GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(exc.format(), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
