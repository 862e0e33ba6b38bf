"""``clawtop bench``: model benchmarks; ``bench history`` and ``bench compare A B``.

``clawtop bench [--model REF]… [--preset NAME | --prompt TEXT | --prompt-file F] [--runs N] …``
starts a gateway (with its simulator for ``sim/…``), runs the bench through the gateway's own
provider clients, prints OpenClaw's per-run and summary lines plus a median/p95/min/max table,
stores the run (with the config hash and the redacted config) in the telemetry database, and
writes ``--json [PATH]`` / ``--csv PATH`` exports. Ctrl-C stops cleanly: the finished runs are
summarised and stored (exit code 130).

Exit codes: 0 done (failed runs are counted, not fatal); 2 usage error; 78 invalid config;
130 interrupted (results kept); ``bench compare``: 1 when a run is not found.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.bench.compare import compare, parse_threshold
from core.bench.export import compare_lines, csv_text, history_lines, run_line, summary_lines, table_lines
from core.bench.runner import BenchRunner, BenchSpec, run_and_store
from core.bench.store import RunNotFound, list_runs, load_run
from core.config.loader import LoadedConfig, load_config
from core.gateway import Gateway

EXIT_USAGE = 2
EXIT_NOT_FOUND = 1
EXIT_INTERRUPTED = 130
_PRESETS = ("openclaw", "1k-in-1k-out", "10k-in", "cache")  # core.bench.presets.PRESETS (not imported: fast --help)


def _positive(text: str) -> int:
    """Strict integer ≥ 1 (OpenClaw's --runs rule): ``abc``, ``0``, ``2.5`` are errors."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be ≥ 1")
    return value


def _non_negative(text: str) -> int:
    """Strict integer ≥ 0 (``--warmup``, ``--retries``)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer ≥ 0")
    return int(text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench`` with its ``history`` and ``compare`` subcommands."""

    def config_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                            help="config file (default: $CLAWTOP_CONFIG, else ~/.clawtop/config.json5)")

    p = subparsers.add_parser(
        "bench", help="benchmark models: latency, TTFT, tokens/s, usage, cost",
        description="Run N streamed requests per model through the gateway and report per-run figures and "
        "median / p95 / min / max per model. Defaults come from the config's `bench` section.")
    config_option(p)
    p.add_argument("--model", action="append", metavar="PROVIDER/MODEL",
                   help="model ref (repeatable; default bench.models)")
    p.add_argument("--runs", type=_positive, metavar="N", help="measured runs per model (default 10)")
    p.add_argument("--warmup", type=_non_negative, metavar="K",
                   help="warm-up runs per model, not in statistics (default 1)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--prompt", metavar="TEXT", help="prompt text (default OpenClaw's one-word prompt)")
    src.add_argument("--prompt-file", metavar="F", type=Path, help="read the prompt from a file")
    src.add_argument("--preset", choices=_PRESETS, help="a named workload: " + ", ".join(_PRESETS))
    p.add_argument("--prompt-mode", choices=("fixed", "fresh"),
                   help="fresh appends a unique line per run (defeats caching)")
    p.add_argument("--max-tokens", type=_positive, metavar="N", help="output-token limit per run (default 64)")
    p.add_argument("--concurrency", type=_positive, metavar="C", help="runs in flight per model (default 1)")
    p.add_argument("--timeout-ms", type=_positive, metavar="MS", help="time limit per run (default 60000)")
    p.add_argument("--retries", type=_non_negative, metavar="N",
                   help="retries per run (default 0: latency without backoff)")
    p.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="JSON export to PATH (alone: to stdout, no text)")
    p.add_argument("--csv", metavar="FILE", help="CSV export, one row per run")
    p.add_argument("--tag", metavar="NAME", help="label for history and compare")
    p.set_defaults(handler=handle_bench)
    sub = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    h = sub.add_parser("history", help="stored bench runs, newest first")
    config_option(h)
    h.add_argument("--model", metavar="M", help="only runs that benched this model ref")
    h.add_argument("--limit", type=_positive, default=20, metavar="N", help="runs shown (default 20)")
    h.add_argument("--json", action="store_true", help="print the rows as JSON")
    h.set_defaults(handler=handle_history)
    c = sub.add_parser("compare", help="compare two runs (tags or run ids): B against baseline A")
    config_option(c)
    c.add_argument("a", metavar="A", help="baseline: a tag (its newest run) or a run id")
    c.add_argument("b", metavar="B", help="candidate: a tag or a run id")
    c.add_argument("--threshold", default="10%", help="regression threshold on medians (default 10%%)")
    c.add_argument("--json", action="store_true", help="print the comparison as JSON")
    c.set_defaults(handler=handle_compare)


