"""The shared shape of every dashboard pane: border title, one-line help, a notice, a body.

Panes receive events as attributes-down calls from the dashboard screen (``apply_events``);
they never subscribe to the bus themselves, so pausing and coalescing live in one place. What a
pane shows is folded by its model in :mod:`tui.models`; the pane renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView
    from tui.models.tune import Scope


class Pane(Vertical, can_focus=True):
    """A titled, focusable dashboard pane.

    Subclasses set ``PANE_TITLE``, ``HELP_LINE`` (one line, always visible) and ``HELP``
    (markdown shown by ``F1`` and Textual's help panel). A pane whose capability has not landed
    sets ``WAITING`` and shows only that notice: a pane never shows invented data.
    """

    PANE_TITLE: ClassVar[str] = ""
    HELP_LINE: ClassVar[str] = ""
    WAITING: ClassVar[str | None] = None
    HELP: ClassVar[str] = ""

    DEFAULT_CSS = """
    Pane {
        border: round $foreground 30%;
        border-title-color: $foreground;
        border-title-style: bold;
        border-subtitle-color: $foreground 60%;
        padding: 0 1;
        width: 1fr;
        height: 1fr;
        background: $surface;

        &:focus-within {
            border: round $accent;
            border-title-color: $accent;
        }
        & > .pane--help {
            color: $text-muted;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            height: 1;
        }
        & > .pane--waiting {
            color: $text-warning;
            margin-top: 1;
        }
    }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.gateway = gateway
        """The only way a pane talks to the core (reads config and state, starts work)."""
        self.border_title = self.PANE_TITLE

    def compose(self) -> ComposeResult:
        yield Static(self.HELP_LINE, classes="pane--help", markup=False)
        if self.WAITING:
            yield Static(self.WAITING, classes="pane--waiting", markup=False)
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        """The pane's live content, below the help line (none while waiting)."""
        yield from ()

    def focus_target(self) -> Widget:
        """The widget the pane's digit key focuses (the pane, or its scrollable body)."""
        return self

    def tune_scope(self) -> Scope | None:
        """The settings ``t`` tunes from this pane (None: the pane has none)."""
        return None

    def apply_events(self, events: Sequence[Event]) -> None:
        """Take a batch of new events (already coalesced, never while paused). Default: ignore."""


def same_cell(old: object, new: object) -> bool:
    """Equal as shown: same text and, for rich text, the same styled spans (the keyed-diff
    panes rewrite only cells for which this is False)."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.spans == new.spans and old.style == new.style
    return old == new
