"""Chat pane state from the bus (whether the gateway can take a turn), and the text lines the
pane writes for a turn's outcome: summary, tool calls, compaction, errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.chat.result import TurnFailed, TurnResult
from core.compaction.compactor import CompactionResult
from core.compaction.events import CompactionAborted
from core.events import Event, GatewayStarted, GatewayStopped
from core.retry.records import OperationRecord, RetryFailed
from tui.formatting import human_ms

__all__ = ["ChatModel", "attempts_summary", "compaction_line", "error_line", "failed_record",
           "summary_line", "tool_line"]


class ChatModel:
    """``ready``: the gateway runs, so a turn can start (None until an event says either way)."""

    def __init__(self) -> None:
        self.ready: bool | None = None

    def apply(self, events: Iterable[Event]) -> bool:
        """Fold a batch; True when it said whether the gateway runs."""
        changed = False
        for event in events:
            match event:
                case GatewayStarted():
                    self.ready, changed = True, True
                case GatewayStopped():
                    self.ready, changed = False, True
        return changed


def attempts_summary(record: OperationRecord) -> str:
    """``2 attempts: 429 rate_limit → ok`` from an operation record."""
    attempts = record.attempts
    labels = []
    for a in attempts:
        if a.error_class is None:
            labels.append("ok")
        else:
            labels.append(f"{a.status} {a.error_class}" if a.status else a.error_class)
    noun = "attempt" if len(attempts) == 1 else "attempts"
    return f"{len(attempts)} {noun}: " + " → ".join(labels) if labels else "no attempt made"


def summary_line(result: TurnResult) -> str:
    """Model, tokens, TTFT, total time and attempts, in one line under the reply."""
    usage = result.usage
    parts = [
        result.model,
        f"in {usage.input_tokens:,} / out {usage.output_tokens:,} tok",
        f"ttft {human_ms(result.ttft_ms)}" if result.ttft_ms is not None else None,
        f"total {human_ms(result.latency_ms)}",
        attempts_summary(result.record),
    ]
    return " · ".join(p for p in parts if p)


def tool_line(summary: Mapping[str, Any]) -> str:
    """``⚙ read path=big.txt · 6,500 chars`` (``✗`` when the tool failed or was refused)."""
    args = " ".join(f"{k}={v}" for k, v in (summary.get("input") or {}).items() if k != "content")
    mark = "✗" if summary.get("isError") else "⚙"
    return f"{mark} {summary.get('name')} {args} · {summary.get('chars', 0):,} chars".replace("  ", " ")


def compaction_line(result: CompactionResult) -> str:
    """What ``/compact`` did: the entry written, or why it was not."""
    if result.ok:
        after = result.tokens_after
        return (f"Compacted: ~{result.tokens_before:,} → ~{after:,} tokens" if after is not None
                else f"Compacted ({result.tokens_before:,} tokens before)")
    detail = result.event.detail if isinstance(result.event, CompactionAborted) else ""
    return f"Not compacted: {result.aborted or '?'} — {detail}"


def error_line(error: BaseException | None) -> str:
    """``✗ rate_limit: …``: the classified error, never a traceback."""
    if error is None:
        return "✗ the turn failed"
    name: str = type(error).__name__
    if isinstance(error, TurnFailed):
        name = error.error_class
    elif isinstance(error, RetryFailed) and error.error_class is not None:
        name = error.error_class.value
    return f"✗ {name}: {error}"


def failed_record(error: BaseException | None) -> OperationRecord | None:
    """The last operation a failed turn tried, for the attempts line under the error."""
    if isinstance(error, (TurnFailed, RetryFailed)):
        return error.record
    return None
