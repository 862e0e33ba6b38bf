"""The main screen: seven panes in a grid, the status bar and the footer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header

from tui.panes import PANES, Pane
from tui.screens.tune import TuneScreen
from tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView


class DashboardScreen(Screen[None]):
    """Owns the panes; the app hands it event batches and status values (attributes down)."""

    AUTO_FOCUS = "ContextPane"

    def __init__(self, gateway: GatewayView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.gateway = gateway

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Container(id="panes"):
            for pane_class in PANES:
                yield pane_class(self.gateway, id=f"pane-{pane_class.PANE_TITLE.lower()}")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def panes(self) -> list[Pane]:
        """The panes in display order (the order of the digit keys)."""
        # A query, not query_one: during shutdown the children go before the screen does, and
        # a late batch must then find nothing rather than raise.
        return list(self.query(Pane))

    @property
    def status(self) -> StatusBar | None:
        return next(iter(self.query(StatusBar)), None)

    def action_tune(self) -> None:
        """``t``: the Tune screen for the focused pane's settings."""
        node = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent  # type: ignore[assignment]
        scope = node.tune_scope() if node is not None else None
        if scope is None:
            self.notify("t tunes the focused Context, Prunes, Retries or Sandbox pane; "
                        "ctrl+p → Tune… finds any setting.", timeout=4, markup=False)
            return
        self.app.push_screen(TuneScreen(self.gateway, scope))

    def apply_events(self, events: Sequence[Event]) -> None:
        """Give one batch to every pane inside a single repaint."""
        with self.app.batch_update():
            for pane in self.panes:
                pane.apply_events(events)
