"""``clawtop prune --transcript FILE --dry-run [--json]``: run the cache-TTL pruner over a stored
transcript and print its decision and the messages it would send (docs/design/pruning.md#dry-run-over-a-transcript).

Nothing is written. The TTL is taken as expired unless ``--respect-ttl`` (then the transcript's
``openclaw.cache-ttl`` markers and the current time decide), and the pruner runs as if ``mode``
were ``cache-ttl`` so a user can tune before enabling it. ``--set KEY=VALUE`` overrides
``agents.defaults.contextPruning`` keys (``softTrimRatio=0.2``, ``softTrim.maxChars=2000``,
``tools.deny=["read"]``; values are JSON, else strings). Exit codes: 0 ok, 2 usage or an invalid
override, 66 unreadable transcript, 78 invalid config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from core.config.loader import load_config
from core.config.schema import ClawtopConfig
from core.config.schema.pruning import ContextPruningConfig
from core.pruning import settings_from_config
from core.pruning.estimate import estimate_message_chars
from core.pruning.events import PruneDecision
from core.pruning.pruner import Message
from core.pruning.whatif import apply_overrides, dry_run, session_model
from core.sessions.transcript import read_transcript

EXIT_USAGE = 2
EXIT_NOINPUT = 66
_PREFIX = "agents.defaults.contextPruning."


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
                        help="override a contextPruning key (repeatable)")
    parser.add_argument("--respect-ttl", action="store_true",
                        help="apply the TTL gate with the transcript's markers instead of assuming it expired")
    parser.add_argument("--dry-run", action="store_true", required=True, help="required: pruning never writes")
    parser.add_argument("--json", action="store_true", help="one JSON document {decision, messages}")
    parser.set_defaults(handler=handle_prune)


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected KEY=VALUE")
    key = key.strip()
    key = key[len(_PREFIX):] if key.startswith(_PREFIX) else key
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _window(config: ClawtopConfig, provider: str, model: str) -> int:
    defaults = config.agents.defaults
    native = 200_000
    if provider in config.models.providers:
        for m in config.models.providers[provider].models:
            if m.id == model:
                native = m.context_tokens or m.context_window
    elif model in getattr(config.simulator, "models", {}):
        native = config.simulator.models[model].context_window
    return min(native, defaults.context_tokens) if defaults.context_tokens else native


def handle_prune(args: argparse.Namespace) -> int:
    loaded = load_config(getattr(args, "config", None))
    configured = loaded.config.agents.defaults.context_pruning
    try:
        overrides = dict(_parse_override(o) for o in args.overrides)
        raw = apply_overrides(configured.model_dump(by_alias=True), overrides)
        cfg = ContextPruningConfig.model_validate({**raw, "mode": "cache-ttl"})
    except (ValueError, ValidationError) as exc:
        print(f"clawtop prune: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        session = read_transcript(args.transcript)
    except OSError as exc:
        print(f"clawtop prune: cannot read {args.transcript}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOINPUT
    provider, model = session_model(session)
    if not model:
        provider, _, model = loaded.config.agents.defaults.model.primary.partition("/")
    window = args.context_window or _window(loaded.config, provider, model)
    result = dry_run(session, settings_from_config(cfg), window, respect_ttl=args.respect_ttl,
                     provider=provider, model=model)
    decision = result.decision
    if args.json:
        doc = {"configuredMode": configured.mode, "contextWindowTokens": window,
               "decision": decision.payload(), "sticky": result.sticky, "messages": list(result.messages)}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    _print_human(decision, result.messages, configured.mode)
    return 0


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
