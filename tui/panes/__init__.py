"""The dashboard panes, one module each; :data:`PANES` is their display order.

The digit keys ``1``…``7`` and the palette's focus commands follow this order.
"""

from __future__ import annotations

from tui.panes.base import Pane
from tui.panes.bench import BenchPane
from tui.panes.chat import ChatPane
from tui.panes.context import ContextPane
from tui.panes.events import EventsPane
from tui.panes.prunes import PrunesPane
from tui.panes.retries import RetriesPane
from tui.panes.sandbox import SandboxPane

PANES: tuple[type[Pane], ...] = (
    ContextPane,
    PrunesPane,
    RetriesPane,
    SandboxPane,
    BenchPane,
    ChatPane,
    EventsPane,
)

__all__ = [
    "PANES",
    "BenchPane",
    "ChatPane",
    "ContextPane",
    "EventsPane",
    "Pane",
    "PrunesPane",
    "RetriesPane",
    "SandboxPane",
]
