"""Tune screen, end to end: a real gateway on a real config file, driven with Pilot.

From the Prunes pane: ``t``, type ``10s`` for ttl, the preview shows, ``ctrl+s`` changes exactly
that line of the file and the Events pane shows ``config.tuned``; ``ctrl+z`` puts the file back
byte for byte. An invalid value shows the schema's message and ``ctrl+s`` writes nothing. A hand
edit while the screen is open is a conflict: shown, never overwritten, ``ctrl+r`` reloads.
"""

from __future__ import annotations

import asyncio
import difflib
from functools import partial
from pathlib import Path

from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from core.gateway import Gateway
from tests import tui_support
from tests.tui_support import gateway_with_config, palette_options
from tui.app import ClawtopApp
from tui.models.tune import PreviewState
from tui.panes import ChatPane, EventsPane, PrunesPane, RetriesPane
from tui.screens.prune_detail import explanation_text
from tui.screens.retry_detail import RetryDetailScreen
from tui.screens.tune import TuneScreen

SIZE = (140, 48)
TTL = "agents.defaults.contextPruning.ttl"
SOFT = "agents.defaults.contextPruning.softTrimRatio"

wait_until = partial(tui_support.wait_until, timeout=15.0, step=0.05)


def config_text(home: Path) -> str:
    return f"""{{
  // the dashboard's Tune screen writes here
  simulator: {{ models: {{ fast: {{ ttftMs: 2, tokensPerSec: 8000, replyTokens: 20, contextWindow: 16000 }} }} }},
  agents: {{
    defaults: {{
      workspace: "{home / 'ws'}",
      contextPruning: {{
        mode: "cache-ttl",
        ttl: "5m",
        keepLastAssistants: 1,
      }},
    }},
  }},
}}
"""


def make_gateway(home: Path, *, watch: bool = False) -> Gateway:
    (home / "ws").mkdir(exist_ok=True)
    (home / "ws" / "big.txt").write_text("0123456789abcdef\n" * 2000, encoding="utf-8")
    return gateway_with_config(home, config_text(home), watch=watch)


def config_path(home: Path) -> Path:
    return home / ".clawtop" / "config.json5"


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def tune_screen(app: ClawtopApp) -> TuneScreen:
    screen = app.screen
    assert isinstance(screen, TuneScreen)
    return screen


async def open_from_prunes(app: ClawtopApp, pilot: Pilot[None]) -> TuneScreen:
    await pilot.press("2", "t")
    await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
    return tune_screen(app)


async def chat_with_a_tool_call(app: ClawtopApp, pilot: Pilot[None]) -> None:
    chat = app.dashboard.query_one(ChatPane)
    await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
    chat.send('[[tool:read {"path":"big.txt"}]]')
    await wait_until(pilot, lambda: not chat.busy and app.dashboard.query_one(PrunesPane).decisions)


async def type_into(pilot: Pilot[None], field: Input, text: str) -> None:
    """Focus ``field`` (which selects its text) and type ``text`` over it."""
    field.focus()
    await pilot.pause()
    await pilot.press(*text)


