"""Write an SVG screenshot of the dashboard's main screen (the README's ``docs/dashboard.svg``).

Usage: ``python -m tui.screenshot [OUTPUT.svg]`` (default ``docs/dashboard.svg``).

The gateway runs on built-in defaults in a throwaway home directory, so the picture never
shows (or touches) the user's own config and state, and it looks the same on every machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from core.config.loader import load_config
from core.gateway import Gateway
from tui.app import ClawtopApp
from tui.panes import EventsPane

SIZE = (120, 40)
DEFAULT_OUTPUT = Path("docs/dashboard.svg")


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


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    output = Path(args[0]) if args else DEFAULT_OUTPUT
    with tempfile.TemporaryDirectory(prefix="clawtop-screenshot-") as home:
        previous = os.environ.get("HOME")
        # The Events pane shortens $HOME to "~"; point it at the throwaway home too.
        os.environ["HOME"] = home
        try:
            svg = render_dashboard_svg(Path(home))
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
