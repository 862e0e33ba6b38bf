"""The Tune screen: edit a set of settings live, with the schema's verdict and a what-if preview
as you type, write them with ``ctrl+s`` and undo with ``ctrl+z`` (docs/design/dashboard.md#the-tune-screen).

Opened by ``t`` on the Context, Prunes, Retries or Sandbox pane (scoped to that pane's keys)
or by the palette's "Tune…" (one key, found by fuzzy search). State lives in
:class:`tui.models.tune.TuneModel`; the screen renders it. Everything that asks the gateway runs
in a worker that only posts messages: validation on every keystroke, the preview after a pause
in typing (it runs the pruner, the retry planner … off the event loop), the write and the undo.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, LoadingIndicator, Static

from core.config.reload_plan import reload_effect
from core.config.schema.reload import Reload
from core.tuning import Change, Proposal, TunableValue, Tuning, TuningError
from tui.action_spec import TUNE_ACTIONS
from tui.models.tune import PreviewState, Scope, TuneModel, effect_line, shown_value
from tui.widgets.tune_row import TuneRowView

if TYPE_CHECKING:
    from core.view import GatewayView

log = logging.getLogger(__name__)

__all__ = ["PREVIEW_DEBOUNCE_S", "TuneScreen", "tuning_lines", "undo_last_tuning"]

PREVIEW_DEBOUNCE_S = 0.3
"""Pause in typing before the preview runs (each keystroke still validates at once)."""

HELP_LINE = "Type a value: checked as you type, what-if preview below · ctrl+s apply · ctrl+z undo last · esc back"

CONFLICT = ("The config file changed on disk since this screen opened: nothing was written. "
            "ctrl+r reloads the values in force (your edits are dropped).")


def tuning_lines(tuning: Tuning, *, verb: str) -> list[str]:
    """What a tuning did, one line per key: old → new and how it takes effect."""
    lines = [f"{verb} tuning {tuning.id} ({tuning.origin}):"]
    lines.extend(f"  {c.path}: {shown_value(c.old)} → {shown_value(c.new)} · "
                 + ("in force now" if c.reload == Reload.HOT else effect_line(c.reload, reload_effect(c.path), c.old))
                 for c in tuning.changes)
    if tuning.created:
        lines.append(f"  created {tuning.created}")
    if tuning.note:
        lines.append(f"  {tuning.note}")
    return lines


# -- messages posted by the workers ---------------------------------------------------------


class ProposalReady(Message):
    def __init__(self, changes: tuple[Change, ...], proposal: Proposal) -> None:
        super().__init__()
        self.changes = changes
        self.proposal = proposal


class PreviewReady(Message):
    def __init__(self, changes: tuple[Change, ...], lines: list[str] | None, error: str | None) -> None:
        super().__init__()
        self.changes = changes
        self.lines = lines
        self.error = error


class ValuesLoaded(Message):
    """The values in force, read again (after a write, or on ``ctrl+r``)."""

    def __init__(self, entries: list[TunableValue], base_hash: str | None, note: str | None) -> None:
        super().__init__()
        self.entries = entries
        self.base_hash = base_hash
        self.note = note


class WriteDone(Message):
    """An apply or undo finished: ``lines`` say what happened; ``conflict`` when the file had
    changed on disk (nothing was written)."""

    def __init__(self, lines: list[str], *, ok: bool, conflict: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.ok = ok
        self.conflict = conflict


class TuneScreen(Screen[None]):
    """Tune the keys of one :class:`Scope`; ``esc`` leaves an input, then the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [spec.binding() for spec in TUNE_ACTIONS]

    DEFAULT_CSS = """
    TuneScreen {
        layout: vertical;
        & > #tune-help { height: 1; color: $text-muted; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        & > Horizontal { height: 1fr; }
        #tune-rows {
            width: 3fr;
            border: round $accent;
            border-title-color: $accent;
            border-title-style: bold;
            padding: 0 1;
        }
        #tune-side { width: 2fr; }
        #tune-pending, #tune-status {
            height: auto;
            border: round $foreground 30%;
            border-title-color: $foreground;
            padding: 0 1;
        }
        /* Full width: the preview puts current and candidate side by side. */
        #tune-preview-box {
            height: auto;
            max-height: 55%;
            border: round $foreground 30%;
            border-title-color: $foreground;
            padding: 0 1;
        }
        #tune-preview-busy { height: 1; display: none; }
        #tune-preview-box.-running > #tune-preview-busy { display: block; }
        #tune-status.-conflict { border: round $error; color: $text-error; }
        #tune-status.-ok { border: round $success; }
    }
    """

    def __init__(self, gateway: GatewayView, scope: Scope) -> None:
        super().__init__()
        self.gateway = gateway
        self.model = TuneModel(scope, (), base_hash=None)
        self.loaded = False
        """The values have been read at least once (the rows are shown)."""
        self._generation = 0
        """Bumped on reload: rows get fresh ids so a stale row is never reused."""

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(HELP_LINE, id="tune-help", markup=False)
        with Horizontal():
            rows = VerticalScroll(id="tune-rows")
            rows.border_title = f"Tune · {self.model.scope.title}"
            rows.can_focus = True
            with rows:
                yield from self._row_views()
            with Vertical(id="tune-side"):
                pending = Static("", id="tune-pending", markup=False)
                pending.border_title = "Pending (ctrl+s applies)"
                yield pending
                status = Static("", id="tune-status", markup=False)
                status.border_title = "Last write"
                yield status
        with VerticalScroll(id="tune-preview-box") as box:
            box.border_title = "What-if preview"
            yield LoadingIndicator(id="tune-preview-busy")
            yield Static("", id="tune-preview", markup=False)
        yield Footer()

    def _row_views(self) -> list[TuneRowView]:
        return [TuneRowView(row, id=f"tune-row-{self._generation}-{i}")
                for i, row in enumerate(self.model.rows.values())]

    def on_mount(self) -> None:
        self._render_side()
        self.query_one("#tune-rows").focus()
        self._reload(note=None)

    # -- reading the widgets ----------------------------------------------------------------

    def row_view(self, path: str) -> TuneRowView:
        return next(view for view in self.query(TuneRowView) if view.path == path)

    def input_for(self, path: str) -> Input:
        return self.row_view(path).query_one(Input)

    @property
    def preview_text(self) -> str:
        return "\n".join(self.model.preview_lines)

    @property
    def status_text(self) -> str:
        return self.model.status

    # -- rendering --------------------------------------------------------------------------

    def _render_side(self) -> None:
        model = self.model
        pending = model.pending_lines()
        self.query_one("#tune-pending", Static).update(
            "\n".join(pending) if pending else "No edits yet: type a new value on the left.")
        box = self.query_one("#tune-preview-box")
        box.set_class(model.preview_state is PreviewState.RUNNING, "-running")
        preview = self.query_one("#tune-preview", Static)
        if model.preview_state is PreviewState.NONE:
            preview.update("Shown here as you type: what the edited values would change, from real data.")
        elif model.preview_state is PreviewState.RUNNING and not model.preview_lines:
            preview.update("computing…")
        else:
            preview.update("\n".join(model.preview_lines) or "(the preview has nothing to show for these keys)")
        status = self.query_one("#tune-status", Static)
        status.update(model.status or "Nothing written from this screen yet.")
        status.set_class(model.conflict, "-conflict")

    def _render_rows(self) -> None:
        for view in self.query(TuneRowView):
            row = self.model.rows.get(view.path)
            if row is not None:
                view.show(row)

    # -- typing -----------------------------------------------------------------------------

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        view = next((a for a in event.input.ancestors if isinstance(a, TuneRowView)), None)
        if view is None:
            return
        self.model.set_text(view.path, event.value)
        view.show(self.model.rows[view.path])
        changes = self.model.changes()
        if not changes:
            self.workers.cancel_group(self, "tune-evaluate")
            self.model.preview_cleared()
        else:
            # The preview shown is now for other values: the spinner runs until the new one is in.
            self.model.preview_started()
            self._evaluate(changes)
        self._render_side()

    @work(group="tune-evaluate", exclusive=True, exit_on_error=False)
    async def _evaluate(self, changes: tuple[Change, ...]) -> None:
        """Validate at once, then preview after a pause in typing (a newer keystroke cancels
        this worker, which is the debounce)."""
        try:
            proposal = await self.gateway.propose_tuning(list(changes))
        except Exception as exc:  # shown on screen; the dashboard never crashes on it
            log.exception("propose failed")
            self.post_message(PreviewReady(changes, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ProposalReady(changes, proposal))
        if proposal.errors or proposal.candidate is None:
            return  # no preview of a config that would not load
        await asyncio.sleep(PREVIEW_DEBOUNCE_S)
        try:
            preview = await self.gateway.preview_tuning(proposal, self.model.scope.session)
            lines = preview.lines()
        except Exception as exc:  # shown in the preview box
            log.exception("preview failed")
            self.post_message(PreviewReady(changes, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(PreviewReady(changes, lines, None))

    @on(ProposalReady)
    def _on_proposal(self, message: ProposalReady) -> None:
        if self.model.take_proposal(message.changes, message.proposal):
            self._render_rows()
            if message.proposal.errors:
                self.model.preview_cleared()
            self._render_side()

    @on(PreviewReady)
    def _on_preview(self, message: PreviewReady) -> None:
        if self.model.preview_done(message.changes, message.lines, message.error):
            self._render_side()

    # -- actions (bound from tui.action_spec.TUNE_ACTIONS) -----------------------------------

    def action_tune_leave(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#tune-rows").focus()
        else:
            self.dismiss(None)

    def action_tune_apply(self) -> None:
        why = self.model.can_apply()
        if why is not None:
            self.model.status = CONFLICT if self.model.conflict else f"Not applied: {why}"
            self._render_side()
            return
        self.model.status = "Writing…\n" + "\n".join(self.model.pending_lines())
        self._render_side()
        self._apply(self.model.changes())

    def action_tune_undo(self) -> None:
        self.model.status = "Undoing the last tuning…"
        self._render_side()
        self._undo()

    def action_tune_reload(self) -> None:
        self._reload()

    # -- writing ----------------------------------------------------------------------------

    @work(group="tune-write", exclusive=True, exit_on_error=False)
    async def _apply(self, changes: tuple[Change, ...]) -> None:
        try:
            # Validated again here: ctrl+s may come before the keystroke's own check returned.
            proposal = await self.gateway.propose_tuning(list(changes))
            if proposal.errors:
                self.post_message(ProposalReady(changes, proposal))
                self.post_message(WriteDone(["Not applied: " + "; ".join(
                    f"{path}: {message}" for path, message in proposal.errors.items())], ok=False))
                return
            # Against the hash read when the values were shown: a file changed since is a conflict.
            tuning = await self.gateway.apply_tuning(list(changes), expected_hash=self.model.base_hash)
        except TuningError as exc:
            self.post_message(WriteDone([str(exc)], ok=False, conflict=exc.conflict))
            return
        except Exception as exc:  # shown on screen, never a crash of the dashboard
            log.exception("apply failed")
            self.post_message(WriteDone([f"Not applied: {type(exc).__name__}: {exc}"], ok=False))
            return
        if not tuning.id:
            self.post_message(WriteDone(["Nothing written: the values are already in force."], ok=False))
            return
        self.post_message(WriteDone(tuning_lines(tuning, verb="Applied"), ok=True))

    @work(group="tune-write", exclusive=True, exit_on_error=False)
    async def _undo(self) -> None:
        try:
            text, ok = await undo_last_tuning(self.gateway)
        except Exception as exc:  # shown on screen, never a crash of the dashboard
            log.exception("undo failed")
            self.post_message(WriteDone([f"Nothing undone: {type(exc).__name__}: {exc}"], ok=False))
            return
        self.post_message(WriteDone(text.splitlines(), ok=ok))

    @on(WriteDone)
    def _on_write_done(self, message: WriteDone) -> None:
        if message.conflict:
            self.model.conflict = True
            self.model.status = CONFLICT + "\n" + "\n".join(message.lines)
        else:
            self.model.status = "\n".join(message.lines)
        self.query_one("#tune-status").set_class(message.ok, "-ok")
        self._render_side()
        if message.ok:
            self._reload(note=None)

    @work(group="tune-reload", exclusive=True, exit_on_error=False)
    async def _reload(self, note: str | None = "Values reloaded from the config in force.") -> None:
        """Read the values in force again (the rows are rebuilt; typed edits are dropped)."""
        try:
            entries = await self.gateway.tunables("")
        except Exception as exc:  # shown on screen, never a crash of the dashboard
            log.exception("reading the tunables failed")
            self.post_message(WriteDone([f"Could not read the values: {type(exc).__name__}: {exc}"], ok=False))
            return
        self.post_message(ValuesLoaded(entries, self.gateway.config_raw_hash, note))

    @on(ValuesLoaded)
    async def _on_values(self, message: ValuesLoaded) -> None:
        self.model.reload(message.entries, base_hash=message.base_hash)
        if message.note is not None:
            self.model.status = message.note
        self._generation += 1
        rows = self.query_one("#tune-rows", VerticalScroll)
        focused = self.focused
        in_rows = focused is not None and rows in focused.ancestors_with_self
        # The key being edited keeps focus across the rebuild (after ctrl+s, ctrl+z, ctrl+r).
        was_on = next((a.path for a in focused.ancestors if isinstance(a, TuneRowView)), None) \
            if isinstance(focused, Input) else None
        await rows.remove_children()
        await rows.mount_all(self._row_views())
        again = next((v.query_one(Input) for v in rows.query(TuneRowView) if v.path == was_on), None)
        first = next(iter(rows.query(Input)), None)
        if not self.loaded and first is not None:
            first.focus()  # opened from a pane: type the value at once
        elif again is not None:
            again.focus()
        elif in_rows:
            rows.focus()
        if not self.model.rows:
            await rows.mount(Static(f"No tunable keys under {', '.join(self.model.scope.prefixes)}.",
                                    markup=False))
        self.loaded = True
        self._render_side()


async def undo_last_tuning(gateway: GatewayView) -> tuple[str, bool]:
    """Undo the last tuning from anywhere (the palette): what to tell the user, and whether it
    worked."""
    try:
        tuning = await gateway.undo_tuning(None)
    except TuningError as exc:
        return f"Nothing undone: {exc}", False
    return "\n".join(tuning_lines(tuning, verb="Undid with")), True
