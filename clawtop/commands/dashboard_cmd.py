"""The default command: the Textual dashboard with the gateway running in the background.

``tui`` is imported only here, inside the handler, so every headless command (and ``core``)
starts without loading Textual.
"""

from __future__ import annotations

import argparse
import os

from core.config.loader import load_config
from core.gateway import Gateway


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="start the dashboard (the same as running clawtop with no command)",
    )
    parser.set_defaults(handler=run_dashboard)


def run_dashboard(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    # deferred: start-up cost, Textual and the dashboard take ~0.5 s to import and only this
    # command needs them (every subcommand module is imported to build the parser).
    from tui.app import ClawtopApp

    app = ClawtopApp(Gateway(loaded, env=os.environ))
    app.run()
    return app.return_code or 0
