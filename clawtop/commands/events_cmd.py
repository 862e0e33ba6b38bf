"""``clawtop events tail|export``: read the telemetry database, possibly while the gateway writes.

Both commands open the file read-only with plain ``sqlite3`` (WAL lets a reader in another
process proceed while the gateway commits); neither ever creates or migrates it. Exit codes:
0 success (and Ctrl-C out of ``tail``), 1 when there is nothing to read (no database yet, for
``export`` and ``tail --no-follow``; a following ``tail`` waits for it instead), 2 usage errors,
78 invalid config (raised as ``ConfigError`` and reported by ``clawtop.cli``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

# CSV_HEADER and iso_utc are imported for callers of this module, which is the public surface.
from clawtop.commands._events_format import (
    CSV_HEADER as CSV_HEADER,
    EXPORT_FORMATS,
    format_line,
    iso_utc as iso_utc,
    write_export,
)
from core.config.loader import load_config
from core.telemetry.database import connect_readonly, has_events_table
from core.telemetry.records import StoredEvent, iter_events, read_events

DEFAULT_TAIL_LINES = 20
DEFAULT_POLL_INTERVAL_S = 0.5
POLL_BATCH = 5_000
"""Rows fetched per poll while following: bounds memory when far behind (the rest comes next)."""

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class NoEventsYet(Exception):
    """The database file (or its events table) does not exist yet."""


# -- argument parsing -----------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``events`` with its ``tail`` and ``export`` subcommands."""
    events = subparsers.add_parser(
        "events",
        help="show or export recorded events",
        description="Read the events the gateway recorded in its telemetry database.",
    )
    events.set_defaults(handler=_usage(events))
    commands = events.add_subparsers(title="events commands", metavar="COMMAND")

    tail = commands.add_parser(
        "tail",
        help="print the last events, then follow new ones",
        description="Print the last N events, then poll for new ones until Ctrl-C. "
        "One line per event: local time, kind, compact payload.",
    )
    _add_kind_option(tail)
    tail.add_argument(
        "-n",
        "--lines",
        type=_non_negative_int,
        default=DEFAULT_TAIL_LINES,
        metavar="N",
        help=f"how many recent events to print first (default {DEFAULT_TAIL_LINES})",
    )
    tail.add_argument(
        "--no-follow",
        dest="follow",
        action="store_false",
        help="print the last N and exit (exit 1 if no database exists yet)",
    )
    tail.add_argument(
        "--interval",
        type=_positive_float,
        default=DEFAULT_POLL_INTERVAL_S,
        metavar="SECONDS",
        help=f"poll interval while following (default {DEFAULT_POLL_INTERVAL_S})",
    )
    tail.set_defaults(handler=handle_tail)

    export = commands.add_parser(
        "export",
        help="write events as JSON Lines or CSV",
        description="Write events (oldest first) as JSON Lines or CSV. Wall times are ISO-8601 "
        "in UTC; payloads are JSON.",
    )
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default="jsonl", help="output format (default jsonl)"
    )
    export.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="only events at or after WHEN: ISO-8601 (2025-11-25T14:00, naive = local time) "
        "or a duration ago (30s, 10m, 2h, 1d, 1w, 1h30m)",
    )
    _add_kind_option(export)
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=handle_export)


def _add_kind_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        action="append",
        dest="kinds",
        metavar="KIND",
        help="only this event kind (repeatable)",
    )


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show_usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show_usage


_Number = TypeVar("_Number", int, float)


def _checked_number(
    convert: Callable[[str], _Number], noun: str, rule: str, ok: Callable[[_Number], bool]
) -> Callable[[str], _Number]:
    """An argparse ``type=``: ``convert`` the text, then require ``ok`` ("must be {rule}")."""

    def parse(text: str) -> _Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}")
        return value

    return parse


_non_negative_int = _checked_number(int, "a whole number", ">= 0", lambda value: value >= 0)
# Spelt `> 0` (not "reject `<= 0`") so that NaN, which compares false, is rejected too.
_positive_float = _checked_number(float, "a number", "> 0", lambda value: value > 0)


def parse_since(text: str, *, now: float | None = None) -> float:
    """``--since`` to a Unix timestamp: a duration ago (``10m``, ``1h30m``) or ISO-8601.

    A naive ISO timestamp is local time, like the times ``tail`` prints.
    """
    compact = text.strip().replace(" ", "")
    if compact and _DURATION_PART.sub("", compact) == "" and _DURATION_PART.match(compact):
        seconds = sum(
            float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(compact)
        )
        return (time.time() if now is None else now) - seconds
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO-8601 time or a duration like 10m, 2h, 1d: {text!r}"
        ) from None
    return moment.timestamp()  # naive → local time, aware → its own offset


# -- handlers (config → path) ---------------------------------------------------------------


def _db_path(args: argparse.Namespace) -> Path:
    return Path(load_config(args.config).db_path)


def handle_tail(args: argparse.Namespace) -> int:
    return run_tail(
        _db_path(args),
        kinds=args.kinds,
        lines=args.lines,
        follow=args.follow,
        interval=args.interval,
    )


