"""Themes: loaded from files, chosen by ``ui.theme``, switchable from the palette, and a pick
saved back to the config file with its comments."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify

from core.config.loader import load_config
from core.gateway import Gateway
from tests import tui_support
from tests.tui_support import gateway_with_config as make_gateway, palette_options
from tui.app import ClawtopApp
from tui.themes import THEMES_DIR, ThemeFileError, load_theme_file, load_themes

SIZE = (120, 40)
wait_until = partial(tui_support.wait_until, timeout=5.0, step=0.02)


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    return make_gateway(tmp_path)


async def test_themes_come_from_files_and_switch_from_the_palette(gateway: Gateway) -> None:
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "clawtop-dark"
        assert {"clawtop-dark", "clawtop-light"} <= set(app.available_themes)
        await pilot.press("ctrl+p", *"light")
        await wait_until(pilot, lambda: "clawtop-light" in palette_options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "clawtop-light")


async def test_configured_theme_is_used(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, config='{ ui: { theme: "clawtop-light" } }')
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE):
        assert app.theme == "clawtop-light"


async def test_picked_theme_is_saved_to_the_config_keeping_comments(tmp_path: Path) -> None:
    config = '// my settings\n{\n  ui: {\n    refreshMs: 1000, // keep me\n  },\n}\n'
    gateway = make_gateway(tmp_path, config=config)
    path = gateway.loaded.path
    messages: list[Message] = []
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.pause()
        assert path.read_text(encoding="utf-8") == config  # startup theme is not written
        app.theme = "clawtop-light"
        await wait_until(pilot, lambda: "clawtop-light" in path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        assert "// my settings" in text and "// keep me" in text
        assert load_config(path, env={"HOME": str(tmp_path)}, dotenv=False).config.ui.theme \
            == "clawtop-light"
        await wait_until(pilot, lambda: any(
            isinstance(m, Notify) and m.notification.message == "Theme saved to ui.theme"
            for m in messages
        ))
        # A second pick before any reload writes against our own new hash: no conflict.
        app.theme = "clawtop-dark"
        await wait_until(pilot, lambda: '"clawtop-dark"' in path.read_text(encoding="utf-8"))
        assert not any(
            isinstance(m, Notify) and m.notification.severity == "error" for m in messages
        )


async def test_theme_save_conflict_is_reported_not_raised(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, config="{ ui: {} }")
    path = gateway.loaded.path
    path.write_text("// edited elsewhere\n{ ui: {} }\n", encoding="utf-8")
    messages: list[Message] = []
    app = ClawtopApp(gateway, start_gateway=False)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        app.theme = "clawtop-light"
        await wait_until(pilot, lambda: any(
            isinstance(m, Notify) and m.notification.severity == "error"
            and "ConfigConflictError" in m.notification.message for m in messages
        ))
        assert "clawtop-light" not in path.read_text(encoding="utf-8")
        assert app.is_running


def test_theme_files_load_and_bad_ones_are_reported(tmp_path: Path) -> None:
    loaded, errors = load_themes()
    assert errors == []
    assert {t.name for t in loaded} >= {"clawtop-dark", "clawtop-light"}
    assert (THEMES_DIR / "clawtop.tcss").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nprimary = "#fff"\nbackgrond = "#000"\n', encoding="utf-8")
    with pytest.raises(ThemeFileError, match="did you mean 'background'"):
        load_theme_file(bad)
