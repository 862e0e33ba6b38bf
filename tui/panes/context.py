"""Context pane: what fills the context window of the session that ran last.

Fed by ``context.report`` events (``ContextReportUpdated``, published after every turn): a
stacked bar of contributors drawn with Rich segments, markers where soft trim, hard clear and
compaction start, and a table of contributors with tokens, share of the window, and the
estimate beside the provider's actual input tokens (with the chars-per-token ratio in use).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from core.context.events import ContextReportUpdated
from tui.models.context import ContextModel, marker_positions
from tui.models.tune import Scope, pruning_scope
from tui.panes.base import Pane

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

LABELS: dict[str, str] = {
    "system_prompt": "System prompt",
    "project_context": "Bootstrap files",
    "tool_list": "Tool list",
    "skills": "Skills",
    "tool_schemas": "Tool schemas",
    "user": "User messages",
    "assistant_text": "Assistant text",
    "thinking": "Thinking",
    "tool_calls": "Tool calls",
    "tool_results": "Tool results",
    "images": "Images",
    "compaction_summaries": "Compaction summary",
    "other": "Other",
    "reserved_output": "Reserved output",
    "free": "Free",
}
"""Contributor names, in bar order (free space last)."""

STYLES = ("magenta", "blue", "cyan", "green", "yellow", "red", "bright_magenta", "bright_blue",
          "bright_cyan", "bright_green", "bright_yellow", "bright_red", "white")


def stacked_bar(categories: dict[str, int], window: int, width: int) -> Text:
    """One line: each contributor a run of cells proportional to its tokens (at least one cell
    when non-zero, so a small contributor never disappears); free space dim."""
    bar = Text(no_wrap=True, end="")
    if window <= 0 or width <= 0:
        return bar
    used = 0
    names = [k for k in LABELS if k != "free" and categories.get(k, 0) > 0]
    for i, name in enumerate(names):
        cells = max(1, round(categories[name] / window * width))
        cells = min(cells, width - used)
        if cells <= 0:
            break
        style = "dim" if name == "reserved_output" else STYLES[i % len(STYLES)]
        bar.append("█" * cells, style=style)
        used += cells
    if used < width:
        bar.append("░" * (width - used), style="dim")
    return bar


def marker_line(markers: dict[str, int], window: int, width: int) -> Text:
    """``▲`` under each threshold's column, labelled by initial (s, h, c)."""
    cells = [" "] * width
    for name, tokens in markers.items():
        col = min(width - 1, max(0, round(tokens / window * width))) if window > 0 else 0
        cells[col] = name[0]
    return Text("".join(cells), style="bold", no_wrap=True, end="")


class ContextPane(Pane):
    PANE_TITLE = "Context"
    HELP_LINE = "Tokens per context contributor; s/h/c mark soft trim, hard clear, compaction."
    HELP = """\
## Context

What fills the context window of the session that ran last, refreshed after every turn.

The bar stacks each contributor (system prompt, bootstrap files, tool schemas, user and
assistant messages, tool results, reserved output) against the model's effective window;
`s`, `h` and `c` below it mark where soft trimming, hard clearing and compaction start.

The table lists each contributor's estimated tokens and share of the window. The last rows
compare the estimate with the provider's actual input tokens of the last request, and show
the chars-per-token ratio in use (learned per model from real usage once calibrated).

`t` opens the Tune screen for pruning and compaction, previewed on this session.
"""

    DEFAULT_CSS = """
    ContextPane > #context-head { height: 1; }
    ContextPane > #context-bar { height: 1; }
    ContextPane > #context-markers { height: 1; color: $text-muted; }
    ContextPane > DataTable { height: 1fr; }
    ContextPane.-ready > .pane--waiting { display: none; }
    """

    WAITING = "Waiting for the first turn: no context report yet."

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.model = ContextModel()

    @property
    def report(self) -> ContextReportUpdated | None:
        """The last report shown."""
        return self.model.report

    def compose_body(self) -> ComposeResult:
        yield Static("", id="context-head", markup=False)
        yield Static("", id="context-bar")
        yield Static("", id="context-markers")
        yield DataTable(id="context-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("contributor", key="name")
        table.add_column("tokens", key="tokens")
        table.add_column("%", key="pct")
        table.add_column("estimate vs actual", key="cmp")

    def tune_scope(self) -> Scope:
        report = self.report
        return pruning_scope(report.session_id if report is not None else None)

    def apply_events(self, events: Sequence[Event]) -> None:
        if self.model.apply(events):
            self.show()

    def on_resize(self) -> None:
        if self.report is not None:
            self._draw_bar()

    def show(self) -> None:
        """Render the model's report."""
        report = self.report
        if report is None:
            return
        self.set_class(True, "-ready")
        window = report.window_tokens
        ratio = f"{report.chars_per_token:.2f} chars/tok " + ("(calibrated)" if report.calibrated else "(default)")
        self.query_one("#context-head", Static).update(
            f"{report.model} · {report.estimated_tokens:,}/{window:,} tokens "
            f"({100 * report.estimated_tokens / window:.0f}%) · {ratio} · session {report.session_id[:8]}"
            if window else f"{report.model}: no window")
        self._draw_bar()
        table = self.query_one(DataTable)
        table.clear()
        for name, label in LABELS.items():
            tokens = int(report.categories.get(name, 0))
            if tokens <= 0 and name not in ("free",):
                continue
            table.add_row(label, f"{tokens:,}", f"{100 * tokens / window:.1f}" if window else "—", "", key=name)
        actual = report.actual_input_tokens
        cmp = f"est {report.estimated_tokens:,} vs actual {actual:,}" if actual else "no usage yet"
        if actual:
            err = 100 * (report.estimated_tokens - actual) / actual
            cmp += f" ({err:+.1f}%)"
        table.add_row("Prompt total", f"{report.estimated_tokens:,}",
                      f"{100 * report.estimated_tokens / window:.1f}" if window else "—", cmp, key="total")
        for name, remaining in report.thresholds.items():
            table.add_row(f"→ {name}", f"{remaining:,} to go" if remaining >= 0 else f"{-remaining:,} over",
                          "", "", key=f"threshold-{name}")

    def _draw_bar(self) -> None:
        report = self.report
        if report is None:
            return
        width = max(10, self.size.width - 4)
        window = report.window_tokens
        self.query_one("#context-bar", Static).update(stacked_bar(dict(report.categories), window, width))
        if window:
            self.query_one("#context-markers", Static).update(
                marker_line(marker_positions(window, self.gateway.config), window, width))