async def test_ttl_from_the_prunes_pane_applied_then_undone_byte_for_byte(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    path = config_path(tmp_path)
    original = path.read_bytes()
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await chat_with_a_tool_call(app, pilot)
        # From the pane to an applied change: `2`, `t`, `tab` (mode → ttl), the value, `ctrl+s`.
        keys = ["2", "t"]
        await pilot.press(*keys)
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
        screen = tune_screen(app)
        rows = list(screen.model.rows)
        assert rows[:2] == ["agents.defaults.contextPruning.mode", TTL]
        assert any(p.startswith("agents.defaults.compaction.") for p in rows)
        assert screen.input_for(rows[0]).has_focus
        ttl = screen.model.rows[TTL]
        assert ttl.current == "5m" and ttl.entry.source.endswith(":9")
        assert "applies live" in ttl.meta_line() and "default 5m" in ttl.meta_line()
        keys.append("tab")
        await pilot.press("tab")
        assert screen.input_for(TTL).has_focus
        # The focused key's docstring is shown in full, the others' on one line.
        assert screen.row_view(TTL).has_class("-focused") and not screen.row_view(rows[0]).has_class("-focused")
        await pilot.press(*"10s")
        # The preview comes after a pause in typing; the spinner goes once it is in.
        await wait_until(pilot, lambda: screen.model.preview_state is PreviewState.READY)
        assert not screen.query_one("#tune-preview-box").has_class("-running")
        assert screen.model.rows[TTL].error is None
        assert screen.preview_text.strip(), "the preview shows what the new ttl would change"
        assert [f"{TTL}: 5m → 10s · applies live"] == screen.model.pending_lines()
        keys.append("ctrl+s")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Applied tuning" in screen.status_text)
        assert len(keys) == 4, keys  # typing the value aside
        after = path.read_text(encoding="utf-8")
        assert changed_lines(original.decode(), after) == ['-        ttl: "5m",', '+        ttl: "10s",']
        events = app.dashboard.query_one(EventsPane)
        await wait_until(pilot, lambda: any("config.tuned" in line for line in events.lines))
        # The gateway runs with the new value.
        await wait_until(pilot, lambda: gateway.config.agents.defaults.context_pruning.ttl in ("10s", 10_000))
        await wait_until(pilot, lambda: screen.model.rows[TTL].current == "10s")
        # The next prune decision runs with 10 s and says which tuning set it.
        version = gateway.settings_version
        assert version and f"Applied tuning {version}" in screen.status_text
        prunes = app.dashboard.query_one(PrunesPane)
        await gateway.chat_send("and now?")
        await wait_until(pilot, lambda: list(prunes.decisions.values())[-1].settings_version == version)
        newest = list(prunes.decisions.values())[-1]
        assert newest.ttl_ms == 10_000
        table = prunes.query_one(DataTable)
        assert "settings" in table.columns and table.get_row_at(0)[-1] == f"tuning {version}"
        assert explanation_text(newest).endswith(f"settings: tuning {version}")

        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: "Undid" in screen.status_text)
        assert path.read_bytes() == original
        await wait_until(pilot, lambda: screen.model.rows[TTL].current == "5m")
        # esc leaves the input, then the screen.
        await pilot.press("escape")
        assert isinstance(app.screen, TuneScreen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.dashboard)


async def test_an_invalid_value_shows_the_schema_message_and_is_not_written(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    path = config_path(tmp_path)
    original = path.read_bytes()
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_prunes(app, pilot)
        await type_into(pilot, screen.input_for(SOFT), "1.5")
        await wait_until(pilot, lambda: screen.model.rows[SOFT].error is not None)
        message = screen.model.rows[SOFT].error or ""
        assert "1" in message, message  # the schema's bound
        view = screen.row_view(SOFT)
        assert view.has_class("-invalid")
        assert message in str(view.query_one(".tune--error").render())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.status_text.startswith("Not applied"))
        await asyncio.sleep(0.2)
        assert path.read_bytes() == original


async def test_a_hand_edit_while_the_screen_is_open_is_a_conflict_never_overwritten(tmp_path: Path) -> None:
    # The file is watched, as when the dashboard runs: the values can be read again after the edit.
    gateway = make_gateway(tmp_path, watch=True)
    path = config_path(tmp_path)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_prunes(app, pilot)
        hand = path.read_text(encoding="utf-8").replace("keepLastAssistants: 1", "keepLastAssistants: 2")
        path.write_text(hand, encoding="utf-8")
        await type_into(pilot, screen.input_for(TTL), "10s")
        await wait_until(pilot, lambda: screen.model.proposal is not None)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.model.conflict)
        assert "changed on disk since this screen opened" in screen.status_text
        await asyncio.sleep(0.2)
        assert path.read_text(encoding="utf-8") == hand
        # The offer: ctrl+r reads the values again; the edit is gone and apply works again.
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not screen.model.conflict
                         and screen.model.rows["agents.defaults.contextPruning.keepLastAssistants"].current == 2)


RETRY_CONFIG = """{
  simulator: { faults: { script: "429:retry-after-ms=200" },
               models: { fast: { ttftMs: 5, tokensPerSec: 5000, replyTokens: 20 } } },
  retry: {
    provider: {
      attempts: 4,
      minDelayMs: 10,
      maxDelayMs: 100,
    },
  },
}
"""


