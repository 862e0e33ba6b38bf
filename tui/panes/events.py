"""Events pane: every event the gateway publishes, as a capped, flood-merged live log.

Times are shown relative to the last ``gateway.started`` event (before one arrives, relative
to when the dashboard started): an uptime clock is what matters when reading a live log, and
it keeps wall-clock text out of screenshots.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import RichLog

from core.events import ConfigInvalid, ConfigReloaded, Event, GatewayStarted, GatewayStopped, LogMessage
from tui.models.events import EventsModel
from tui.panes.base import Pane

if TYPE_CHECKING:
    from core.view import GatewayView

MAX_LINES = 1_000
"""Lines kept in the log; older ones scroll away (RichLog ``max_lines``)."""

_CLASS_STYLES: dict[type[Event], str] = {
    ConfigInvalid: "bold $error",
    ConfigReloaded: "$success",
    GatewayStarted: "$primary",
    GatewayStopped: "$primary",
}
_LEVEL_STYLES = {"error": "$error", "critical": "$error", "warning": "$warning"}


def format_offset(seconds: float) -> str:
    """``+M:SS.mmm`` (or ``-…``) relative to the time origin; hours roll into minutes."""
    sign = "-" if seconds < 0 else "+"
    millis = round(abs(seconds) * 1000)
    minutes, millis = divmod(millis, 60_000)
    return f"{sign}{minutes}:{millis / 1000:06.3f}"


def _contract_home(text: str, home: str | None) -> str:
    # Paths under $HOME read as ~/… (shorter, and the same on every machine in screenshots).
    if home and home != os.sep and home in text:
        return text.replace(home, "~")
    return text


def format_payload(payload: dict[str, Any], home: str | None = None) -> str:
    """``key=value`` pairs: strings bare, sequences comma-joined, anything else as JSON."""
    parts = []
    for key, value in payload.items():
        if isinstance(value, str):
            shown = value
        elif isinstance(value, list):
            shown = ",".join(v if isinstance(v, str) else json.dumps(v) for v in value)
            shown = f"[{shown}]"
        else:
            shown = json.dumps(value, sort_keys=True)
        parts.append(f"{key}={_contract_home(shown, home)}")
    return " ".join(parts)


class EventsPane(Pane):
    PANE_TITLE = "Events"
    HELP_LINE = "Every event the gateway publishes, newest last; floods are merged (×N)."
    HELP = """\
## Events

Every event published on the gateway's bus: time since the gateway started, kind, payload.
Identical consecutive events are merged into one line with a `×N` count, and a burst
bigger than one screen is summarised by kind. The log keeps the last 1,000 lines.

The subtitle counts events seen and events merged into other lines. Pausing (`p`)
freezes this log; events keep being collected and appear at once on resume.
"""

    DEFAULT_CSS = """
    EventsPane > RichLog {
        background: $surface;
        scrollbar-size-vertical: 1;
        height: 1fr;
    }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.model = EventsModel()
        self.lines: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        """Plain text of the lines written, mirroring the log (for tests and copy/export)."""
        self._home = os.environ.get("HOME")
        self._log = RichLog(max_lines=MAX_LINES, min_width=40, wrap=False, id="events-log")

    def compose_body(self) -> ComposeResult:
        yield self._log

    def focus_target(self) -> Widget:
        return self._log

    def on_mount(self) -> None:
        self._update_subtitle()

    @property
    def origin(self) -> float:
        """Monotonic time shown as +0:00.000; the app sets it (attributes down)."""
        return self.model.origin

    @origin.setter
    def origin(self, value: float) -> None:
        self.model.origin = value

    @property
    def seen(self) -> int:
        return self.model.seen

    @property
    def merged(self) -> int:
        return self.model.merged

    def apply_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        batch = self.model.apply(events)
        log = self._log
        if batch.hidden:
            self._write(log, _flood_summary(batch.hidden))
        for row in batch.rows:
            self._write(log, self._format(row.event, row.count))
        self._update_subtitle()

    def _write(self, log: RichLog, line: Text) -> None:
        self.lines.append(line.plain)
        # Full width, never shrunk to the pane: the first lines can arrive before the final
        # layout, and long payloads stay reachable by scrolling sideways.
        log.write(line, shrink=False, scroll_end=None)

    def _format(self, event: Event, count: int) -> Text:
        line = Text(no_wrap=True)
        line.append(format_offset(event.mono - self.origin), style="dim")
        line.append("  ")
        payload = event.payload()
        style = _CLASS_STYLES.get(type(event), "")
        if isinstance(event, LogMessage):
            style = _LEVEL_STYLES.get(event.level.lower(), "")
        line.append(f"{event.kind:<16}", style=self._resolve(style))
        line.append(" ")
        line.append(format_payload(payload, self._home))
        if count > 1:
            line.append(f"  ×{count}", style="bold")
        return line

    def _resolve(self, style: str) -> str:
        # Rich styles know nothing of Textual theme variables: look them up in the live theme
        # so the log follows theme switches for new lines.
        if "$" not in style:
            return style
        variables = self.app.theme_variables
        return " ".join(
            variables.get(token[1:], "") if token.startswith("$") else token
            for token in style.split()
        ).strip()

    def _update_subtitle(self) -> None:
        self.border_subtitle = f"{self.seen:,} seen · {self.merged:,} merged"


def _flood_summary(hidden: Sequence[tuple[str, int]]) -> Text:
    total = sum(n for _, n in hidden)
    detail = ", ".join(f"{kind}×{n}" for kind, n in hidden)
    return Text(f"… {total:,} earlier events in this burst merged: {detail}", style="italic dim")
