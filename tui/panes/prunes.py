"""Prunes pane: the log of cache-TTL prune decisions, newest first (docs/design/pruning.md#every-decision-is-explained).

One row per evaluation of the prune hook — skips included, so "why did nothing get pruned?"
has an answer — fed by ``prune.decision`` events. On mount, once the gateway runs, the most
recent stored decisions are loaded from the telemetry store (in a worker) and listed below the
live ones, without duplicates. Enter opens the decision's full explanation and the before/after
text of each touched tool result (:class:`PruneDetailScreen`); stored decisions have no text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable

from core.pruning.events import PruneDecision
from core.view import GatewayState
from tui.formatting import settings_cell
from tui.models.prunes import PrunesModel, decision_from_stored
from tui.models.tune import Scope, pruning_scope
from tui.panes.base import Pane
from tui.screens.prune_detail import PruneDetailScreen, decision_outcome

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200
"""Stored decisions loaded on mount (the most recent ones)."""

HISTORY_WAIT_S, HISTORY_POLL_S = 60.0, 0.1
"""How long the history loader waits for the gateway to be running, and how often it looks."""


class StoredDecisionsLoaded(Message):
    """The history loader read these ``(store id, decision)`` pairs, newest first."""

    def __init__(self, decisions: list[tuple[int, PruneDecision]]) -> None:
        super().__init__()
        self.decisions = decisions


COLUMNS = (("time", "time"), ("session", "session"), ("model", "model"), ("outcome", "outcome"),
           ("touched", "touched"), ("saved", "saved"), ("ratio", "ratio"))
SETTINGS_COLUMN = "settings"
"""Added once a decision made under a tuning arrives: which tuning's settings produced each row."""


class PrunesPane(Pane):
    PANE_TITLE = "Prunes"
    HELP_LINE = "Prune decisions, newest first; enter: why, and before/after."
    WAITING = "Waiting for the first model call: no prune decisions yet."
    HELP = """\
## Prunes

Every evaluation of the cache-TTL pruning hook, newest first — one before each model call,
tool-loop continuations included. A skipped round says why (`ttl_not_elapsed`,
`no_cache_touch`, `below_soft_ratio`, …); a round that pruned lists how many tool results it
soft-trimmed, hard-cleared or replayed, the estimated tokens saved, and the history ratio
before → after.

`enter` opens the decision: the gates, inputs and ratios, the prompt-cache cost estimate, and
for each touched tool result its text before and after. `esc` goes back.

`t` opens the Tune screen for pruning and compaction, previewed on the highlighted
decision's session. A `settings` column appears once a decision ran under a tuning.
"""

    DEFAULT_CSS = """
    PrunesPane > DataTable { height: 1fr; }
    PrunesPane.-ready > .pane--waiting { display: none; }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.model = PrunesModel()

    @property
    def decisions(self) -> dict[str, PruneDecision]:
        """Row key → decision event, oldest first (``d<n>`` live, ``s<store id>`` stored)."""
        return self.model.decisions

    @property
    def stored_keys(self) -> set[str]:
        """Keys of decisions loaded from the store: they have no before/after text."""
        return self.model.stored_keys

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="prunes-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        self._load_history()

    @work(group="prunes-history", exclusive=True, exit_on_error=False)
    async def _load_history(self) -> None:
        """Wait for the gateway to run, read the last stored decisions, post them (nothing else)."""
        gateway = self.gateway
        waited = 0.0
        while gateway.state is not GatewayState.RUNNING:
            if waited >= HISTORY_WAIT_S:
                return
            await asyncio.sleep(HISTORY_POLL_S)
            waited += HISTORY_POLL_S
        try:
            rows = await gateway.stored_events([PruneDecision.kind], limit=HISTORY_LIMIT, newest_first=True)
            decisions = [(row.id, decision_from_stored(row)) for row in rows]
        except Exception:  # a missing or closing store: the log just starts empty
            log.warning("could not load stored prune decisions", exc_info=True)
            return
        if decisions:
            self.post_message(StoredDecisionsLoaded(decisions))

    @on(StoredDecisionsLoaded)
    def _on_stored_decisions(self, message: StoredDecisionsLoaded) -> None:
        if self.model.add_stored(message.decisions):
            self.set_class(True, "-ready")
            self._rebuild()

    def tune_scope(self) -> Scope:
        """Pruning and compaction, previewed on the highlighted decision's session."""
        decision = self.decisions.get(self._cursor_key() or "")
        return pruning_scope(decision.session_id if decision is not None else None)

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 — no valid cursor yet
            return None

    def focus_target(self) -> DataTable:
        return self.query_one(DataTable)

    def apply_events(self, events: Sequence[Event]) -> None:
        if self.model.apply(events):
            self.set_class(True, "-ready")
            self._rebuild()

    def _rebuild(self) -> None:
        """Newest first: rebuilt per batch (one repaint), the cursor kept on the same decision."""
        table = self.query_one(DataTable)
        selected = self._cursor_key()
        table.clear()
        versioned = SETTINGS_COLUMN in table.columns
        if not versioned and any(d.settings_version for d in self.decisions.values()):
            table.add_column(SETTINGS_COLUMN, key=SETTINGS_COLUMN)
            versioned = True
        for key in reversed(self.decisions):
            decision = self.decisions[key]
            cells = row_cells(decision)
            if versioned:
                cells += (settings_cell(decision.settings_version),)
            table.add_row(*cells, key=key)
        if selected in self.decisions:
            table.move_cursor(row=table.get_row_index(selected))

    @on(DataTable.RowSelected, "#prunes-table")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        decision = self.decisions.get(key)
        if decision is None:
            return
        if key in self.stored_keys:
            self.app.push_screen(PruneDetailScreen(decision, None, stored=True))
            return
        self.app.push_screen(PruneDetailScreen(decision, self.gateway.prune_detail(decision)))


def row_cells(d: PruneDecision) -> tuple[str, ...]:
    """The table cells of one decision."""
    counts: dict[str, int] = {}
    for t in d.touched:
        counts[t.get("action", "?")] = counts.get(t.get("action", "?"), 0) + 1
    touched = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "—"
    ratio = "—"
    if d.ratio_before is not None:
        after = d.ratio_after if d.ratio_after is not None else d.ratio_after_soft
        ratio = f"{d.ratio_before:.2f}" + (f" → {after:.2f}" if after is not None else "")
    return (
        time.strftime("%H:%M:%S", time.localtime(d.wall)),
        (d.session_id or "")[:8],
        f"{d.provider}/{d.model}" if d.provider else (d.model or "?"),
        decision_outcome(d),
        touched,
        f"~{d.tokens_saved_est:,} tok" if d.tokens_saved_est else "—",
        ratio,
    )
