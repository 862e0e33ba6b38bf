"""Retries model: folding the retry engine's and provider clients' own events, without a UI."""

from __future__ import annotations

from core.providers.events import ProviderRateLimits
from core.retry.events import (
    AttemptOutcome,
    CooldownChanged,
    Failover,
    OperationOutcome,
    RetryAttempt,
    RetryOperationFinished,
)
from tui.models.retries import RetriesModel
from tui.widgets.retry_timeline import OUTCOME_GLYPHS, gauge_cells, outcome_text

T0 = 1_700_000_000.0


def attempt(op: str, n: int, outcome: AttemptOutcome, *, cls: str | None = None, status: int | None = None,
            start: float = T0, end: float = T0 + 0.5, provider: str | None = "sim",
            model: str | None = "sim/fast", ra: int | None = None) -> RetryAttempt:
    return RetryAttempt(
        op_id=op, operation="chat.send", provider=provider, model=model, attempt=n, max_attempts=4,
        idempotent=False, outcome=outcome, error_class=cls, reason=None, status=status,
        planned_delay_ms=0, slept_ms=0, retry_after_ms=ra, retry_after_raw=None, retry_after_source=None,
        decision_reason=outcome, policy="attempts=4", start=start, end=end,
        duration_ms=int((end - start) * 1000), budget_tokens=None, deadline_remaining_ms=None)


def finished(op: str, outcome: OperationOutcome, *, error: str = "",
             error_class: str | None = None) -> RetryOperationFinished:
    return RetryOperationFinished(op_id=op, operation="chat.send", provider="sim", outcome=outcome,
                                  attempts=1, total_ms=100, error=error, error_class=error_class)


def test_attempts_fold_into_one_timeline_per_operation() -> None:
    model = RetriesModel()
    change = model.apply([attempt("a", 1, "retry", cls="rate_limit", status=429, ra=2000),
                          attempt("b", 1, "ok"),
                          attempt("a", 2, "ok", start=T0 + 2, end=T0 + 2.5)])
    assert change.ops == {"a", "b"} and not change.gauges and not change.evicted
    op = model.ops["a"]
    assert [a.n for a in op.attempts] == [1, 2] and op.outcome == "ok"
    assert op.attempts[0].label == "429 rate_limit" and op.attempts[1].label == "ok"
    assert op.max_attempts == 4 and op.model == "sim/fast" and op.provider == "sim"
    assert op.duration_ms() == 2500.0
    assert model.retried == 1 and model.failed == 0
    assert [o.seq for o in model.ops.values()] == [1, 2]


def test_a_replayed_attempt_replaces_the_one_shown() -> None:
    model = RetriesModel()
    model.apply([attempt("a", 1, "retry", cls="server", status=500)])
    model.apply([attempt("a", 1, "ok")])
    assert len(model.ops["a"].attempts) == 1 and model.ops["a"].attempts[0].label == "ok"


def test_outcomes_follow_the_engine_and_every_one_has_a_glyph() -> None:
    model = RetriesModel()
    model.apply([attempt("f", 1, "fail", cls="auth", status=401), attempt("v", 1, "failover", cls="server"),
                 attempt("c", 1, "cancelled", cls="cancelled"), attempt("r", 1, "retry", cls="timeout")])
    assert {k: op.outcome for k, op in model.ops.items()} == {
        "f": "fail", "v": "failover", "c": "running", "r": "running"}
    model.apply([finished("c", "cancelled"), finished("f", "fail", error="HTTP 401 auth", error_class="auth")])
    assert model.ops["c"].outcome == "cancelled" and model.ops["f"].error == "HTTP 401 auth"
    assert model.failed == 3  # fail, failover, cancelled
    # Every outcome the engine publishes (RetryOperationFinished) and "running" render as a glyph.
    for outcome in ("ok", "fail", "failover", "cancelled", "running"):
        assert outcome in OUTCOME_GLYPHS
    assert outcome_text(model.ops["c"]) == "■ cancelled"
    assert outcome_text(model.ops["r"]) == "… running"


def test_an_error_class_stands_in_for_a_missing_error_message() -> None:
    model = RetriesModel()
    model.apply([attempt("x", 1, "fail", cls="server"), finished("x", "fail", error_class="server")])
    assert model.ops["x"].error == "server"


def test_failover_is_recorded_on_a_known_operation_only() -> None:
    model = RetriesModel()
    model.apply([attempt("a", 1, "failover", cls="server")])
    change = model.apply([Failover(op_id="a", from_ref="sim/fast", to_ref="sim/slow", reason="server"),
                          Failover(op_id="unknown", from_ref="x", to_ref="y", reason="server")])
    assert model.ops["a"].failovers == ["sim/slow"] and "unknown" not in model.ops
    assert change.ops == {"a"}


def test_the_oldest_operations_are_evicted() -> None:
    model = RetriesModel(max_ops=3)
    model.apply([attempt(f"op{i}", 1, "ok") for i in range(3)])
    change = model.apply([attempt("op3", 1, "ok"), attempt("op4", 1, "ok")])
    assert list(model.ops) == ["op2", "op3", "op4"]
    assert change.evicted == ("op0", "op1") and change.ops == {"op3", "op4"}


def test_gauges_keep_the_last_value_seen_and_cooldowns_count_down() -> None:
    model = RetriesModel()
    change = model.apply([ProviderRateLimits(provider="sim", model="fast", http_status=200, received_at=T0,
                                             requests_limit=50, requests_remaining=49, requests_reset=T0 + 12,
                                             input_tokens_limit=100_000, input_tokens_remaining=99_000)])
    assert change.gauges and not change.ops
    model.apply([ProviderRateLimits(provider="sim", model="fast", http_status=429, received_at=T0 + 1,
                                    requests_remaining=48),
                 CooldownChanged(provider="sim", profile="default", reason="rate_limit", until_wall=T0 + 30,
                                 level=1)])
    gauge = model.gauges["sim"]
    assert (gauge.requests_remaining, gauge.requests_limit) == (48, 50)
    assert (gauge.tokens_remaining, gauge.tokens_limit) == (99_000, 100_000)
    assert gauge_cells(gauge, T0) == ("48/50", "99,000/100,000", "in 12.0 s", "30.0 s left rate_limit")
    assert gauge_cells(gauge, T0 + 31)[2:] == ("now", "none")
    model.apply([CooldownChanged(provider="sim", profile="default", reason="", until_wall=0, level=0,
                                 lane="cleared")])
    assert gauge.cooldown_until is None and gauge_cells(gauge, T0)[3] == "none"


def test_other_events_change_nothing() -> None:
    from core.events import LogMessage

    model = RetriesModel()
    assert not model.apply([LogMessage(level="info", message="retry.attempt")])
    assert not model.ops and not model.gauges