async def test_retry_policy_from_the_retries_pane_with_the_delay_schedule(tmp_path: Path) -> None:
    gateway = gateway_with_config(tmp_path, RETRY_CONFIG)
    path = config_path(tmp_path)
    original = path.read_text(encoding="utf-8")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.providers is not None)
        await gateway.chat.send("hi")  # one 429, then ok: a retried row in the pane
        pane = app.dashboard.query_one(RetriesPane)
        await wait_until(pilot, lambda: any(len(op.attempts) > 1 for op in pane.ops.values()))
        await pilot.press("3", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
        screen = tune_screen(app)
        assert screen.model.scope.title.startswith("retry policy")
        assert {"retry.provider.attempts", "retry.provider.minDelayMs"} <= screen.model.rows.keys()
        assert all(p.startswith("retry.") for p in screen.model.rows)  # the simulator has no override keys
        await type_into(pilot, screen.input_for("retry.provider.attempts"), "2")
        await type_into(pilot, screen.input_for("retry.provider.minDelayMs"), "50")
        await wait_until(pilot, lambda: screen.model.preview_state is PreviewState.READY
                         and len(screen.model.changes()) == 2)
        preview = screen.preview_text
        assert "50" in preview and "attempt" in preview.lower(), preview
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "Applied tuning" in screen.status_text)
        assert changed_lines(original, path.read_text(encoding="utf-8")) == [
            "-      attempts: 4,", "-      minDelayMs: 10,", "+      attempts: 2,", "+      minDelayMs: 50,"]
        await wait_until(pilot, lambda: gateway.config.retry.provider.attempts == 2)
        # The next operation runs under the tuning, and the pane says so.
        version = gateway.settings_version
        result = await gateway.chat.send("again")
        await wait_until(pilot, lambda: result.record.op_id in pane.ops
                         and pane.ops[result.record.op_id].settings_version == version)
        table = pane.query_one("#retries-ops", DataTable)
        assert str(table.get_cell(result.record.op_id, "settings")) == f"tuning {version}"
        assert f"settings: tuning {version}" in RetryDetailScreen(pane.ops[result.record.op_id])._summary()
        await pilot.press("ctrl+z")
        await wait_until(pilot, lambda: "Undid" in screen.status_text)
        assert path.read_text(encoding="utf-8") == original


async def test_palette_tune_finds_a_key_by_its_help_and_undo_last_tuning_reverts(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    path = config_path(tmp_path)
    original = path.read_bytes()
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"tune")
        await wait_until(pilot, lambda: "Tune…" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: CommandPalette.is_open(app) and "contextPruning" in palette_options(app))
        # Words from the docstring find the key even when they are not in its path.
        await pilot.press(*"assistant")
        await wait_until(pilot, lambda: "contextPruning.keepLastAssistants" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
        screen = tune_screen(app)
        keep = "agents.defaults.contextPruning.keepLastAssistants"
        assert list(screen.model.rows) == [keep]
        assert screen.input_for(keep).has_focus
        await pilot.press(*"2", "ctrl+s")
        await wait_until(pilot, lambda: "Applied tuning" in screen.status_text)
        assert path.read_bytes() != original
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("ctrl+p", *"undo last")
        await wait_until(pilot, lambda: "Undo last tuning" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: path.read_bytes() == original)


async def test_t_elsewhere_says_where_it_works_and_the_keys_screen_lists_the_tune_keys(tmp_path: Path) -> None:
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7", "t")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("t tunes the focused" in str(n.message) for n in app._notifications)
        ids = {row.binding_id for row in app.key_rows()}
        assert {"tune", "tune-apply", "tune-undo", "tune-reload", "tune-leave"} <= ids
        # Context: pruning and compaction; Sandbox: the four docker limits.
        await pilot.press("1", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
        assert tune_screen(app).model.scope.title == "pruning + compaction"
        await pilot.press("escape", "escape", "4", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded
                         and app.screen.model.scope.title == "sandbox limits")
        assert sorted(p.rsplit(".", 1)[1] for p in tune_screen(app).model.rows) == [
            "cpus", "memory", "memorySwap", "pidsLimit"]
