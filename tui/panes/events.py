"""Events pane: every event the gateway publishes, as a capped, flood-merged live log.

Times are shown relative to the last ``gateway.started`` event (before one arrives, relative
to when the dashboard started): an uptime clock is what matters when reading a live log, and
it keeps wall-clock text out of screenshots.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import RichLog

from tui.panes.base import Pane

if TYPE_CHECKING:
    from core.events import Event

MAX_LINES = 1_000
"""Lines kept in the log; older ones scroll away (RichLog ``max_lines``)."""

FLOOD_ROWS = 200
"""At most this many lines per batch; older rows of a bigger batch become one summary line."""

_KIND_STYLES = {
    "config.invalid": "bold $error",
    "config.reloaded": "$success",
    "gateway.started": "$primary",
    "gateway.stopped": "$primary",
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

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.origin: float = 0.0
        """Monotonic time shown as +0:00.000; the app sets it (attributes down)."""
        self.seen = 0
        self.merged = 0
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

    def apply_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for event in reversed(events):
            if event.kind == "gateway.started":
                self.origin = event.mono
                break
        rows = _merge_runs(events)
        log = self._log
        self.seen += len(events)
        self.merged += len(events) - len(rows)
        if len(rows) > FLOOD_ROWS:
            hidden, rows = rows[:-FLOOD_ROWS], rows[-FLOOD_ROWS:]
            self._write(log, _flood_summary(hidden))
            self.merged += len(hidden)
        for event, count in rows:
            self._write(log, self._format(event, count))
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
        style = _KIND_STYLES.get(event.kind, "")
        if event.kind == "log":
            style = _LEVEL_STYLES.get(str(payload.get("level", "")).lower(), "")
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


def _merge_runs(events: Iterable[Event]) -> list[tuple[Event, int]]:
    """Collapse consecutive events with the same kind and payload into (last event, count)."""
    rows: list[tuple[Event, int]] = []
    last_key: tuple[str, str] | None = None
    for event in events:
        key = (event.kind, json.dumps(event.payload(), sort_keys=True, default=str))
        if key == last_key:
            rows[-1] = (event, rows[-1][1] + 1)
        else:
            rows.append((event, 1))
            last_key = key
    return rows


def _flood_summary(hidden: Sequence[tuple[Event, int]]) -> Text:
    counts: collections.Counter[str] = collections.Counter()
    for event, count in hidden:
        counts[event.kind] += count
    total = sum(counts.values())
    detail = ", ".join(f"{kind}×{n}" for kind, n in counts.most_common())
    return Text(f"… {total:,} earlier events in this burst merged: {detail}", style="italic dim")
