"""The dashboard's "Inject fault…": palette (or ``f``) → a token input with the vocabulary as
suggestions → the real gateway queues it → the next chat turn meets it, visible in the Retries
pane; ``esc`` leaves without queuing, a bad token or a disabled simulator is said in a toast.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.message import Message
from textual.notifications import Notification, Notify
from textual.widgets import DataTable, Input, Static

from core.faults import FAULT_VOCABULARY
from tests import tui_support
from tests.tui_support import gateway_with_config as make_gateway, palette_options
from tui.app import ClawtopApp
from tui.panes import ChatPane, RetriesPane
from tui.screens.help import KeysScreen
from tui.screens.inject_fault import SUGGESTIONS, InjectFaultScreen

SIZE = (160, 50)
CONFIG = """{
  simulator: { models: { fast: { ttftMs: 5, tokensPerSec: 5000, replyTokens: 20 } } },
  retry: { provider: { minDelayMs: 10, maxDelayMs: 50 } },
}"""

wait_until = partial(tui_support.wait_until, timeout=10.0, step=0.02)


def notices(messages: list[Message]) -> list[Notification]:
    return [m.notification for m in messages if isinstance(m, Notify)]


async def open_from_palette(pilot, app: ClawtopApp) -> InjectFaultScreen:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p", *"inject")
    await wait_until(pilot, lambda: "Inject fault…" in palette_options(app))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, InjectFaultScreen))
    screen = app.screen
    assert isinstance(screen, InjectFaultScreen)
    assert app.focused is screen.query_one(Input)
    return screen


async def test_palette_inject_503_and_the_next_turn_shows_503_then_ok(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, CONFIG)
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        chat = app.dashboard.query_one(ChatPane)
        await wait_until(pilot, lambda: not chat.query_one(Input).disabled)
        screen = await open_from_palette(pilot, app)
        await pilot.press(*"503")
        assert "enter queues 503" in str(screen.query_one("#inject-fault-check", Static).render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        assert screen.queued is not None and screen.queued.token == "503"
        assert any(n.title == "Fault injected" and n.message.startswith("503 queued") for n in notices(messages))
        assert gateway.simulator is not None and gateway.simulator.faults_pending == (1, 0)

        # The next chat turn, typed in the Chat pane, meets it: one retry, then ok.
        await pilot.press("6", *"hello", "enter")
        await wait_until(pilot, lambda: any(role == "meta" for role, _ in chat.transcript))
        retries = app.dashboard.query_one(RetriesPane)
        await wait_until(pilot, lambda: any(op.outcome == "ok" for op in retries.ops.values()))
        (op_id,) = retries.ops
        table = retries.query_one("#retries-ops", DataTable)
        cells = [getattr(cell, "plain", str(cell)) for cell in table.get_row(op_id)]
        assert cells[3].startswith("2/") and cells[4] == "503 server → ok" and cells[5].startswith("✓ ok")
        assert gateway.simulator.faults_pending == (0, 0)


async def test_f_opens_it_suggestions_complete_and_esc_leaves_without_queuing(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, CONFIG)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: gateway.simulator is not None)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, InjectFaultScreen))
        field = app.screen.query_one(Input)
        await pilot.press(*"429:retry-a")
        await wait_until(pilot, lambda: field._suggestion == "429:retry-after=2")
        check = app.screen.query_one("#inject-fault-check", Static)
        assert str(check.render()) == "→ completes to 429:retry-after=2" and not check.has_class("-invalid")
        await pilot.press("right")
        assert field.value == "429:retry-after=2"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.dashboard)
        assert gateway.simulator is not None and gateway.simulator.faults_pending == (0, 0)
    assert set(SUGGESTIONS) >= set(FAULT_VOCABULARY) - {"429:retry-after=S", "429:retry-after-ms=MS"}
    assert all("=S" not in s and "=MS" not in s for s in SUGGESTIONS)


async def test_a_bad_token_is_said_inline_and_in_a_toast_and_the_input_stays(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, CONFIG)
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await wait_until(pilot, lambda: gateway.simulator is not None)
        screen = await open_from_palette(pilot, app)
        await pilot.press(*"teapot")
        check = screen.query_one("#inject-fault-check", Static)
        assert check.has_class("-invalid") and "unknown fault token 'teapot'" in str(check.render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(n.severity == "error" for n in notices(messages)))
        error = next(n for n in notices(messages) if n.severity == "error")
        assert error.title == "Fault not injected"
        assert all(token in error.message for token in FAULT_VOCABULARY)
        assert app.screen is screen and screen.query_one(Input).value == "teapot"
        assert gateway.simulator is not None and gateway.simulator.faults_pending == (0, 0)


async def test_with_the_simulator_disabled_the_toast_says_so(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, """{
      simulator: { enabled: false },
      models: { providers: { local: { baseUrl: "http://127.0.0.1:9", api: "anthropic-messages",
                                      models: [{ id: "m" }] } } },
      agents: { defaults: { model: { primary: "local/m" } } },
      bench: { models: ["local/m"] },
    }""")
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await wait_until(pilot, lambda: gateway.state.value == "running")
        await open_from_palette(pilot, app)
        await pilot.press(*"503", "enter")
        await wait_until(pilot, lambda: any(n.severity == "error" for n in notices(messages)))
        error = next(n for n in notices(messages) if n.severity == "error")
        assert "simulator is disabled (simulator.enabled is false)" in error.message


async def test_the_keys_screen_lists_it(tmp_path: Path) -> None:
    app = ClawtopApp(make_gateway(tmp_path), start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, KeysScreen))
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        await pilot.press(*"inject")
        rows = screen.shown_rows
        assert [(r.keys, r.binding_id) for r in rows] == [("f", "inject-fault")]
        assert "one-shot fault" in rows[0].help
        await pilot.press("escape")
        assert app.screen is app.dashboard
