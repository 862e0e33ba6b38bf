"""``clawtop tune …``: list tunable keys, apply a tuning, show the history, undo.

The same core as the dashboard's Tune screen (:mod:`core.tuning`, docs/design/tuning.md). Exit codes: 0 ok;
78 (``EX_CONFIG``) an invalid value or unknown key, printed with its key path and the schema's message (or an
invalid config file); 1 a conflict (the file changed while it was being tuned), a read-only file, nothing to undo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from core.config.errors import EXIT_CONFIG
from core.config.loader import LoadedConfig, load_config
from core.config.paths import state_dir
from core.config.reload_plan import rule_for
from core.events.base import Event
from core.events.bus import EventBus
from core.telemetry.store import EventStore
from core.tuning import (
    Change,
    TunableValue,
    Tuning,
    TuningError,
    apply_tuning,
    list_tunables,
    parse_value,
    propose,
    tuning_history,
    undo_tuning,
)
from core.tuning.preview import PreviewSources, preview_proposal

__all__ = ["parse_assignments", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="list, change and undo tunable settings (validated, written back, journalled)",
        description="Tune the config: the same catalogue, validation, journal and undo as the dashboard's Tune "
        "screen. Exit codes: 0 ok, 78 invalid value or unknown key, 1 conflict or refused write.",
    )
    parser.set_defaults(handler=lambda _args: _usage(parser))
    sub = parser.add_subparsers(title="tune commands", metavar="COMMAND")

    list_ = sub.add_parser("list", help="tunable keys with current value, source and reload effect")
    list_.add_argument("prefix", nargs="?", default="", help="only keys at or under this dotted prefix")
    list_.add_argument("--json", action="store_true", help="machine-readable output")
    list_.set_defaults(handler=run_list)

    set_ = sub.add_parser("set", help="apply KEY=VALUE changes (or preview them with --what-if)")
    set_.add_argument("assignments", nargs="+", metavar="KEY=VALUE",
                      help="full dotted key = a JSON5 literal (10, true, \"5m\", [..]) or a bare string (10s)")
    set_.add_argument("--what-if", action="store_true", help="validate and preview; write nothing")
    set_.add_argument("--session", metavar="ID", help="session the previews are computed for")
    set_.add_argument("--json", action="store_true", help="machine-readable output")
    set_.set_defaults(handler=run_set)

    history = sub.add_parser("history", help="every tuning and undo, newest first")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.set_defaults(handler=run_history)

    undo = sub.add_parser("undo", help="revert the last tuning (or the one given)")
    undo.add_argument("id", nargs="?", help="tuning id (a unique prefix is enough); default: the last one")
    undo.add_argument("--json", action="store_true", help="machine-readable output")
    undo.set_defaults(handler=run_undo)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _shown(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, ensure_ascii=False)


# --- list --------------------------------------------------------------------------------------


def _range(row: TunableValue) -> str:
    t = row.tunable
    parts = [t.type]
    if t.minimum is not None or t.maximum is not None:
        lo = "" if t.minimum is None else f"{t.minimum:g}"
        hi = "" if t.maximum is None else f"{t.maximum:g}"
        parts.append(f"{lo}…{hi}")
    if t.unit:
        parts.append(t.unit)
    if t.choices:
        parts.append("|".join(t.choices))
    return " ".join(parts)


def _row_json(row: TunableValue) -> dict[str, Any]:
    t = row.tunable
    return {"path": t.path, "value": row.value, "source": row.source, "type": t.type, "default": t.default,
            "minimum": t.minimum, "maximum": t.maximum, "unit": t.unit, "choices": list(t.choices),
            "reload": t.reload, "effect": t.effect, "doc": t.doc}


def run_list(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    rows = list_tunables(loaded, args.prefix)
    if args.prefix and not rows:
        problem = propose(loaded, [Change(args.prefix, None)]).errors.get(args.prefix, "no tunable key there")
        print(f"{args.prefix}: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps([_row_json(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    print(f"# config: {loaded.source}")
    cells = [(f"{r.tunable.path} = {_shown(r.value)}", _range(r), f"{r.source} · {r.tunable.effect}") for r in rows]
    width = min(max((len(c[0]) for c in cells), default=0), 72) + 2  # a long list value wraps the row
    kind_width = min(max((len(c[1]) for c in cells), default=0), 40) + 2
    for key, kind, where in cells:
        print(key.ljust(width) + kind.ljust(kind_width) + "# " + where)
    return 0


# --- set ---------------------------------------------------------------------------------------


def parse_assignments(items: Sequence[str]) -> list[Change]:
    """``KEY=VALUE`` items as changes; the value is a JSON5 literal if it parses, else the bare string."""
    changes: list[Change] = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not KEY=VALUE (e.g. agents.defaults.contextPruning.ttl=10s)")
        changes.append(Change(key.strip(), parse_value(text)))
    return changes


def _print_errors(errors: dict[str, str], as_json: bool) -> int:
    if as_json:
        print(json.dumps({"ok": False, "errors": errors}, indent=2, ensure_ascii=False))
    else:
        print("Invalid tuning, nothing written:", file=sys.stderr)
        for path, message in errors.items():
            print(f"- {path}: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _what_if(loaded: LoadedConfig, changes: list[Change], args: argparse.Namespace) -> int:
    """Validate and preview (the Tune screen's preview, computed on the state dir's sessions and the event
    store read only); nothing is written."""
    proposal = propose(loaded, changes)
    if not proposal.ok:
        return _print_errors(proposal.errors, args.json)
    sources = PreviewSources.for_loaded(loaded, session=args.session)
    preview = asyncio.run(preview_proposal(loaded.config, proposal, sources))
    current = {r.tunable.path: r for r in list_tunables(loaded)}
    rows = [{"path": c.path, "old": current[c.path].value if c.path in current else None, "new": c.value,
             "effect": proposal.effects.get(c.path)} for c in changes]
    if args.json:
        print(json.dumps({"ok": True, "written": False, "changes": rows, "needsRestart": list(proposal.needs_restart),
                          "preview": preview.to_json()}, indent=2, ensure_ascii=False))
        return 0
    print(f"What if (nothing written; config: {loaded.source}):")
    for row in rows:
        print(f"  {row['path']}: {_shown(row['old'])} → {_shown(row['new'])}  ({row['effect']})")
    if proposal.needs_restart:
        print("Needs a core restart to take effect: " + ", ".join(proposal.needs_restart))
    for line in preview.lines():
        print(line)
    return 0


def _store(loaded: LoadedConfig, events: list[Event]) -> None:
    """Record the CLI's ``config.tuned`` in the event store, as the gateway would."""

    async def write() -> None:
        async with EventStore(loaded.db_path) as store:
            bus = EventBus()
            store.attach(bus)
            for event in events:
                bus.publish(event)

    asyncio.run(write())