def _usage(message: str) -> int:
    print(f"clawtop bench: {message}", file=sys.stderr)
    return EXIT_USAGE


def handle_bench(args: argparse.Namespace) -> int:
    loaded = load_config(getattr(args, "config", None))
    for ref in args.model or ():
        problem = loaded.config._ref_problem(ref) if "/" in ref else f"{ref!r} is not of the form provider/model"
        if problem:
            return _usage(f"--model {problem}")
    prompt = args.prompt
    if args.prompt_file is not None:
        try:
            prompt = args.prompt_file.read_text(encoding="utf-8")
        except OSError as exc:
            return _usage(f"--prompt-file: {exc}")
    try:
        spec = BenchSpec.build(loaded.config.bench, preset=args.preset, models=args.model, runs=args.runs,
                               warmup=args.warmup, prompt=prompt, prompt_mode=args.prompt_mode,
                               max_tokens=args.max_tokens, concurrency=args.concurrency,
                               timeout_ms=args.timeout_ms, retries=args.retries, tag=args.tag)
    except ValueError as exc:
        return _usage(str(exc))
    return asyncio.run(_bench(loaded, spec, json_to=args.json, csv_to=args.csv))


async def _bench(loaded: LoadedConfig, spec: BenchSpec, *, json_to: str | None, csv_to: str | None) -> int:
    quiet = json_to == "-"
    console = Console(stderr=quiet, highlight=False)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=True) if console.is_terminal else None
    task = bar.add_task("bench", total=spec.total) if bar is not None else None
    width = max(len(m) for m in spec.models)

    def emit(line: str) -> None:
        if bar is not None:
            console.print(line, markup=False, soft_wrap=True)
        elif not quiet:
            print(line, flush=True)

    def on_result(ref: str, result: dict[str, Any]) -> None:
        total = spec.warmup if result["warmup"] else spec.runs
        if not quiet:
            emit(run_line(f"{ref:<{width}}", result, total))
        if bar is not None and task is not None:
            bar.update(task, advance=1, description=ref)

    gateway = Gateway(loaded, env=os.environ, watch_config=False)
    runner = BenchRunner(gateway, spec, on_result=on_result)
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if not runner.stopping:
            print("\nclawtop bench: stopping; finished runs are kept", file=sys.stderr, flush=True)
        runner.stop()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    await gateway.start()
    try:
        if bar is not None:
            bar.start()
        try:
            doc = await run_and_store(gateway, spec, runner=runner)
        finally:
            if bar is not None:
                bar.stop()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await gateway.stop(reason="bench")
    if quiet:
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(["", *summary_lines(doc), "", *table_lines(doc)]))
        where = f" (tag {spec.tag})" if spec.tag else ""
        print(f"Stored run {doc['runId']}{where}; config {doc['configHash'][:12]}"
              + ("; interrupted" if doc["interrupted"] else ""))
    if json_to not in (None, "-"):
        await asyncio.to_thread(Path(json_to).write_text, json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if csv_to is not None:
        await asyncio.to_thread(Path(csv_to).write_text, csv_text(doc), encoding="utf-8")
    return EXIT_INTERRUPTED if doc["interrupted"] else 0


def handle_history(args: argparse.Namespace) -> int:
    loaded = load_config(getattr(args, "config", None))
    rows = list_runs(loaded.db_path, model=args.model, limit=args.limit)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    elif not rows:
        print("No bench runs stored yet: run `clawtop bench`.")
    else:
        print("\n".join(history_lines(rows)))
    return 0


def handle_compare(args: argparse.Namespace) -> int:
    try:
        threshold = parse_threshold(args.threshold)
    except ValueError as exc:
        return _usage(f"--threshold: {exc}")
    loaded = load_config(getattr(args, "config", None))
    try:
        (doc_a, cfg_a), (doc_b, cfg_b) = load_run(loaded.db_path, args.a), load_run(loaded.db_path, args.b)
    except RunNotFound as exc:
        print(f"clawtop bench compare: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    result = compare(doc_a, cfg_a, doc_b, cfg_b, threshold=threshold)
    print(json.dumps(result.as_json(), indent=2) if args.json else "\n".join(compare_lines(result)))
    return 0
