"""Write an SVG screenshot of the dashboard's main screen (the README's ``docs/dashboard.svg``),
or with ``--tune`` of the Tune screen mid-edit (``docs/tune.svg``).

Usage: ``python -m tui.screenshot [--tune] [OUTPUT.svg]``.

The gateway runs on built-in defaults in a throwaway home directory, so the picture never
shows (or touches) the user's own config and state, and it looks the same on every machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot

from core.config.loader import load_config
from core.gateway import Gateway
from core.view import GatewayState
from tui.app import ClawtopApp
from tui.models.tune import PreviewState
from tui.panes import EventsPane, PrunesPane
from tui.screens.tune import TuneScreen

SIZE = (120, 40)
DEFAULT_OUTPUT = Path("docs/dashboard.svg")
TUNE_OUTPUT = Path("docs/tune.svg")
TUNE_SIZE = (140, 44)

TUNE_CONFIG = """{
  simulator: { models: { fast: { ttftMs: 2, tokensPerSec: 8000, replyTokens: 20, contextWindow: 16000 } } },
  agents: { defaults: { workspace: "WORKSPACE",
    contextPruning: { mode: "cache-ttl", ttl: "5m", keepLastAssistants: 1 } } },
}
"""


def render_dashboard_svg(home: Path, size: tuple[int, int] = SIZE) -> str:
    """Run the dashboard headless against a gateway on defaults under ``home``; return SVG."""
    env = {"HOME": str(home)}
    loaded = load_config(None, env=env, dotenv=False)
    app = ClawtopApp(Gateway(loaded, env=env, watch_config=False))
    app.animation_level = "none"

    async def auto_pilot(pilot: Pilot[object]) -> None:
        # Auto-pilot starts before the first screen is composed: wait for the Events pane,
        # then for the gateway's own "started" event, then take the picture.
        for _ in range(500):
            panes = list(app.query(EventsPane))
            if panes and panes[0].seen:
                break
            await pilot.pause(0.01)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        app.exit(app.export_screenshot(title="clawtop"))  # type: ignore[arg-type]

    svg: object = app.run(headless=True, size=size, auto_pilot=auto_pilot)
    assert isinstance(svg, str), "the dashboard exited before the screenshot"
    return svg


def render_tune_svg(home: Path, size: tuple[int, int] = TUNE_SIZE) -> str:
    """The Tune screen as a user reaches it: a chat turn that reads a large file, then ``2``
    ``t`` ``tab`` ``10s`` on the Prunes pane, with the what-if preview computed; return SVG."""
    workspace = home / "ws"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "big.txt").write_text("0123456789abcdef\n" * 2000, encoding="utf-8")
    config = home / ".clawtop" / "config.json5"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(TUNE_CONFIG.replace("WORKSPACE", str(workspace)), encoding="utf-8")
    env = {"HOME": str(home)}
    gateway = Gateway(load_config(None, env=env, dotenv=False), env=env, watch_config=False)
    app = ClawtopApp(gateway)
    app.animation_level = "none"

    async def wait_for(pilot: Pilot[object], predicate: Callable[[], object]) -> None:
        for _ in range(3000):
            if predicate():
                return
            await pilot.pause(0.01)
        raise RuntimeError("the dashboard did not reach the state to picture")

    async def auto_pilot(pilot: Pilot[object]) -> None:
        await wait_for(pilot, lambda: gateway.state is GatewayState.RUNNING)
        await gateway.chat_send('[[tool:read {"path":"big.txt"}]]')
        prunes = app.dashboard.query_one(PrunesPane)
        await wait_for(pilot, lambda: prunes.decisions)
        await pilot.press("2", "t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen) and app.screen.loaded)
        await pilot.press("tab", *"10s")
        screen = app.screen
        assert isinstance(screen, TuneScreen)
        await wait_for(pilot, lambda: screen.model.preview_state is PreviewState.READY)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        app.exit(app.export_screenshot(title="clawtop · Tune"))  # type: ignore[arg-type]

    svg: object = app.run(headless=True, size=size, auto_pilot=auto_pilot)
    assert isinstance(svg, str), "the dashboard exited before the screenshot"
    return svg


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    tune = "--tune" in args
    args = [a for a in args if a != "--tune"]
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    output = Path(args[0]) if args else (TUNE_OUTPUT if tune else DEFAULT_OUTPUT)
    with tempfile.TemporaryDirectory(prefix="clawtop-screenshot-") as home:
        previous = os.environ.get("HOME")
        # The Events pane shortens $HOME to "~"; point it at the throwaway home too.
        os.environ["HOME"] = home
        try:
            svg = (render_tune_svg if tune else render_dashboard_svg)(Path(home))
        finally:
            if previous is None:
                os.environ.pop("HOME", None)
            else:
                os.environ["HOME"] = previous
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(svg, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
