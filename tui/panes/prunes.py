"""Prunes pane: cache-TTL prune decisions (filled by the pruning capability)."""

from __future__ import annotations

from tui.panes.base import Pane


class PrunesPane(Pane):
    PANE_TITLE = "Prunes"
    HELP_LINE = "Cache-TTL prune decisions and why."
    WAITING = "Waiting for the pruning capability: no prune decisions yet."
    HELP = """\
## Prunes

Every cache-TTL prune decision: which tool results were soft-trimmed or hard-cleared,
the TTL age that triggered it, the characters and estimated tokens saved, and the
prompt-cache cost of the prune.

Data arrives with the pruning capability; until then this pane only says so.
"""
