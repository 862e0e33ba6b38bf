"""SVG snapshot of the dashboard's main screen, with deterministic content.

What keeps it stable: a fixed 120×40 terminal; animations off; a fixed injected clock (so
events/s reads 0.0); no wall-clock text (the Events pane shows time since the gateway
started, and the scripted events are stamped relative to that); a fake ``$HOME`` shown as
``~``; built-in defaults so the status bar says ``defaults (no config file)``; no blinking
cursor (the only Input is the disabled chat box). Regenerate deliberately with
``pytest tests/test_tui_snapshot.py --snapshot-update`` after a Textual bump or a UI change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.config.loader import load_config
from core.events import LogMessage
from core.gateway import Gateway
from tui.app import ClawtopApp
from tui.panes import EventsPane

SIZE = (120, 40)


@pytest.fixture
def dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClawtopApp:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"HOME": str(tmp_path)}
    gateway = Gateway(load_config(None, env=env, dotenv=False), env=env, watch_config=False)
    app = ClawtopApp(gateway, clock=lambda: 1000.0)
    app.animation_level = "none"
    return app


async def _scripted_session(pilot: Pilot[None]) -> None:
    """Wait for the real ``gateway.started``, then replay two log lines at fixed offsets."""
    app = pilot.app
    assert isinstance(app, ClawtopApp)
    # run_before starts before the first screen is composed: wait for the pane, then the event.
    panes: list[EventsPane] = []
    for _ in range(500):
        panes = list(app.query(EventsPane))
        if panes and panes[0].seen:
            break
        await pilot.pause(0.01)
    pane = panes[0]
    assert pane.seen == 1, list(pane.lines)
    assert isinstance(app.gateway, Gateway)  # the test publishes on the real gateway's bus
    bus = app.gateway.bus
    bus.publish(LogMessage(level="info", message="scripted info line", mono=pane.origin + 0.25,
                           wall=0.0))
    bus.publish(LogMessage(level="warning", message="scripted warning line",
                           mono=pane.origin + 1.5, wall=0.0))
    for _ in range(500):
        if pane.seen == 3:
            break
        await pilot.pause(0.01)
    assert pane.seen == 3, list(pane.lines)


def test_main_screen(snap_compare, dashboard: ClawtopApp) -> None:  # type: ignore[no-untyped-def]
    """The main screen: seven panes, the live Events log, status bar and footer."""
    assert snap_compare(dashboard, terminal_size=SIZE, run_before=_scripted_session)
