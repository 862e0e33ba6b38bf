"""Retries pane: provider and channel retry timelines (filled by the providers capability)."""

from __future__ import annotations

from tui.panes.base import Pane


class RetriesPane(Pane):
    PANE_TITLE = "Retries"
    HELP_LINE = "Retry timelines per provider call."
    WAITING = "Waiting for the providers capability: no retries yet."
    HELP = """\
## Retries

One timeline per retried call: each attempt, its error class, the delay chosen
(backoff, jitter, Retry-After floor) and the final outcome, against the retry budget.

Data arrives with the providers capability; until then this pane only says so.
"""
