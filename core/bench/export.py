"""Bench output: the CSV rows, and the terminal text of runs, history and comparisons.

Why plain aligned text and not a Rich table: the lines are scripted against (OpenClaw's
``<label> run i/N: <ms>ms``, ``Summary (ms):``, ``median= min= max=``) and must not wrap or
change with the terminal width. The JSON export is the run document itself (runner.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.bench.compare import Comparison
from core.bench.stats import METRICS
from core.bench.store import RunRow

__all__ = ["CSV_HEADER", "compare_lines", "csv_text", "history_lines", "run_line", "summary_lines", "table_lines"]

CSV_HEADER = ("run_id,model,i,warmup,ok,error_class,latency_ms,ttft_ms,output_tokens_per_s,tpot_ms,input_tokens,"
              "output_tokens,cache_read_tokens,cache_write_tokens,total_tokens,stop_reason,attempts,config_hash,"
              "started_at").split(",")
_CSV_KEYS = ("i", "warmup", "ok", "errorClass", "latencyMs", "ttftMs", "outputTokensPerSec", "tpotMs",
             "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "totalTokens", "stopReason",
             "attempts")


def csv_text(doc: dict[str, Any]) -> str:
    """One row per run (warm-ups included, flagged), header as docs/design/bench.md#clawtop-bench."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for model in doc["models"]:
        for r in model["results"]:
            values = [_csv(r.get(k)) for k in _CSV_KEYS]
            writer.writerow([doc["runId"], model["ref"], *values, doc["configHash"], r["startedAt"]])
    return buf.getvalue()


def _csv(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits else str(round(float(value)))


def run_line(label: str, result: dict[str, Any], total: int) -> str:
    """OpenClaw's per-run line, ``<label> run i/N: <ms>ms``, plus ``ttft=`` or the error."""
    kind = "warmup" if result["warmup"] else "run"
    head = f"{label} {kind} {result['i']}/{total}: "
    if not result["ok"]:
        return f"{head}FAILED {result['errorClass']} after {_num(result['latencyMs'])}ms: {result['error']}"
    return f"{head}{_num(result['latencyMs'])}ms ttft={_num(result['ttftMs'])}ms"


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """``Prompt:``, ``Runs:``, ``Summary (ms):`` then one line per model in OpenClaw's layout
    (label padded to 7) extended with p95, TTFT, tokens/s, usage, cost and failures."""
    prompt = doc["prompt"] if len(doc["prompt"]) <= 120 else doc["prompt"][:117] + "..."
    lines = [f"Prompt: {prompt}", f"Runs: {doc['runs']}", "Summary (ms):"]
    width = max([7, *(len(m["ref"]) for m in doc["models"])])
    for m in doc["models"]:
        s = m["summary"]
        lat, ttft, tps = s["latencyMs"], s["ttftMs"], s["outputTokensPerSec"]
        usage = {k: v["sum"] for k, v in s["usage"].items()}
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(s["errors"].items()))
        lines.append(
            f"{m['ref']:<{width}} median={_num(lat['median'])} min={_num(lat['min'])} max={_num(lat['max'])} "
            f"p95={_num(lat['p95'])} ttft={_num(ttft['median'])} tok/s={_num(tps['median'], 1)} "
            f"in={usage['inputTokens']} out={usage['outputTokens']} cacheRead={usage['cacheReadTokens']} "
            f"cacheWrite={usage['cacheWriteTokens']} cost=${s['costUsd']:.6f} ok={s['ok']} failed={s['failed']}"
            + (f" ({errors})" if errors else ""))
    return lines


_LABELS = {"latencyMs": "latency ms", "ttftMs": "ttft ms", "outputTokensPerSec": "tok/s", "tpotMs": "itl ms"}


def table_lines(doc: dict[str, Any]) -> list[str]:
    """Median / p95 / min / max / spread per metric per model, plus retries and their sleep."""
    width = max([5, *(len(m["ref"]) for m in doc["models"])])
    head = f"{'model':<{width}}  {'metric':<10} {'median':>9} {'p95':>9} {'min':>9} {'max':>9} {'spread':>9}"
    lines = [head, "-" * len(head)]
    for m in doc["models"]:
        s = m["summary"]
        for metric in METRICS:
            v = s[metric]
            digits = 0 if metric in ("latencyMs", "ttftMs") else 1
            cells = [_num(v[k], digits) for k in ("median", "p95", "min", "max")]
            cells.append(_num(v["max"] - v["min"], digits))
            lines.append(f"{m['ref']:<{width}}  {_LABELS[metric]:<10} " + " ".join(f"{c:>9}" for c in cells))
        if s.get("retries"):
            lines.append(f"{m['ref']:<{width}}  retries={s['retries']} slept={s['retrySleepMs']}ms")
    return lines


def history_lines(rows: Iterable[RunRow]) -> list[str]:
    """One line per run and model: when, id, tag, config hash, median latency/TTFT/tok/s, failures."""
    lines = [f"{'started':<19}  {'run id':<12}  {'tag':<12} {'config':<8}  {'model':<16} {'median':>7} "
             f"{'p95':>7} {'ttft':>6} {'tok/s':>7} {'ok':>4} {'fail':>4}"]
    for row in rows:
        when = datetime.fromtimestamp(row.started_wall).strftime("%Y-%m-%d %H:%M:%S")
        tag = (row.tag or "-") + ("*" if row.interrupted else "")
        for ref, s in row.summaries.items():
            lines.append(
                f"{when:<19}  {row.run_id:<12}  {tag:<12} {row.config_hash[:8]:<8}  {ref:<16} "
                f"{_num(s['latencyMs']['median']):>7} {_num(s['latencyMs']['p95']):>7} "
                f"{_num(s['ttftMs']['median']):>6} {_num(s['outputTokensPerSec']['median'], 1):>7} "
                f"{s['ok']:>4} {s['failed']:>4}")
    return lines


def compare_lines(cmp: Comparison) -> list[str]:
    """The comparison as text: per model and metric A → B, Δ, Δ%, noise and regression flags."""
    def ident(doc: dict[str, Any]) -> str:
        return f"{doc['runId']}" + (f" ({doc['tag']})" if doc.get("tag") else "")

    lines = [f"A: {ident(cmp.run_a)}  B: {ident(cmp.run_b)}  threshold {cmp.threshold * 100:g}%",
             f"{'model':<16} {'metric':<10} {'A med':>8} {'B med':>8} {'Δ':>8} {'Δ%':>8} {'A p95':>8} "
             f"{'B p95':>8}  verdict"]
    for r in cmp.rows:
        digits = 1 if r.metric == "outputTokensPerSec" else 0
        pct = "-" if r.pct is None else f"{r.pct * 100:+.1f}%"
        verdict = r.verdict
        lines.append(f"{r.model:<16} {r.label:<10} {_num(r.a.median, digits):>8} {_num(r.b.median, digits):>8} "
                     f"{r.delta:>+8.{digits}f} {pct:>8} {_num(r.a.p95, digits):>8} {_num(r.b.p95, digits):>8}"
                     f"  {verdict}")
    for ref in cmp.only_a:
        lines.append(f"{ref}: only in A")
    for ref in cmp.only_b:
        lines.append(f"{ref}: only in B")
    lines.append("Config differences: " + (", ".join(cmp.config_paths) if cmp.config_paths else "none"))
    lines.append(f"Regressions: {len(cmp.regressions)}")
    return lines
