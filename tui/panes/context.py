"""Context pane: what fills each session's context window (filled by the sessions capability)."""

from __future__ import annotations

from tui.panes.base import Pane


class ContextPane(Pane):
    PANE_TITLE = "Context"
    HELP_LINE = "Tokens per context contributor."
    WAITING = "Waiting for the sessions capability: no context data yet."
    HELP = """\
## Context

Each contributor to the next request's context window (system prompt, bootstrap files,
tools, history, tool results) with its estimated tokens, and the distance to every
threshold: prune, compaction, the model's window.

Data arrives with the sessions capability; until then this pane only says so.
"""
