"""Chat model: readiness from the gateway's lifecycle, and the lines written for a turn's
result, a failure, a tool call and a compaction — from the core's own result types."""

from __future__ import annotations

from core.chat.result import TurnFailed, TurnResult
from core.compaction.compactor import CompactionResult
from core.compaction.events import CompactionAborted
from core.events import GatewayStarted, GatewayStopped, LogMessage
from core.providers.types import Usage
from core.retry.records import AttemptRecord, OperationRecord
from tui.models.chat import (
    ChatModel,
    attempts_summary,
    compaction_line,
    error_line,
    failed_record,
    summary_line,
    tool_line,
)


def record(*attempts: tuple[int | None, str | None]) -> OperationRecord:
    rec = OperationRecord(op_id="op1", operation="chat.send", provider="sim")
    for n, (status, cls) in enumerate(attempts, start=1):
        rec.attempts.append(AttemptRecord(n=n, start_wall=0.0, start_mono=0.0, status=status, error_class=cls))
    return rec


def test_ready_follows_the_gateway() -> None:
    model = ChatModel()
    assert not model.apply([LogMessage(level="info", message="gateway.started")]) and model.ready is None
    assert model.apply([GatewayStarted(config_source="defaults", state_dir="/tmp"), GatewayStopped()])
    assert model.ready is False
    assert model.apply([GatewayStarted(config_source="defaults", state_dir="/tmp")]) and model.ready is True


def test_summary_line_of_a_turn() -> None:
    rec = record((429, "rate_limit"), (None, None))
    # core.providers.types' @_frozen hides Usage's dataclass fields from mypy.
    usage = Usage(1200, 34)  # type: ignore[call-arg]
    result = TurnResult(reply="hi", usage=usage, model="sim/fast", stop_reason="end_turn", ttft_ms=850.0,
                        latency_ms=2100.0, record=rec, records=[rec], models=["sim/fast"])
    assert summary_line(result) == ("sim/fast · in 1,200 / out 34 tok · ttft 850 ms · total 2.1 s · "
                                    "2 attempts: 429 rate_limit → ok")
    assert attempts_summary(record()) == "no attempt made"
    assert attempts_summary(record((None, "timeout"))) == "1 attempt: timeout"


def test_error_line_names_the_class_never_a_traceback() -> None:
    rec = record((500, "server"))
    failed = TurnFailed("chat.send: server HTTP 500 after 1 attempt", error_class="server", model="sim/fast",
                        records=[rec])
    assert error_line(failed) == "✗ server: chat.send: server HTTP 500 after 1 attempt"
    assert failed_record(failed) is rec
    assert error_line(RuntimeError("boom")) == "✗ RuntimeError: boom"
    assert failed_record(RuntimeError("boom")) is None
    assert error_line(None) == "✗ the turn failed"


def test_tool_and_compaction_lines() -> None:
    read = {"name": "read", "input": {"path": "big.txt"}, "chars": 6500}
    assert tool_line(read) == "⚙ read path=big.txt · 6,500 chars"
    assert tool_line({"name": "write", "input": {"path": "a", "content": "x" * 99}, "isError": True, "chars": 12}) \
        == "✗ write path=a · 12 chars"
    aborted = CompactionAborted(session_id="s", trigger="manual", reason="nothing_to_summarize",
                                detail="only 1 entry")
    result = CompactionResult(entry=None, aborted="nothing_to_summarize", tokens_before=900, tokens_after=None,
                              event=aborted)
    assert compaction_line(result) == "Not compacted: nothing_to_summarize — only 1 entry"
