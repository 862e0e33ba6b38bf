"""Pilot set-up shared by the TUI pane tests: a real gateway from a config text, and polling
until the app reaches a state (panes update from the gateway's bus, asynchronously)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from core.config.loader import load_config
from core.gateway import Gateway


def gateway_with_config(home: Path, config: str | None = None, *, watch: bool = False) -> Gateway:
    """A gateway for a fake ``$HOME``; ``config`` (JSON5) goes to ``~/.clawtop/config.json5``,
    none means the defaults. The gateway is not started; it watches the file only if ``watch``."""
    env = {"HOME": str(home)}
    if config is not None:
        path = home / ".clawtop" / "config.json5"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config, encoding="utf-8")
    return Gateway(load_config(None, env=env, dotenv=False), env=env, watch_config=watch)


async def wait_until(
    pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 10.0, step: float = 0.05
) -> None:
    """Let the app run until ``predicate()`` is truthy; fail after ``timeout`` seconds."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError("condition not reached within the timeout")
        await pilot.pause(step)
        waited += step


def palette_options(app: Any) -> str:
    """The prompts listed by the open command palette ("" when it is closed)."""
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    if not CommandPalette.is_open(app):
        return ""
    options = app.screen.query_one(OptionList)
    return " ".join(
        str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
    )
