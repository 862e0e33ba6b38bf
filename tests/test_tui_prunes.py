"""Prunes pane: a chat that reads a large file, then (after the TTL) a prune shows up newest
first; Enter opens the decision's explanation and each touched result's before/after — the
soft-trim output in docs/design/pruning.md#soft-trim's format; esc goes back."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from textual.widgets import DataTable, Input, Static

from core.gateway import Gateway
from tests import tui_support
from tests.tui_support import gateway_with_config
from tui.app import ClawtopApp
from tui.panes import ChatPane, PrunesPane
from tui.screens.prune_detail import PruneDetailScreen

SIZE = (140, 48)


def make_gateway(home: Path) -> Gateway:
    (home / "ws").mkdir(exist_ok=True)
    (home / "ws" / "big.txt").write_text("0123456789abcdef\n" * 2000, encoding="utf-8")  # 34,000 chars
    config = f"""{{ simulator: {{ models: {{ fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 20,
                       contextWindow: 16000 }} }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}",
        contextPruning: {{ mode: "cache-ttl", ttl: "20ms", keepLastAssistants: 1 }} }} }} }}"""
    return gateway_with_config(home, config)


# Shared poller, with this file's patience (a real gateway turn takes a while on slow CI).
wait_until = partial(tui_support.wait_until, timeout=15.0, step=0.05)


async def test_prune_appears_newest_first_and_enter_opens_the_detail(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.dashboard.query_one(ChatPane)
        pane = app.dashboard.query_one(PrunesPane)
        table = pane.query_one(DataTable)
        await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
        chat.send('[[tool:read {"path":"big.txt"}]]')
        await wait_until(pilot, lambda: table.row_count == 2 and not chat.busy)
        assert all(str(table.get_row_at(i)[3]) == "skipped: no_cache_touch" for i in range(2))
        await asyncio.sleep(0.05)  # past the TTL
        chat.send("thanks")
        await wait_until(pilot, lambda: table.row_count == 3 and not chat.busy)
        newest = table.get_row_at(0)
        assert newest[3] == "pruned" and newest[4] == "1 soft_trim" and "tok" in newest[5]
        await pilot.press("2")
        assert app.focused is table
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PruneDetailScreen))
        screen = app.screen
        assert isinstance(screen, PruneDetailScreen)
        explanation = str(screen.query_one("#prune-detail-explanation", Static).render())
        assert explanation.startswith("pruned") and "softTrimRatio 0.3" in explanation
        assert "window 16,000 tokens" in explanation
        texts = [str(s.render()) for s in screen.query(".prune--after")]
        (after,) = texts
        assert after.startswith("after:\n0123456789abcdef\n")
        assert after.endswith("[Tool result trimmed: kept first 1500 chars and last 1500 chars of 34000 chars.]")
        assert "\n...\n" in after
        before = str(screen.query_one(".prune--before", Static).render())
        assert "chars not shown here" in before
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, PruneDetailScreen))


async def test_stored_decisions_are_listed_after_a_restart_and_their_detail_opens(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.dashboard.query_one(ChatPane)
        table = app.dashboard.query_one(PrunesPane).query_one(DataTable)
        await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
        chat.send('[[tool:read {"path":"big.txt"}]]')
        await wait_until(pilot, lambda: table.row_count == 2 and not chat.busy)
        await asyncio.sleep(0.05)  # past the TTL
        chat.send("thanks")
        await wait_until(pilot, lambda: table.row_count == 3 and not chat.busy)
        live_rows = [table.get_row_at(i) for i in range(3)]
    await gateway.stop()  # idempotent if the app already stopped it; flushes the store

    app = ClawtopApp(make_gateway(tmp_path))  # same $HOME, so the same state dir and store
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(PrunesPane)
        table = pane.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        assert [table.get_row_at(i) for i in range(3)] == live_rows  # newest first, no duplicates
        assert len(pane.stored_keys) == 3
        await pilot.press("2")
        table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PruneDetailScreen))
        screen = app.screen
        assert isinstance(screen, PruneDetailScreen) and screen.stored
        explanation = str(screen.query_one("#prune-detail-explanation", Static).render())
        assert explanation.startswith("pruned") and "softTrimRatio 0.3" in explanation
        note = str(screen.query_one("#prune-detail-stored-note", Static).render())
        assert "before/after text is kept only for decisions made while the dashboard runs" in note
        (result,) = [str(s.render()) for s in screen.query(".prune--result")]
        assert "soft_trim" in result and "34,000 →" in result
        assert not screen.query(".prune--before") and not screen.query(".prune--after")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, PruneDetailScreen))
        # A repeat load does not duplicate rows.
        pane._load_history()
        await pilot.pause(0.5)
        assert table.row_count == 3
