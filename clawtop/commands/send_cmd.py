"""``clawtop send [--json] [--model PROVIDER/MODEL] [--session KEY] TEXT``: one agent turn from the shell.

It starts a gateway (with its own simulator when the config uses ``sim/…``), does the turn
exactly as the dashboard's Chat pane does (tools in the workspace, stored in the session's
transcript; session ``main`` unless ``--session`` names another), stops the gateway (flushing the turn's events to the
store) and prints the reply — streamed to stdout as it arrives — or, with ``--json``, one JSON
document ``{reply, model, usage, stopReason, ttftMs, latencyMs, opId, turnId, sessionId, toolCalls,
attempts, error}``.

Exit codes: 0 the model answered; 1 the turn failed (the classified error is on stderr, and in
the JSON's ``error`` with ``--json``) or the session's files could not be used (the reason on
stderr); 2 usage errors (bad ``--model``); 78 invalid config.

Concurrent ``send``s on one session are safe: each waits for the session's turn lock, so their
turns run one after another and all of them stay on the active branch
(docs/design/sessions.md#locking).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from typing import Any

from core.chat import TurnFailed, TurnResult, turn_json
from core.config.loader import LoadedConfig, load_config
from core.gateway import Gateway

EXIT_TURN_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``send``."""
    parser = subparsers.add_parser(
        "send",
        help="send one chat message to the configured model and print the reply",
        description="Do one chat turn through the gateway (retries, failover and events as in "
        "the dashboard) and print the reply as it streams. Exit codes: 0 replied, 1 the turn "
        "failed (classified error on stderr), 2 usage error, 78 invalid config.",
    )
    parser.add_argument("text", nargs="+", metavar="TEXT", help="the message (words are joined by spaces)")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,  # keep a --config given before `send`
        help="config file (default: $CLAWTOP_CONFIG, else ~/.clawtop/config.json5)",
    )
    parser.add_argument(
        "--model",
        metavar="PROVIDER/MODEL",
        help="model ref to use instead of agents.defaults.model.primary (no fallback)",
    )
    parser.add_argument(
        "--session",
        metavar="KEY",
        default="main",
        help="session key whose transcript the turn continues (default: main)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: reply, model, usage, attempts (start, end, status, class, "
        "plannedDelayMs, sleptMs, retryAfterMs), ttftMs, latencyMs, opId, sessionId, toolCalls, error",
    )
    parser.set_defaults(handler=handle_send)


def handle_send(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    loaded = load_config(getattr(args, "config", None))
    text = " ".join(args.text)
    if args.model is not None:
        problem = loaded.config._ref_problem(args.model) if "/" in args.model else (
            f"{args.model!r} is not of the form provider/model")
        if problem:
            print(f"clawtop send: --model {problem}", file=sys.stderr)
            return EXIT_USAGE
    return asyncio.run(_send(loaded, text, model_ref=args.model, as_json=args.json, session_key=args.session))


async def _send(loaded: LoadedConfig, text: str, *, model_ref: str | None, as_json: bool, session_key: str) -> int:
    gateway = Gateway(loaded, env=os.environ, watch_config=False)
    streamed: list[bool] = []
    # Every tool call of the turn, as it finishes: a turn that fails in a later model call has
    # still run the earlier calls' tools, and the JSON must say so.
    tool_calls: list[dict[str, Any]] = []

    def on_delta(piece: str) -> None:
        if not as_json:
            sys.stdout.write(piece)
            sys.stdout.flush()
            streamed.append(True)

    await gateway.start()
    try:
        try:
            result = await gateway.chat.send(text, model_ref=model_ref, on_delta=on_delta,
                                             session_key=session_key, on_tool=tool_calls.append)
        except TurnFailed as failure:
            outcome: TurnResult | TurnFailed = failure
        except OSError as exc:
            # The session's files could not be read or written (e.g. sessions.json.lock held by
            # a live process for more than 10 s, a full disk): a clear error, not a traceback.
            print(f"clawtop send: session {session_key!r}: {exc}", file=sys.stderr)
            return EXIT_TURN_FAILED
        else:
            outcome = result
    finally:
        await gateway.stop(reason="send")
    if isinstance(outcome, TurnFailed):
        if as_json:
            print(json.dumps({**turn_json(outcome), "toolCalls": tool_calls}, indent=2))
        elif streamed:
            print()
        print(f"clawtop send: {outcome.model}: {outcome.error_class}: {outcome.message}", file=sys.stderr)
        return EXIT_TURN_FAILED
    if as_json:
        print(json.dumps(turn_json(outcome), indent=2))
    else:
        print()
    return 0
