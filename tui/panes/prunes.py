"""Prunes pane: the log of cache-TTL prune decisions, newest first (pruning spec §11.1).

One row per evaluation of the prune hook — skips included, so "why did nothing get pruned?"
has an answer — fed by ``prune.decision`` events. Enter opens the decision's full explanation
and the before/after text of each touched tool result (:class:`PruneDetailScreen`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable

from tui.panes.base import Pane
from tui.screens.prune_detail import PruneDetailScreen, decision_outcome

if TYPE_CHECKING:
    from core.events import Event

MAX_DECISIONS = 500
"""Decisions kept in the log; the oldest go first."""

COLUMNS = (("time", "time"), ("session", "session"), ("model", "model"), ("outcome", "outcome"),
           ("touched", "touched"), ("saved", "saved"), ("ratio", "ratio"))


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
"""

    DEFAULT_CSS = """
    PrunesPane > DataTable { height: 1fr; }
    PrunesPane.-ready > .pane--waiting { display: none; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.decisions: dict[str, Any] = {}
        """Row key → decision event, oldest first."""
        self._seq = 0

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="prunes-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in COLUMNS:
            table.add_column(label, key=key)

    def focus_target(self) -> DataTable:  # type: ignore[override]
        return self.query_one(DataTable)

    def apply_events(self, events: Sequence[Event]) -> None:
        new = [e for e in events if e.kind == "prune.decision"]
        if not new:
            return
        for event in new:
            self._seq += 1
            self.decisions[f"d{self._seq}"] = event
        while len(self.decisions) > MAX_DECISIONS:
            del self.decisions[next(iter(self.decisions))]
        self.set_class(True, "-ready")
        self._rebuild()

    def _rebuild(self) -> None:
        """Newest first: rebuilt per batch (one repaint), the cursor kept on the same decision."""
        table = self.query_one(DataTable)
        selected = None
        if table.row_count:
            try:
                selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except Exception:  # no valid cursor yet
                selected = None
        table.clear()
        for key in reversed(self.decisions):
            table.add_row(*row_cells(self.decisions[key]), key=key)
        if selected in self.decisions:
            table.move_cursor(row=table.get_row_index(selected))

    @on(DataTable.RowSelected, "#prunes-table")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        decision = self.decisions.get(str(event.row_key.value))
        if decision is None:
            return
        hooks = getattr(getattr(getattr(self.app, "gateway", None), "agent", None), "hooks", None)
        detail = hooks.prune_detail(decision) if hooks is not None else None
        self.app.push_screen(PruneDetailScreen(decision, detail))


def row_cells(d: Any) -> tuple[str, ...]:
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