def handle_export(args: argparse.Namespace) -> int:
    return run_export(
        _db_path(args),
        fmt=args.format,
        since_wall=args.since,
        kinds=args.kinds,
        output=args.output,
    )


# -- tail ------------------------------------------------------------------------------------


def run_tail(
    db_path: Path,
    *,
    kinds: Sequence[str] | None = None,
    lines: int = DEFAULT_TAIL_LINES,
    follow: bool = True,
    interval: float = DEFAULT_POLL_INTERVAL_S,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the last ``lines`` events, then (``follow``) poll by id for new ones.

    Polls instead of subscribing because the gateway usually runs in another process.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    conn: sqlite3.Connection | None = None
    last_id: int | None = None  # None until the initial "last N" has been printed
    announced_wait = False
    try:
        while True:
            try:
                if conn is None:
                    conn = _open_events_db(db_path)
                if last_id is None:
                    last_id = _print_recent(conn, kinds, lines, out)
                else:
                    last_id = _print_new(conn, kinds, last_id, out, err)
            except NoEventsYet:
                if not follow:
                    print(f"no events recorded yet at {db_path}", file=err)
                    return 1
                if not announced_wait:
                    print(f"no events recorded yet at {db_path}; waiting…", file=err, flush=True)
                    announced_wait = True
            if not follow:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `clawtop events tail | head`
        _silence_stdout(out)
        return 0
    except sqlite3.DatabaseError as exc:  # not a SQLite file, corrupt, newer format…
        print(f"cannot read events from {db_path}: {exc}", file=err)
        return 1
    finally:
        if conn is not None:
            conn.close()


def _open_events_db(db_path: Path) -> sqlite3.Connection:
    try:
        conn = connect_readonly(db_path)
    except FileNotFoundError:
        raise NoEventsYet from None
    try:
        if not has_events_table(conn):
            raise NoEventsYet
    except BaseException:
        conn.close()
        raise
    return conn


def _max_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
    return int(row[0])


def _print_recent(
    conn: sqlite3.Connection, kinds: Sequence[str] | None, lines: int, out: TextIO
) -> int:
    """Print the last ``lines`` events oldest first; returns the high-water id.

    One read snapshot for both queries, so a row committed in between is neither lost nor
    printed twice by the first poll.
    """
    conn.execute("BEGIN")
    try:
        recent = read_events(conn, kinds=kinds, limit=lines, newest_first=True)
        max_id = _max_id(conn)
    finally:
        conn.execute("COMMIT")
    _print_events(reversed(recent), out)
    return max_id


def _print_new(
    conn: sqlite3.Connection, kinds: Sequence[str] | None, last_id: int, out: TextIO, err: TextIO
) -> int:
    """Print rows after ``last_id``; returns the new high-water id.

    The read and ``max(id)`` share one snapshot, so the high-water mark can skip past rows of
    other kinds (keeping each poll a short range scan) without skipping a matching one.
    """
    conn.execute("BEGIN")
    try:
        max_id = _max_id(conn)
        if max_id < last_id:
            # Ids went backwards: retention emptied the table (ids restart at 1) or the file
            # was replaced. Start over from the beginning rather than wait for a past id.
            print("(event ids restarted; the database was emptied or replaced)", file=err)
            last_id = 0
        new = read_events(conn, kinds=kinds, after_id=last_id, limit=POLL_BATCH)
    finally:
        conn.execute("COMMIT")
    _print_events(new, out)
    return new[-1].id if len(new) == POLL_BATCH else max(max_id, last_id)


def _print_events(events: Iterable[StoredEvent], out: TextIO) -> None:
    wrote = False
    for event in events:
        out.write(format_line(event) + "\n")
        wrote = True
    if wrote:
        out.flush()


def _silence_stdout(out: TextIO) -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# -- export ----------------------------------------------------------------------------------


def run_export(
    db_path: Path,
    *,
    fmt: str = "jsonl",
    since_wall: float | None = None,
    kinds: Sequence[str] | None = None,
    output: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Stream matching events, oldest first, as JSONL or CSV to ``output`` (or ``out``)."""
    err = err or sys.stderr
    try:
        conn = _open_events_db(db_path)
    except NoEventsYet:
        print(f"no events recorded yet at {db_path}", file=err)
        return 1
    except sqlite3.DatabaseError as exc:
        print(f"cannot read events from {db_path}: {exc}", file=err)
        return 1
    try:
        events = iter_events(conn, kinds=kinds, since_wall=since_wall)
        if output is not None:
            with output.open("w", encoding="utf-8", newline="") as stream:
                write_export(events, fmt, stream)
        else:
            write_export(events, fmt, out or sys.stdout)
    except BrokenPipeError:  # `clawtop events export | head`
        _silence_stdout(out or sys.stdout)
    except sqlite3.DatabaseError as exc:
        print(f"cannot read events from {db_path}: {exc}", file=err)
        return 1
    except OSError as exc:  # the output file: missing directory, permissions, full disk
        print(f"cannot write {output}: {exc.strerror or exc}", file=err)
        return 1
    finally:
        conn.close()
    return 0
