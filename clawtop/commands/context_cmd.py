"""``clawtop context [--session ID] list|detail|json``: the ``/context`` report of a stored session.

Reads the transcript and its ``sessions.json`` row from the state directory (never writes;
the gateway need not run). The report's ``source`` is ``estimate``: the system prompt is rebuilt
from the current workspace files. Exit codes: 0 success, 1 no session / unknown session id,
78 invalid config (reported by ``clawtop.cli``).
"""

from __future__ import annotations

import argparse
import sys

from core.agent.loop import DEFAULT_SESSION_KEY
from core.agent.tools import tool_specs
from core.config.loader import load_config
from core.context import render, report_for_stored_session
from core.sandbox.api import SandboxManager
from core.sessions.store import SessionNotFound, SessionStore

MODES = ("list", "show", "detail", "deep", "json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``context``."""
    parser = subparsers.add_parser(
        "context",
        help="show what fills a session's context window",
        description="Context breakdown of a stored session: system prompt, workspace files, tools, "
        "history by category, free space and the distance to every pruning/compaction threshold.",
    )
    parser.add_argument("mode", nargs="?", default="list", choices=MODES,
                        help="list (default), detail or json")
    parser.add_argument("--session", metavar="ID", default=None,
                        help="session id (default: the most recently updated session)")
    parser.add_argument("--agent", metavar="ID", default="main", help="agent id (default: main)")
    parser.set_defaults(handler=handle_context)


def handle_context(args: argparse.Namespace) -> int:
    loaded = load_config(getattr(args, "config", None))
    store = SessionStore(loaded.state_dir, args.agent)
    rows = store.list()
    if args.session is None and not rows:
        print(f"clawtop context: no sessions yet in {store.dir}", file=sys.stderr)
        return 1
    row = rows[0] if args.session is None else store.find(args.session)
    session_id = row.session_id if row is not None else args.session
    try:
        session = store.open(session_id)
    except (SessionNotFound, ValueError, FileNotFoundError):
        print(f"clawtop context: no session {session_id!r} in {store.dir}", file=sys.stderr)
        return 1
    # The tools the agent offers this session (``exec`` too when the config sandboxes it), as in
    # /context: the same rule as ``AgentRunner.tool_specs`` (a manager only reads the config here).
    key = getattr(row, "key", "") or session.id
    sandbox = SandboxManager(loaded.config, publish=lambda _event: None, state_dir=loaded.state_dir)
    tools = tool_specs(sandbox.is_sandboxed(key, main_key=DEFAULT_SESSION_KEY))
    report = report_for_stored_session(
        loaded.config, state_dir=loaded.state_dir, session=session, row=row, tools=tools
    )
    print(render(report, args.mode))
    return 0
