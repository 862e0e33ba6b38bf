"""``clawtop prune --transcript FILE --dry-run [--json]``: run the cache-TTL pruner over a stored
transcript and print its decision and the messages it would send (docs/design/pruning.md#dry-run-over-a-transcript).

Nothing is written. The TTL is taken as expired unless ``--respect-ttl`` (then the transcript's
``openclaw.cache-ttl`` markers and the current time decide), and the pruner runs as if ``mode``
were ``cache-ttl`` so a user can tune before enabling it. ``--set KEY=VALUE`` overrides a config
key for the run: a full dotted path as ``clawtop config set`` and ``clawtop tune set`` take it
(``agents.defaults.contextPruning.softTrim.maxChars=2000``, ``agents.defaults.contextTokens=100000``)
or a key relative to ``agents.defaults.contextPruning`` (``softTrimRatio=0.2``,
``tools.deny=["read"]``); values are JSON5 literals, else strings, and the whole candidate config
is validated by :func:`core.tuning.propose` as ``tune set`` validates it. The run is the one the
Tune screen's pruning preview makes (:func:`core.tuning.preview.pruning.run_pruning`), so their
figures agree. Exit codes: 0 ok, 2 usage or an invalid override, 66 unreadable transcript,
78 invalid config.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from core.config.loader import load_config
from core.config.schema import ClawtopConfig
from core.config.schema.pruning import ContextPruningConfig
from core.pruning.estimate import estimate_message_chars
from core.pruning.events import PruneDecision
from core.pruning.pruner import Message
from core.sessions.transcript import read_transcript
from core.tuning.preview.format import money
from core.tuning.preview.pruning import PruneFigures, run_pruning
from core.tuning.propose import Change, parse_value, propose

EXIT_USAGE = 2
EXIT_NOINPUT = 66
_PREFIX = "agents.defaults.contextPruning."
_SHORT_KEYS = frozenset(f.alias or name for name, f in ContextPruningConfig.model_fields.items())
_ROOT_KEYS = frozenset(f.alias or name for name, f in ClawtopConfig.model_fields.items())


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``prune``."""
    parser = subparsers.add_parser(
        "prune",
        help="dry-run the context pruner on a stored transcript (what would be trimmed, and why)",
        description="Run cache-TTL pruning over a JSONL transcript and print the decision (gates, "
        "ratios, every touched tool result, prompt-cache cost) and the resulting messages. "
        "Never writes anything.",
    )
    parser.add_argument("--transcript", required=True, metavar="FILE", help="session JSONL transcript")
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
    parser.add_argument("--context-window", type=int, metavar="N",
                        help="context window in tokens (default: agents.defaults.contextTokens, else the "
                        "model's contextWindow, else 200000)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for this run: a full dotted path, or a key relative to "
                        "agents.defaults.contextPruning (repeatable)")
    parser.add_argument("--respect-ttl", action="store_true",
                        help="apply the TTL gate with the transcript's markers instead of assuming it expired")
    parser.add_argument("--dry-run", action="store_true", required=True, help="required: pruning never writes")
    parser.add_argument("--json", action="store_true", help="one JSON document {decision, figures, messages}")
    parser.set_defaults(handler=handle_prune)


def _parse_override(text: str) -> Change:
    """``KEY=VALUE`` → a change at the full dotted path (value: a JSON5 literal, else the text)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected KEY=VALUE")
    key = key.strip()
    first = key.split(".", 1)[0]
    if first in _SHORT_KEYS:
        key = _PREFIX + key
    elif first not in _ROOT_KEYS:
        raise ValueError(f"--set {key}: unknown key; give a full dotted path (agents.defaults.contextPruning.ttl) "
                         f"or a contextPruning key ({', '.join(sorted(_SHORT_KEYS))})")
    return Change(key, parse_value(value))


def handle_prune(args: argparse.Namespace) -> int:
    loaded = load_config(getattr(args, "config", None))
    configured = loaded.config.agents.defaults.context_pruning
    try:
        changes = [_parse_override(o) for o in args.overrides]
    except ValueError as exc:
        print(f"clawtop prune: {exc}", file=sys.stderr)
        return EXIT_USAGE
    proposal = propose(loaded, changes)
    if proposal.candidate is None or proposal.errors:
        for path, message in proposal.errors.items():
            print(f"clawtop prune: --set {path}: {message}", file=sys.stderr)
        return EXIT_USAGE
    candidate = proposal.candidate
    try:
        session = read_transcript(args.transcript)
    except OSError as exc:
        print(f"clawtop prune: cannot read {args.transcript}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOINPUT
    run = run_pruning(candidate, session, respect_ttl=args.respect_ttl, now_ms=int(time.time() * 1000),
                      context_window=args.context_window)
    result, decision = run.result, run.result.decision
    if args.json:
        doc = {"configuredMode": configured.mode, "contextWindowTokens": run.window_tokens,
               "decision": decision.payload(), "sticky": result.sticky, "figures": run.figures.to_json(),
               "messages": list(result.messages)}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    _print_human(decision, result.messages, configured.mode)
    _print_figures(run.figures)
    return 0


def _print_figures(figures: PruneFigures) -> None:
    cost = figures.cost
    priced = (f"{money(cost.read_usd)} read + {money(cost.write_usd)} write = {money(cost.total_usd)}"
              if cost.total_usd is not None else "no prices configured")
    print(f"next call: ~{figures.tokens_sent} tokens sent; cache read {cost.read_tokens} / write "
          f"{cost.write_tokens} tokens ({'warm' if cost.warm else 'cold'}); {priced}")


def _print_human(decision: PruneDecision, messages: Sequence[Message], configured_mode: str) -> None:
    state = "skipped: " + decision.reason if decision.skipped else "pruned"
    print(f"decision: {state}  (configured mode: {configured_mode}; dry-run assumes cache-ttl)")
    print(f"  {decision.explanation}")
    if decision.ratio_before is not None:
        print(f"  window {decision.context_window_tokens} tokens = {decision.char_window} chars; "
              f"ratio {decision.ratio_before:.3f} → {decision.ratio_after_soft or decision.ratio_before:.3f} (soft) → "
              f"{decision.ratio_after or decision.ratio_before:.3f}; hard clear: {decision.hard_clear_gate or '-'}")
    if decision.cache_cost:
        c = decision.cache_cost
        print(f"  cache: {c['verdict']} ({'warm' if c['warm'] else 'cold'}), tokens saved {c['tokens_saved']}, "
              f"rewrite {c['cache_rewrite_tokens']}, next-request delta {c['next_request_delta']}")
    for t in decision.touched:
        print(f"  #{t['index']:<5} {t['action']:<16} {t['tool'] or '?':<20} {t['charsBefore']:>9} → {t['charsAfter']}")
    if decision.kept:
        print("  kept: " + ", ".join(f"{k} {v}" for k, v in sorted(decision.kept.items())))
    print(f"messages ({len(messages)}):")
    for i, m in enumerate(messages):
        print(f"  {i:>5} {m.get('role', '?'):<17} {estimate_message_chars(m):>9} chars")
