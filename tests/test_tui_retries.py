"""Retries pane: timelines per operation from real retry events, keyed-diff updates, gauges and
cooldowns with time left, the drill-down modal — and a real turn against the simulator.

The first tests publish the retry engine's own event classes on a real gateway's bus (gateway
not started) so each state can be set up exactly; the last runs a real gateway whose simulator
is scripted to answer 429 first, and checks the row the real engine's events produce.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.widgets import DataTable

from core.providers.events import ProviderRateLimits
from core.retry.events import CooldownChanged, RetryAttempt, RetryOperationFinished
from tests import tui_support
from tests.tui_support import gateway_with_config as make_gateway
from tui.app import ClawtopApp
from tui.panes import RetriesPane
from tui.screens.retry_detail import RetryDetailScreen

SIZE = (160, 50)
T0 = 1_700_000_000.0


# Shared poller, with this file's patience (a real gateway turn takes a while on slow CI).
wait_until = partial(tui_support.wait_until, timeout=10.0, step=0.02)


def attempt(op: str, n: int, outcome: str, *, start: float, end: float, cls: str | None = None,
            status: int | None = None, planned: int = 0, slept: int = 0, ra: int | None = None) -> RetryAttempt:
    return RetryAttempt(
        op_id=op, operation="chat.send", provider="sim", model="sim/fast", attempt=n, max_attempts=4,
        idempotent=False, outcome=outcome, error_class=cls, reason=None, status=status,
        planned_delay_ms=planned, slept_ms=slept, retry_after_ms=ra, retry_after_raw=None,
        retry_after_source=None, decision_reason=outcome, policy="provider:sim: attempts=4",
        start=start, end=end, duration_ms=int((end - start) * 1000), budget_tokens=9.0,
        deadline_remaining_ms=None,
    )


def pane_of(app: ClawtopApp) -> RetriesPane:
    return app.dashboard.query_one(RetriesPane)


def row_text(pane: RetriesPane, key: str) -> list[str]:
    table = pane.query_one("#retries-ops", DataTable)
    return [getattr(cell, "plain", str(cell)) for cell in table.get_row(key)]


async def test_waiting_until_the_first_operation(tmp_path: Path) -> None:
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=SIZE):
        pane = pane_of(app)
        assert pane.has_class("-empty")
        notice = pane.query_one(".pane--waiting")
        assert notice.display and "Waiting for the first provider call" in str(notice.render())


async def test_retried_operation_row_shows_attempts_classes_and_outcome(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        bus = gateway.bus
        bus.publish(attempt("op1", 1, "retry", start=T0, end=T0 + 0.05, cls="rate_limit", status=429,
                            planned=2100, ra=2000))
        bus.publish(attempt("op1", 2, "ok", start=T0 + 2.15, end=T0 + 2.7, slept=2100))
        bus.publish(RetryOperationFinished(op_id="op1", operation="chat.send", provider="sim", outcome="ok",
                                           attempts=2, total_ms=2700))
        await wait_until(pilot, lambda: "op1" in pane.ops and pane.ops["op1"].outcome == "ok")
        assert not pane.has_class("-empty")
        _op, model, timeline, tries, classes, outcome, took = row_text(pane, "op1")
        assert model == "sim/fast" and tries == "2/4"
        assert classes == "429 rate_limit → ok"
        assert outcome.startswith("✓ ok") and took == "2.7 s"
        # Attempt bar, sleep dots with the Retry-After marker, second attempt bar.
        assert timeline.startswith("█R") and "·" in timeline and timeline.endswith("█")
        assert pane.border_subtitle == "1 ops · 1 retried · 0 failed"


async def test_only_changed_cells_are_rewritten_and_floods_fold_into_one_pass(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        for i in range(50):
            gateway.bus.publish(attempt(f"flood{i}", 1, "ok", start=T0 + i, end=T0 + i + 0.5))
        await wait_until(pilot, lambda: len(pane.ops) == 50)
        table = pane.query_one("#retries-ops", DataTable)
        assert table.row_count == 50
        before = pane.cell_updates
        # The same facts again: nothing to rewrite.
        gateway.bus.publish(attempt("flood3", 1, "ok", start=T0 + 3, end=T0 + 3.5))
        await wait_until(pilot, lambda: pane.ops["flood3"].seq and app.subscription.pending == 0)
        await pilot.pause(0.1)
        assert pane.cell_updates == before
        # A new attempt on one op rewrites only that row's changed cells.
        gateway.bus.publish(attempt("flood3", 2, "fail", start=T0 + 4, end=T0 + 4.2, cls="server", status=500))
        await wait_until(pilot, lambda: len(pane.ops["flood3"].attempts) == 2)
        changed = pane.cell_updates - before
        assert 0 < changed <= 6 and table.row_count == 50


async def test_gauges_and_cooldown_count_down(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        now = [T0]
        pane.wall_clock = lambda: now[0]
        gateway.bus.publish(ProviderRateLimits(
            provider="sim", model="fast", http_status=200, received_at=T0, requests_limit=50,
            requests_remaining=49, requests_reset=T0 + 12, tokens_limit=100_000, tokens_remaining=99_000))
        gateway.bus.publish(CooldownChanged(provider="sim", profile="default", reason="rate_limit",
                                            until_wall=T0 + 30, level=1))
        await wait_until(pilot, lambda: "sim" in pane.gauges and pane.gauges["sim"].cooldown_until)
        table = pane.query_one("#retries-gauges", DataTable)
        assert [str(c) for c in table.get_row("sim")] == ["sim", "49/50", "99,000/100,000", "in 12.0 s",
                                                          "30.0 s left rate_limit"]
        now[0] = T0 + 31
        pane._refresh_gauges()
        assert [str(c) for c in table.get_row("sim")][3:] == ["now", "none"]


async def test_enter_opens_every_attempt_and_esc_goes_back(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        gateway.bus.publish(attempt("opd", 1, "retry", start=T0, end=T0 + 0.1, cls="rate_limit", status=429,
                                    planned=2050, ra=2000))
        gateway.bus.publish(attempt("opd", 2, "ok", start=T0 + 2.2, end=T0 + 2.5, slept=2100))
        await wait_until(pilot, lambda: "opd" in pane.ops and len(pane.ops["opd"].attempts) == 2)
        await pilot.press("3")
        assert app.focused is pane.query_one("#retries-ops", DataTable)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RetryDetailScreen))
        detail = app.screen.query_one(DataTable)
        assert detail.row_count == 2
        first = [str(c) for c in detail.get_row("1")]
        assert first[3:9] == ["429", "rate_limit", "2.0 s", "—", "2.0 s", "retry"]
        second = [str(c) for c in detail.get_row("2")]
        assert second[1] == "+2.200 s" and second[6] == "2.1 s" and second[8] == "ok"
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_a_real_429_turn_shows_up_as_a_retried_row(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, config="""{
      simulator: { faults: { script: "429:retry-after-ms=200" },
                   models: { fast: { ttftMs: 5, tokensPerSec: 5000, replyTokens: 20 } } },
      retry: { provider: { minDelayMs: 10, maxDelayMs: 100 } },
    }""")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.providers is not None)
        result = await gateway.chat.send("hi")
        pane = pane_of(app)
        await wait_until(pilot, lambda: result.record.op_id in pane.ops
                         and pane.ops[result.record.op_id].outcome == "ok")
        cells = row_text(pane, result.record.op_id)
        assert cells[4] == "429 rate_limit → ok" and cells[5].startswith("✓ ok")
        assert "sim" in pane.gauges


async def test_after_a_429_the_row_shows_the_raised_limit_and_why(tmp_path: Path) -> None:
    """The policy says attempts=4, a rate limit raises the cap to rateLimitAttempts: the row says
    so, not a bare ``2/10`` that contradicts the policy text."""
    gateway = make_gateway(tmp_path, config="""{
      simulator: { faults: { script: "429:retry-after-ms=50" },
                   models: { fast: { ttftMs: 5, tokensPerSec: 5000, replyTokens: 20 } } },
      retry: { provider: { attempts: 4, rateLimitAttempts: 10, minDelayMs: 10, maxDelayMs: 100 } },
    }""")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.providers is not None)
        result = await gateway.chat.send("hi")
        pane = pane_of(app)
        op_id = result.record.op_id
        await wait_until(pilot, lambda: op_id in pane.ops and pane.ops[op_id].outcome == "ok")
        op = pane.ops[op_id]
        assert op.policy is not None and "attempts=4" in op.policy
        assert row_text(pane, op_id)[3] == "2/10 (rate limit: rateLimitAttempts)"
        assert (op.max_attempts, op.max_attempts_reason) == (10, "rate_limit")
