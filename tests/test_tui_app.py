"""Pilot tests of the dashboard shell: every key, the live Events pane, the status bar, pause,
config notices, themes and quitting (which must stop the gateway and flush the store).

Each test runs a real :class:`core.gateway.Gateway` on built-in defaults in a fake ``$HOME``,
and asserts on app state and on the messages the app handled, not only on pixels.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from core.config.errors import ConfigError, ConfigIssue
from core.config.loader import load_config
from core.events import ConfigInvalid, ConfigReloaded, LogMessage
from core.gateway import Gateway, GatewayState
from tests import tui_support
from tests.tui_support import gateway_with_config as make_gateway, palette_options
from tui import actions
from tui.app import ClawtopApp
from tui.messages import EventsArrived
from tui.panes import PANES, ChatPane, EventsPane
from tui.screens.help import KeysScreen, PaneHelpScreen

SIZE = (120, 40)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    return make_gateway(tmp_path)


wait_until = partial(tui_support.wait_until, timeout=5.0, step=0.02)


def events_pane(app: ClawtopApp) -> EventsPane:
    return app.dashboard.query_one(EventsPane)


def logged(app: ClawtopApp, text: str) -> bool:
    return any(text in line for line in events_pane(app).lines)


def status_text(app: ClawtopApp) -> str:
    status = app.dashboard.status
    assert status is not None
    return status.render().plain


async def started(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, ClawtopApp)
    await wait_until(pilot, lambda: logged(app, "gateway.started"))


# -- startup, Events pane, status bar ------------------------------------------------------


async def test_gateway_runs_in_the_background_and_status_shows_the_config_source(
    gateway: Gateway,
) -> None:
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert gateway.state is GatewayState.RUNNING
        await wait_until(pilot, lambda: "gateway running" in status_text(app))
        assert app.status_info().config_source == "defaults (no config file)"
        assert "config defaults (no config file)" in status_text(app)
        assert "dropped 0 (dashboard 0)" in status_text(app)


async def test_all_seven_panes_show_title_and_help_line(gateway: Gateway) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE):
        panes = app.dashboard.panes
        assert [type(p) for p in panes] == list(PANES)
        for pane in panes:
            assert pane.border_title == pane.PANE_TITLE
            assert pane.HELP_LINE and pane.region.width > 0 and pane.region.height > 2
            if not isinstance(pane, EventsPane):
                assert pane.WAITING and pane.WAITING.startswith("Waiting for the ")
        # Every pane is visible on a 120×40 terminal, inside the screen.
        screen_region = app.screen.region
        assert all(screen_region.contains_region(p.region) for p in panes)
        chat_input = app.dashboard.query_one(ChatPane).query_one(Input)
        assert chat_input.disabled and "not available yet" in chat_input.placeholder


async def test_events_pane_shows_a_published_event_via_one_coalesced_message(
    gateway: Gateway,
) -> None:
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await started(pilot)
        gateway.bus.publish(LogMessage(level="warning", message="hello from the test"))
        await wait_until(pilot, lambda: logged(app, "message=hello from the test"))
        line = next(line for line in events_pane(app).lines if "hello from the test" in line)
        assert line.startswith("+") and "log" in line and "level=warning" in line
        batches = [m for m in messages if isinstance(m, EventsArrived)]
        assert any(
            isinstance(e, LogMessage) and e.message == "hello from the test"
            for batch in batches
            for e in batch.events
        )


async def test_a_flood_is_merged_and_costs_few_messages(gateway: Gateway) -> None:
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await started(pilot)
        before = len(events_pane(app).lines)
        for _ in range(2_000):
            gateway.bus.publish(LogMessage(level="info", message="same line"))
        await wait_until(pilot, lambda: events_pane(app).seen >= 2_001)
        new_lines = list(events_pane(app).lines)[before:]
        assert len(new_lines) <= 3, new_lines
        assert any("×" in line for line in new_lines)
        assert len([m for m in messages if isinstance(m, EventsArrived)]) < 10
        assert "merged" in str(events_pane(app).border_subtitle)


def test_events_arrived_coalescing_keeps_every_event_in_order() -> None:
    first = EventsArrived([LogMessage(level="info", message="a")])
    second = EventsArrived([LogMessage(level="info", message="b")])
    assert first.can_replace(second)
    assert [e.message for e in second.events] == ["a", "b"]  # type: ignore[attr-defined]


async def test_events_per_second_comes_from_bus_published_deltas(gateway: Gateway) -> None:
    clock = FakeClock()
    app = ClawtopApp(gateway, clock=clock, start_gateway=False)
    async with app.run_test(size=SIZE):
        app.refresh_status()
        for _ in range(30):
            gateway.bus.publish(LogMessage(level="info", message="tick"))
        clock.now += 2.0
        app.refresh_status()
        assert app.events_per_second == pytest.approx(15.0)
        assert "15.0 ev/s" in status_text(app)


# -- keys -----------------------------------------------------------------------------------


async def test_question_mark_opens_keys_screen_listing_every_binding(gateway: Gateway) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("?")
        assert isinstance(app.screen, KeysScreen)
        rows = app.screen.rows
        by_id = {row.binding_id: row for row in rows}
        for spec in actions.ACTIONS:
            assert spec.id in by_id, spec.id
            assert by_id[spec.id].keys, spec.id
        assert by_id["show-keys"].keys == "?"
        assert by_id["command-palette"].keys == "^p"
        assert [by_id[f"focus-pane-{n}"].keys for n in range(1, 8)] == list("1234567")
        assert by_id["pause"].keys == "p"
        assert by_id["quit"].keys == "q"
        assert (by_id["refresh-faster"].keys, by_id["refresh-slower"].keys) == ("+", "-")
        # Every active binding of the dashboard is listed, including non-registry ones (tab…).
        listed = {key.strip() for row in rows for key in row.keys.split(",")}
        for key, active in app.dashboard.active_bindings.items():
            assert app.get_key_display(active.binding) in listed, key
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(rows)


async def test_keys_screen_is_searchable_and_letters_type_instead_of_acting(
    gateway: Gateway,
) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("?")
        screen = app.screen
        assert isinstance(screen, KeysScreen)
        # The filter has focus: "p" and "q" are text here, they neither pause nor quit.
        await pilot.press("p", "q", "1")
        assert screen.query_one(Input).value == "pq1"
        assert app.paused is False and app.is_running and app.screen is screen
        await pilot.press("backspace", "backspace", "backspace", *"resume")
        assert [row.binding_id for row in screen.shown_rows] == ["pause"]
        assert screen.query_one(DataTable).row_count == 1
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_ctrl_p_opens_the_command_palette_with_dashboard_commands(
    gateway: Gateway,
) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert CommandPalette.is_open(app)
        await pilot.press(*"bench")
        await wait_until(pilot, lambda: "Focus pane: Bench" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: not CommandPalette.is_open(app))
        await pilot.pause()
        assert type(app.focused_pane()).__name__ == "BenchPane"

        await pilot.press("ctrl+p", *"pause")
        await wait_until(pilot, lambda: "Pause live updates" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.paused)


async def test_digit_keys_focus_each_pane_in_display_order(gateway: Gateway) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        for number, pane_class in reversed(list(enumerate(PANES, start=1))):
            await pilot.press(str(number))
            assert isinstance(app.focused_pane(), pane_class), number


async def test_p_pauses_buffers_and_resume_catches_up_in_one_batch(gateway: Gateway) -> None:
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("p")
        assert app.paused
        assert "PAUSED" in status_text(app)
        for n in range(5):
            gateway.bus.publish(LogMessage(level="info", message=f"while paused {n}"))
        # Ingestion continues: the events reach the app and are held, not shown.
        await wait_until(pilot, lambda: app.status_info().buffered == 5)
        assert not logged(app, "while paused")
        assert "5 buffered" in status_text(app)

        calls: list[int] = []
        original = app.dashboard.apply_events

        def spy(events):  # type: ignore[no-untyped-def]
            calls.append(len(events))
            original(events)

        app.dashboard.apply_events = spy  # type: ignore[method-assign]
        await pilot.press("p")
        assert not app.paused
        assert calls == [5]
        assert all(logged(app, f"while paused {n}") for n in range(5))
        assert "PAUSED" not in status_text(app)
        assert app.status_info().buffered == 0


async def test_q_quits_stops_the_gateway_and_flushes_the_store(gateway: Gateway) -> None:
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        gateway.bus.publish(LogMessage(level="info", message="persist me"))
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)
    assert gateway.state is GatewayState.STOPPED
    assert gateway.store.stats.pending == 0
    with sqlite3.connect(gateway.loaded.db_path) as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds[0] == "gateway.started" and kinds[-1] == "gateway.stopped"
    assert "log" in kinds


async def test_ctrl_q_quits_and_stops_the_gateway(gateway: Gateway) -> None:
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running)
    assert gateway.state is GatewayState.STOPPED


async def test_f1_shows_the_focused_panes_help(gateway: Gateway) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "f1")
        assert isinstance(app.screen, PaneHelpScreen)
        assert app.screen.title_text == "Retries"
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_keymap_from_config_rebinds_by_id(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, config='{ ui: { keymap: { "pause": "space" } } }')
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert not app.paused
        await pilot.press("space")
        assert app.paused
        rows = {row.binding_id: row for row in app.key_rows()}
        assert rows["pause"].keys == "space"


async def test_plus_and_minus_change_the_refresh_interval_within_bounds(
    gateway: Gateway,
) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.refresh_ms == 1000
        await pilot.press("+")
        assert app.refresh_ms == 900
        await pilot.press("-", "-")
        assert app.refresh_ms == 1100
        for _ in range(12):
            await pilot.press("+")
        assert app.refresh_ms == 250


async def test_ui_changes_in_the_file_apply_live(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, config="{ ui: { refreshMs: 1000 } }", watch=True)
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.theme == "clawtop-dark"
        gateway.loaded.path.write_text(
            '{ ui: { theme: "clawtop-light", refreshMs: 500, keymap: { pause: "space" } } }',
            encoding="utf-8",
        )
        await wait_until(pilot, lambda: app.theme == "clawtop-light", timeout=10)
        assert app.refresh_ms == 500
        await pilot.press("space")
        assert app.paused


# -- config notices -------------------------------------------------------------------------


async def test_invalid_reload_shows_a_notice_and_keeps_running(gateway: Gateway) -> None:
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await started(pilot)
        issue = ConfigIssue("ui.theme", "expected a string", file="config.json5", line=3)
        gateway.config_error = ConfigError([issue], file="config.json5")
        gateway.bus.publish(ConfigInvalid(path="config.json5", issues=(issue.format(),)))
        await wait_until(pilot, lambda: logged(app, "config.invalid"))
        notices = [m.notification for m in messages if isinstance(m, Notify)]
        assert any(
            n.severity == "error" and "old config" in n.title and "ui.theme" in n.message
            for n in notices
        )
        assert "invalid config, old config kept" in status_text(app)
        assert "ui.theme" in status_text(app)
        assert gateway.state is GatewayState.RUNNING


async def test_invalid_file_edit_reaches_the_dashboard_through_the_watcher(
    tmp_path: Path,
) -> None:
    gateway = make_gateway(tmp_path, config="{ ui: {} }", watch=True)
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await started(pilot)
        gateway.loaded.path.write_text("{ ui: { ", encoding="utf-8")
        await wait_until(pilot, lambda: logged(app, "config.invalid"), timeout=10)
        assert gateway.config_error is not None
        await wait_until(pilot, lambda: "invalid config, old config kept" in status_text(app))
        assert any(
            isinstance(m, Notify) and m.notification.severity == "error" for m in messages
        )


async def test_config_reloaded_event_notifies(gateway: Gateway) -> None:
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await started(pilot)
        gateway.bus.publish(
            ConfigReloaded(changed_paths=("ui.refresh_ms",), hot_paths=("ui.refresh_ms",))
        )
        await wait_until(pilot, lambda: logged(app, "config.reloaded"))
        notices = [m.notification for m in messages if isinstance(m, Notify)]
        assert any(n.title == "Config reloaded" and "ui.refresh_ms" in n.message for n in notices)


async def test_a_gateway_that_fails_to_start_is_reported_not_fatal(tmp_path: Path) -> None:
    class BrokenGateway(Gateway):
        async def start(self) -> None:
            raise OSError("state dir is read-only")

    gateway = BrokenGateway(load_config(None, env={"HOME": str(tmp_path)}, dotenv=False),
                            watch_config=False)
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await wait_until(pilot, lambda: any(
            isinstance(m, Notify) and "failed to start" in m.notification.title for m in messages
        ))
        assert app.is_running
        assert "gateway stopped" in status_text(app)
        await pilot.press("q")


# -- palette Screenshot ----------------------------------------------------------------------


@pytest.mark.parametrize("home_kind", ["no-downloads", "home-is-a-file"])
async def test_palette_screenshot_lands_in_a_folder_that_exists_and_says_where(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home_kind: str
) -> None:
    home = tmp_path / "user-home"
    if home_kind == "no-downloads":
        home.mkdir()
        expected = home / "Downloads"  # created for the screenshot
    else:
        home.write_text("not a folder")  # ~/Downloads cannot be created: the working directory it is
        expected = tmp_path / "cwd"
        expected.mkdir()
        monkeypatch.chdir(expected)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    messages: list[Message] = []
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("ctrl+p", *"screenshot")
        await wait_until(pilot, lambda: "Screenshot" in palette_options(app))
        await pilot.press("enter")

        def notices() -> list[str]:
            return [m.notification.message for m in messages if isinstance(m, Notify)]

        await wait_until(pilot, lambda: any("screenshot" in n.lower() for n in notices()))
        saved = list(expected.glob("*.svg"))
        assert len(saved) == 1, notices()
        assert any(str(saved[0]) in n for n in notices())  # the toast names where it went
