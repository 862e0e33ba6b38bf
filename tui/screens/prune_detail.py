"""Drill-down of one prune decision: gates, inputs, ratios, cache cost, and for each touched
tool result its text before and after (the soft-trim output in the format of docs/design/pruning.md#soft-trim, or the
hard-clear placeholder). ``esc`` goes back."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from core.pruning.events import PruneDecision
from tui.screens.help import FramedModal

STORED_NOTE = "before/after text is kept only for decisions made while the dashboard runs"
"""Shown for a decision read back from the telemetry store (its payload has no texts)."""

PREVIEW_HEAD, PREVIEW_TAIL = 1500, 500
"""A long *before* text is shown as head … tail (the whole thing can be megabytes)."""


def decision_outcome(d: PruneDecision) -> str:
    """``pruned`` or ``skipped: <reason>`` (with the ms left for ``ttl_not_elapsed``)."""
    if not d.skipped:
        return "pruned"
    text = f"skipped: {d.reason}"
    if d.reason == "ttl_not_elapsed" and d.ms_remaining is not None:
        text += f" ({d.ms_remaining / 1000:.1f} s left)"
    return text


def _preview(text: str) -> str:
    if len(text) <= PREVIEW_HEAD + PREVIEW_TAIL + 200:
        return text
    hidden = len(text) - PREVIEW_HEAD - PREVIEW_TAIL
    return f"{text[:PREVIEW_HEAD]}\n… [{hidden:,} chars not shown here] …\n{text[-PREVIEW_TAIL:]}"


def explanation_text(d: PruneDecision) -> str:
    """Every field of the decision a user needs to see why it went this way
    (docs/design/pruning.md#every-decision-is-explained)."""
    lines = [
        f"{decision_outcome(d)} — {d.explanation}",
        "",
        f"gate: outcome {d.outcome or '—'} · ttl {d.ttl_ms:,} ms · since last cache touch "
        + (f"{d.ms_since_touch:,} ms" if d.ms_since_touch is not None else "never"),
        f"inputs: {d.provider}/{d.model} · window {d.context_window_tokens:,} tokens × {d.chars_per_token} "
        f"chars/token = {d.char_window:,} chars · cutoffIndex {d.cutoff_index} · pruneStartIndex {d.prune_start_index}",
        f"thresholds: softTrimRatio {d.soft_trim_ratio} · hardClearRatio {d.hard_clear_ratio} · "
        f"minPrunableToolChars {d.min_prunable_tool_chars:,}",
    ]
    if d.ratio_before is not None:
        after = d.chars_after if d.chars_after is None else f"{d.chars_after:,}"
        lines.append(f"ratios: before {d.ratio_before:.3f} · after soft {_r(d.ratio_after_soft)} · "
                     f"after {_r(d.ratio_after)} · chars {d.chars_before:,} → {after}")
    if d.hard_clear_gate:
        gate = d.hard_clear_gate
        if d.prunable_chars is not None:
            gate += f" (prunable {d.prunable_chars:,} vs min {d.min_prunable_tool_chars:,})"
        lines.append(f"hard clear: {gate}")
    if d.kept:
        lines.append("kept: " + ", ".join(f"{k} {v}" for k, v in sorted(d.kept.items())))
    lines.append(f"saved: {d.chars_saved:,} chars ≈ {d.tokens_saved_est:,} tokens")
    if d.cache_cost:
        cost = d.cache_cost
        lines.append("cache: " + ", ".join(f"{k} {v}" for k, v in cost.items()))
    if d.settings_version:
        lines.append(f"settings: tuning {d.settings_version}")
    return "\n".join(lines)


def _r(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class PruneDetailScreen(FramedModal):
    """A snapshot of one decision; ``detail`` holds the before/after texts when known.

    ``stored``: the decision was loaded from the telemetry store, so it never has texts; the
    screen says so once and still lists each touched result's figures."""

    DEFAULT_CSS = """
    PruneDetailScreen {
        & > Vertical { width: 120; height: 90%; }
        VerticalScroll { height: 1fr; }
        VerticalScroll > Static { height: auto; }
        .prune--result { margin-top: 1; text-style: bold; }
        .prune--before { color: $text-muted; }
        .detail--hint { color: $text-muted; height: 1; }
        .detail--note { color: $text-warning; margin-top: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close_detail", "Back", id="close-prune-detail")]

    def __init__(self, decision: PruneDecision, detail: list[dict[str, Any]] | None, *, stored: bool = False) -> None:
        super().__init__()
        self.decision = decision
        self.detail = detail
        self.stored = stored

    def compose(self) -> ComposeResult:
        d = self.decision
        with Vertical() as box:
            box.border_title = f"Prune decision · session {(d.session_id or '?')[:8]}"
            with VerticalScroll(id="prune-detail-body"):
                yield Static(explanation_text(d), id="prune-detail-explanation", markup=False)
                if self.stored:
                    yield Static(f"Stored decision: {STORED_NOTE}.", id="prune-detail-stored-note",
                                 classes="detail--note", markup=False)
                yield from self._results()
            yield Static("esc goes back", classes="detail--hint", markup=False)

    def _results(self) -> ComposeResult:
        d = self.decision
        if not d.touched:
            yield Static("No tool result was touched.", classes="prune--result", markup=False)
            return
        texts = {t.get("index"): t for t in (self.detail or ())}
        for t in d.touched:
            head = (f"#{t.get('index')} {t.get('tool') or '?'} {t.get('toolCallId') or ''} · {t.get('action')} · "
                    f"{t.get('charsBefore', 0):,} → {t.get('charsAfter', 0):,} chars"
                    + (f" · {t['imagesRemoved']} image(s) removed" if t.get("imagesRemoved") else ""))
            yield Static(head, classes="prune--result", markup=False)
            full = texts.get(t.get("index"))
            if self.stored:
                continue  # the note above says why there is no text
            if full is None:
                yield Static("(text not available: decision not made by this dashboard's gateway)", markup=False)
                continue
            yield Static("before:\n" + _preview(full["before"]), classes="prune--before", markup=False)
            yield Static("after:\n" + full["after"], classes="prune--after", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close_detail(self) -> None:
        self.dismiss(None)
