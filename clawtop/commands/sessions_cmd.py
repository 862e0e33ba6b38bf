"""``clawtop sessions ls|show|import|repair``: inspect an agent's sessions, bring in OpenClaw ones,
rebuild the index.

Reads ``<state>/agents/<agent>/sessions/`` directly (no gateway needed). Exit codes: 0 success,
1 unknown session or unreadable file, 2 usage errors, 78 invalid config (raised as
``ConfigError`` and reported by ``clawtop.cli``). Skipped (torn) transcript lines and a damaged
``sessions.json`` (rebuilt from the transcripts; the store logs a warning) are reported on
stderr, never fatal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from core.config.loader import load_config
from core.events.base import Event
from core.sessions.events import TornLineSkipped
from core.sessions.model import (
    CompactionEntry,
    CustomEntry,
    Entry,
    MessageEntry,
    ModelChangeEntry,
)
from core.sessions.store import SessionNotFound, SessionStore

_PREVIEW = 80


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sessions`` with ``ls``, ``show``, ``import`` and ``repair``."""
    sessions = subparsers.add_parser(
        "sessions", help="list, show, import and repair session transcripts",
        description="Sessions of one agent: the sessions.json index and JSONL transcripts.")
    sessions.set_defaults(handler=lambda args: _print_help(sessions))
    commands = sessions.add_subparsers(title="sessions commands", metavar="COMMAND")

    ls = commands.add_parser("ls", help="list sessions, most recent first")
    ls.set_defaults(handler=run_ls)
    show = commands.add_parser("show", help="print a session's active branch")
    show.add_argument("session_id", metavar="ID", help="session id, or a session key such as main")
    show.add_argument("--context", action="store_true",
                      help="print the model-context messages (compaction applied) instead")
    show.set_defaults(handler=run_show)
    imp = commands.add_parser("import", help="import an OpenClaw transcript (.jsonl)")
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(handler=run_import)
    repair = commands.add_parser(
        "repair", help="rebuild sessions.json from the transcripts and report what was fixed",
        description="Make the index agree with the transcripts: a damaged sessions.json is kept "
        "aside and rebuilt (its complete rows salvaged), transcripts without a row get one, rows "
        "whose transcript is gone are dropped, absolute sessionFile paths become relative, a lock "
        "left by a dead process is taken over.")
    repair.set_defaults(handler=run_repair)
    for sub in (ls, show, imp, repair):
        sub.add_argument("--agent", default="main", help="agent id (default main)")
        sub.add_argument("--json", action="store_true", help="machine-readable output")


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _store(args: argparse.Namespace) -> SessionStore:
    loaded = load_config(getattr(args, "config", None))
    return SessionStore.from_config(loaded.config, loaded.state_dir, args.agent,
                                    publish=_report_skipped)


def _report_skipped(event: Event) -> None:
    if isinstance(event, TornLineSkipped):
        where = "torn last line" if event.last else "unreadable line"
        print(f"warning: {event.path}:{event.line_no}: {where} skipped ({event.error})",
              file=sys.stderr)


def _when(ms: int | None) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def run_ls(args: argparse.Namespace) -> int:
    rows = _store(args).list()
    if args.json:
        print(json.dumps([{"key": r.key, **r.to_json()} for r in rows], indent=2))
        return 0
    if not rows:
        print("no sessions")
        return 0
    print(f"{'SESSION ID':<38} {'UPDATED':<16} {'TOKENS':>8} {'COMPACT':>7}  KEY")
    for r in rows:
        tokens = "-" if r.total_tokens is None else str(r.total_tokens)
        print(f"{r.session_id:<38} {_when(r.updated_at):<16} {tokens:>8} "
              f"{r.compaction_count or 0:>7}  {r.key}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = _store(args)
    row = store.entries().get(args.session_id)
    try:
        session = store.open(row.session_id if row is not None else args.session_id)
    except (SessionNotFound, ValueError) as exc:
        print(f"error: no session {exc}", file=sys.stderr)
        return 1
    if args.context:
        messages = session.messages()
        if args.json:
            print(json.dumps([m.to_json() for m in messages], ensure_ascii=False, indent=2))
            return 0
        for m in messages:
            print(f"{m.role:<18} {_preview(m.llm_text() or m.text())}")
        return 0
    branch = session.branch()
    if args.json:
        print(json.dumps({"header": session.header.to_json(),
                          "branch": [e.to_json() for e in branch]}, ensure_ascii=False, indent=2))
        return 0
    h = session.header
    print(f"session {h.id}  version {h.version}  started {h.timestamp}  cwd {h.cwd}")
    print(f"{len(session.entries)} entries, {len(branch)} on the active branch, "
          f"{session.size} bytes")
    for entry in branch:
        print(f"{entry.id or '-':<10} {_describe(entry)}")
    return 0


def _describe(entry: Entry) -> str:
    if isinstance(entry, MessageEntry):
        m = entry.message
        calls = ", ".join(c.get("name", "?") for c in m.tool_calls())
        extra = f" → {calls}" if calls else ""
        if m.role == "toolResult":
            extra = f" [{m.tool_name}{' error' if m.is_error else ''}]"
        return f"{m.role:<12} {_preview(m.text())}{extra}"
    if isinstance(entry, CompactionEntry):
        return (f"{'compaction':<12} {entry.tokens_before} tokens before, first kept "
                f"{entry.first_kept_entry_id}: {_preview(entry.summary)}")
    if isinstance(entry, CustomEntry):
        return f"{'custom':<12} {entry.custom_type} {_preview(json.dumps(entry.data))}"
    if isinstance(entry, ModelChangeEntry):
        return f"{'model_change':<12} {entry.provider}/{entry.model_id}"
    return f"{entry.type:<12}"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW else flat[: _PREVIEW - 1] + "…"


def run_import(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        session_id = store.import_file(args.file)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    row = store.find(session_id)
    if args.json:
        print(json.dumps({"sessionId": session_id, "sessionFile": row and row.session_file}))
    else:
        print(f"imported {args.file} as session {session_id}")
    return 0


def run_repair(args: argparse.Namespace) -> int:
    report = _store(args).repair()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return 0
    if report.stale_lock_pid is not None:
        print(f"took over {report.index}.lock (its holder, pid {report.stale_lock_pid}, is gone)")
    if report.damaged is not None:
        print(f"{report.index} was damaged ({report.damaged}); kept as {report.kept_as}")
    for fix in report.fixes:
        who = " ".join(part for part in (fix.key, fix.session_id and f"({fix.session_id})") if part)
        print(f"{fix.action:<9} {who}: {fix.detail}")
    if report.written:
        print(f"rebuilt {report.index}: {report.rows} sessions, {len(report.fixes)} fixed")
    else:
        print(f"{report.index}: {report.rows} sessions, nothing to fix")
    return 0
