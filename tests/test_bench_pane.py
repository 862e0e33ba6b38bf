"""Bench pane: starts a run on the real gateway (its simulator on loopback), shows the progress,
the results table and the history, and compares two runs; a CLI-stored run shows on mount."""

from __future__ import annotations

import html
import re
from functools import partial
from pathlib import Path

from textual.widgets import DataTable, Input, ProgressBar

from core.gateway import Gateway
from tests import tui_support
from tests.tui_support import gateway_with_config
from tui.app import ClawtopApp
from tui.panes import BenchPane

SIZE = (120, 40)
CONFIG = ("{ simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 20 } } }, "
          "bench: { models: ['sim/fast'], runs: 3 } }")


def make_gateway(home: Path) -> Gateway:
    return gateway_with_config(home, CONFIG)


# Shared poller, with this file's patience (a real gateway turn takes a while on slow CI).
wait_until = partial(tui_support.wait_until, timeout=20.0, step=0.05)


async def test_pane_starts_a_run_shows_results_history_and_compare(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(BenchPane)
        await wait_until(pilot, lambda: pane.has_class("-ready"))
        assert pane.query_one("#bench-models", Input).value == "sim/fast"
        pane.query_one("#bench-tag", Input).value = "one"
        pane.focus()
        await pilot.press("s")  # the registry's bench-start key
        await wait_until(pilot, lambda: pane.shown is not None and pane.runner is None)
        results = pane.query_one("#bench-results", DataTable)
        assert results.row_count == 4 and "sim/fast|latencyMs" in results.rows
        bar = pane.query_one("#bench-progress", ProgressBar)
        assert bar.total == 4 and bar.progress == 4  # 1 warm-up + 3 runs
        history = pane.query_one("#bench-history", DataTable)
        await wait_until(pilot, lambda: history.row_count == 1)
        # A second run, then compare the two from the history.
        pane.query_one("#bench-tag", Input).value = "two"
        pane.action_bench_start()
        await wait_until(pilot, lambda: history.row_count == 2 and pane.runner is None)
        history.move_cursor(row=1)
        pane.action_bench_mark()
        history.move_cursor(row=0)
        pane.action_bench_compare()
        await wait_until(pilot, lambda: "latency ms" in pane.compare_text)
        assert "Config differences:" in pane.compare_text


async def test_pane_shows_the_latest_stored_run_on_mount(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    from core.bench.runner import BenchSpec, run_and_store

    await gateway.start()
    try:
        await run_and_store(gateway, BenchSpec(models=("sim/fast",), runs=2, warmup=0, tag="cli"))
    finally:
        await gateway.stop()
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(BenchPane)
        await wait_until(pilot, lambda: pane.shown is not None)
        assert pane.shown["tag"] == "cli"
        assert pane.query_one("#bench-results", DataTable).row_count == 4


async def test_escape_leaves_a_form_field_so_the_pane_keys_work_again(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(BenchPane)
        await wait_until(pilot, lambda: pane.has_class("-ready"))
        tag = pane.query_one("#bench-tag", Input)
        tag.focus()
        await pilot.press("p")
        assert tag.value == "p" and not app.paused  # typing, not the dashboard's pause
        await pilot.press("escape")
        assert app.focused is not tag and app.focused_pane() is pane
        await pilot.press("p")
        assert app.paused and tag.value == "p"


async def test_form_fields_have_labels(tmp_path: Path) -> None:
    """Each form field shows its label on screen, also once filled in (which hides a placeholder)."""
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        pane = app.dashboard.query_one(BenchPane)
        fields = [pane.query_one(f"#bench-{name}", Input) for name in ("models", "runs", "tag")]
        assert fields[0].value  # filled in from the config: its placeholder is not shown
        top = fields[0].region.y  # the fields' top border row, where the labels are drawn
        svg = app.export_screenshot()
        cells = re.findall(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg)
        rows = sorted({float(y) for _, y, _ in cells})
        line = "".join(html.unescape(t) for x, y, t in sorted(cells, key=lambda c: float(c[0]))
                       if float(y) == rows[top]).replace("\xa0", " ")
        for field, label in zip(fields, ("models", "runs", "tag"), strict=True):
            assert field.border_title == label and f" {label} " in line, line