def _print_tuning(tuning: Tuning, as_json: bool, verb: str) -> None:
    if as_json:
        print(json.dumps({"ok": True, **tuning.summary()}, indent=2, ensure_ascii=False))
        return
    if not tuning.id:
        print(tuning.note or "No change.")
        return
    print(f"{verb} {tuning.id} ({tuning.origin}):")
    for c in tuning.changes:
        print(f"  {c.path}: {_shown(c.old)} → {_shown(c.new)}  ({rule_for(c.path).effect})")
    for f in tuning.files:
        print(f"  wrote {f.path}" if f.after is not None else f"  removed {f.path}")
    if tuning.note:
        print(tuning.note)


def _refused(exc: TuningError, as_json: bool) -> int:
    if exc.errors:
        return _print_errors(exc.errors, as_json)
    if as_json:
        print(json.dumps({"ok": False, "conflict": exc.conflict, "error": str(exc)}, indent=2, ensure_ascii=False))
    else:
        print(f"tuning refused: {exc}", file=sys.stderr)
    return 1


def run_set(args: argparse.Namespace) -> int:
    try:
        changes = parse_assignments(args.assignments)
    except ValueError as exc:
        print(f"clawtop tune set: {exc}", file=sys.stderr)
        return 2
    loaded = load_config(args.config)
    if args.what_if:
        return _what_if(loaded, changes, args)
    proposal = propose(loaded, changes)
    if not proposal.ok:
        return _print_errors(proposal.errors, args.json)
    if proposal.needs_restart and not args.json:
        print("Note: needs a core restart to take effect: " + ", ".join(proposal.needs_restart))
    events: list[Event] = []
    try:
        tuning = apply_tuning(loaded, changes, origin="cli", publish=events.append, env=os.environ)
    except TuningError as exc:
        return _refused(exc, args.json)
    if events:
        _store(loaded, events)
    _print_tuning(tuning, args.json, "Tuned")
    return 0


# --- history / undo ----------------------------------------------------------------------------


def run_history(args: argparse.Namespace) -> int:
    entries = tuning_history(state_dir(os.environ))
    if args.json:
        print(json.dumps([t.summary() for t in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("No tunings yet.")
        return 0
    undone = {t.undo_of for t in entries if t.undo_of}
    for t in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.wall))
        mark = f"undo of {t.undo_of}" if t.undo_of else ("undone" if t.id in undone else "")
        changes = ", ".join(f"{c.path}: {_shown(c.old)} → {_shown(c.new)}" for c in t.changes) or "(no change)"
        print(f"{t.id}  {when}  {t.origin:<9}  {changes}" + (f"  [{mark}]" if mark else ""))
    return 0


def run_undo(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    events: list[Event] = []
    try:
        tuning = undo_tuning(loaded, args.id, origin="cli", publish=events.append, env=os.environ)
    except TuningError as exc:
        return _refused(exc, args.json)
    if events:
        _store(loaded, events)
    _print_tuning(tuning, args.json, "Undone by")
    return 0

