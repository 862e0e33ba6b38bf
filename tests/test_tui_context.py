"""Context pane: after a chat turn that reads a large file, the pane shows the contributors
(bar, table with tokens, %, estimate vs actual) and the thresholds; ``/context detail`` typed
in the chat lists every contributor; the status line shows the session cache hit rate."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.widgets import DataTable, Input, Static

from core.gateway import Gateway
from tests import tui_support
from tests.tui_support import gateway_with_config
from tui.app import ClawtopApp
from tui.panes import ChatPane, ContextPane

SIZE = (140, 48)


def make_gateway(home: Path) -> Gateway:
    (home / "ws").mkdir(exist_ok=True)
    (home / "ws" / "AGENTS.md").write_text("# Rules\nBe brief.\n", encoding="utf-8")
    (home / "ws" / "big.txt").write_text("some file content\n" * 1500, encoding="utf-8")
    config = f"""{{ simulator: {{ models: {{ fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 20,
                       contextWindow: 32000 }} }} }},
      agents: {{ defaults: {{ workspace: "{home / 'ws'}" }} }} }}"""
    return gateway_with_config(home, config)


# Shared poller, with this file's patience (a real gateway turn takes a while on slow CI).
wait_until = partial(tui_support.wait_until, timeout=15.0, step=0.05)


async def test_context_pane_updates_after_a_turn(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.dashboard.query_one(ChatPane)
        pane = app.dashboard.query_one(ContextPane)
        await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
        assert pane.query_one(".pane--waiting").display
        chat.send('[[tool:read {"path":"big.txt"}]]')
        await wait_until(pilot, lambda: pane.report is not None)
        first = pane.report
        assert first is not None
        assert not pane.query_one(".pane--waiting").display
        table = pane.query_one(DataTable)
        keys = [row.value for row in table.rows]
        assert {"system_prompt", "project_context", "tool_schemas", "tool_results", "free", "total"} <= set(keys)
        assert "threshold-compaction" in keys and "threshold-softTrim" in keys
        tool_row = table.get_row("tool_results")
        assert int(tool_row[1].replace(",", "")) > 5000  # 27,000 chars of file content
        total = table.get_row("total")
        assert "est" in total[3] and "actual" in total[3]  # the provider's figure beside the estimate
        head = str(pane.query_one("#context-head", Static).render())
        assert "sim/fast" in head and "/32,000 tokens" in head
        bar = str(pane.query_one("#context-bar", Static).render())
        assert "█" in bar and "░" in bar
        markers = str(pane.query_one("#context-markers", Static).render())
        assert {"s", "h", "c"} <= set(markers.replace(" ", ""))
        # Grows with the history.
        chat.send('[[tool:read {"path":"big.txt"}]]')
        await wait_until(pilot, lambda: pane.report is not first)
        assert pane.report is not None
        assert pane.report.categories["tool_results"] > first.categories["tool_results"]
        # /context detail in the chat lists every contributor.
        chat.command("/context detail")
        await wait_until(pilot, lambda: not chat.busy and "detailed" in chat.transcript[-1][1])
        detail = chat.transcript[-1][1]
        for name in ("AGENTS.md", "Tool schemas", "read", "write", "edit", "ls"):
            assert name in detail
        status = app.status_info()
        assert status.session_cache_hit_rate is not None
