"""Sandbox pane: one row per sandbox container with CPU, memory and pids as sparklines against
their limits, limit-hit markers and hardening flags; below, the recent exec log.

Rendering is the Retries pane's keyed diff: each batch of events is first folded into
per-container state (ring buffers), then only cells whose text changed are rewritten — a flood
of stats samples costs one pass per batch, not one repaint per sample. The process fallback is
labelled **NOT ISOLATED** in its row and in every exec line (docs/design/sandbox.md#process-fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from core.sandbox.api import WEAK_TAG
from tui.models.sandbox import EXEC_LOG, NOT_ISOLATED, ContainerState, SandboxModel
from tui.models.tune import Scope, sandbox_scope
from tui.panes.base import Pane, same_cell
from tui.screens.sandbox_detail import SandboxDetailScreen
from tui.widgets.sandbox_cells import exec_cells, human_bytes, short_hardening, spark

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

__all__ = ["EMPTY_NOTICE", "EXEC_LOG", "NOT_ISOLATED", "OFF_NOTICE", "SandboxPane"]

EXEC_SHOWN = 6
"""Exec lines the pane shows (the newest)."""
OFF_NOTICE = "Sandboxing is off (agents.defaults.sandbox.mode)."
EMPTY_NOTICE = "Waiting for the first sandbox exec: no container yet."
COLUMNS = ("container", "backend", "cpu", "memory", "pids", "limits", "hardening")
EXEC_COLUMNS = ("container", "command", "exit", "took", "note")


class SandboxPane(Pane):
    PANE_TITLE = "Sandbox"
    HELP_LINE = "Container usage against its limits."
    WAITING = EMPTY_NOTICE
    HELP = """\
## Sandbox

One row per sandbox container: CPU, memory and pids as sparklines scaled to the
container's limit (a full block = at the limit), the last limit hit (OOM, pids, CPU
throttling, timeout), and the hardening flags in force (`ro` read-only root, `net:none`,
`cap-drop:ALL`, `nnp` no-new-privileges, `init`). Dimmed rows have no fresh sample (> 2 s).

The process fallback runs commands as host subprocesses: its row says **NOT ISOLATED**
in red, and so does each of its exec lines.

Below: the recent exec log (command name only, exit code, duration, timeout/OOM notes).

`enter` on a row opens the container: limits, hardening, recent samples and its exec
log; `esc` goes back. When `agents.defaults.sandbox.mode` is `off` the pane says so.

`t` opens the Tune screen for the docker limits (cpus, memory, memorySwap, pidsLimit).
"""

    DEFAULT_CSS = """
    SandboxPane > #sandbox-containers {
        height: 1fr;
        background: $surface;
    }
    SandboxPane > #sandbox-execs {
        height: auto;
        max-height: 8;
        background: $surface;
    }
    SandboxPane.-empty > DataTable {
        display: none;
    }
    SandboxPane > .pane--waiting {
        display: none;
    }
    SandboxPane.-empty > .pane--waiting {
        display: block;
    }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.add_class("-empty")
        self.model = SandboxModel(lambda: gateway.config.agents.defaults.sandbox,
                                  lambda name: gateway.sandbox_containers.get(name))
        self._shown: dict[str, tuple[object, ...]] = {}
        self._shown_execs: list[str] = []
        self.cell_updates = 0
        """Cells rewritten since mount (tests check that unchanged rows cost nothing)."""
        self._table: DataTable[object] = DataTable(id="sandbox-containers", cursor_type="row", zebra_stripes=True)
        self._execs: DataTable[object] = DataTable(id="sandbox-execs", cursor_type="none", show_cursor=False)

    def compose_body(self) -> ComposeResult:
        yield self._table
        yield self._execs

    def on_mount(self) -> None:
        for name in COLUMNS:
            self._table.add_column(name, key=name)
        for name in EXEC_COLUMNS:
            self._execs.add_column(name, key=name)
        self._sync_mode()
        self._update_subtitle()

    def focus_target(self) -> Widget:
        return self._table

    def tune_scope(self) -> Scope:
        return sandbox_scope()

    @property
    def containers(self) -> dict[str, ContainerState]:
        return self.model.containers

    @property
    def sandbox_off(self) -> bool:
        """True when ``agents.defaults.sandbox.mode`` is ``off`` (read live from the gateway)."""
        return self.model.sandbox_off

    def _sync_mode(self) -> None:
        """The empty notice says plainly whether sandboxing is off or just unused so far."""
        notice = self.query_one(".pane--waiting", Static)
        notice.update(OFF_NOTICE if self.sandbox_off and not self.containers else EMPTY_NOTICE)

    # -- events ---------------------------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        change = self.model.apply(events)
        if change.config:
            self._sync_mode()
        if change.removed:
            self._remove_rows(set(change.removed))
        if change.touched:
            self._refresh_rows(set(change.touched))
        if change.execs:
            self._refresh_execs()
        if change.touched or change.removed:
            self.set_class(not self.containers, "-empty")
            self._sync_mode()
            self._update_subtitle()

    # -- keyed diff rendering -------------------------------------------------------------------

    def _error_style(self) -> str:
        return f"bold {self.app.theme_variables.get('error', 'red')}"

    def row_cells(self, state: ContainerState) -> tuple[object, ...]:
        """The row of one container as shown (plain strings, or styled text)."""
        dim = "dim" if state.stale else ""
        samples = list(state.samples)
        last = samples[-1] if samples else None
        if state.isolated:
            backend: object = Text(state.backend, style=dim)
        else:
            backend = Text(NOT_ISOLATED, style=self._error_style())
        if last is None:
            cpu = mem = pids = Text("no sample yet", style="dim")
        else:
            cpu_limit = state.cpus * 100 if state.cpus else None
            cpu = Text(f"{spark([s.cpu_percent for s in samples], cpu_limit)} {last.cpu_percent:.0f}%"
                       f"/{f'{state.cpus:g}' if state.cpus else '∞'}", style=dim)
            mem = Text(f"{spark([s.memory_bytes for s in samples], state.memory_limit)} "
                       f"{human_bytes(last.memory_bytes)}/{human_bytes(state.memory_limit)}", style=dim)
            pids = Text(f"{spark([s.pids for s in samples], state.pids_limit)} "
                        f"{last.pids}/{state.pids_limit if state.pids_limit else '∞'}", style=dim)
        if state.hits:
            limit, _ = state.hits[-1]
            count = f" ×{len(state.hits)}" if len(state.hits) > 1 else ""
            hits: object = Text(f"⚠ {limit}{count}", style=self._error_style())
        else:
            hits = Text("—", style=dim)
        weak = any(tag.startswith(WEAK_TAG) for tag in state.hardening)  # dangerouslyAllowWeakHardening
        return (Text(state.name, style=dim), backend, cpu, mem, pids, hits,
                Text(short_hardening(state.hardening), style=self._error_style() if weak else dim))

    def _refresh_rows(self, names: set[str]) -> None:
        table = self._table
        for name in sorted(names):
            state = self.containers.get(name)
            if state is None:
                continue
            cells = self.row_cells(state)
            shown = self._shown.get(name)
            if shown is None:
                table.add_row(*cells, key=name)
                self.cell_updates += len(cells)
            else:
                for column, old, new in zip(COLUMNS, shown, cells, strict=True):
                    if not same_cell(old, new):
                        table.update_cell(name, column, new, update_width=True)
                        self.cell_updates += 1
            self._shown[name] = cells

    def _remove_rows(self, names: set[str]) -> None:
        for name in names:
            if self._shown.pop(name, None) is not None:
                self._table.remove_row(name)

    def _refresh_execs(self) -> None:
        """Show the newest exec lines; rows are keyed by arrival so old ones just drop off."""
        table = self._execs
        recent = list(self.model.exec_log)[-EXEC_SHOWN:]
        keys = [key for key, _ in recent]
        for key in self._shown_execs:
            if key not in keys:
                table.remove_row(key)
        for key, event in recent:
            if key not in self._shown_execs:
                table.add_row(*exec_cells(event, self._error_style()), key=key)
        self._shown_execs = keys

    def _update_subtitle(self) -> None:
        exposed = self.model.exposed
        text = f"{len(self.containers)} containers · {self.model.hit_count} limit hits"
        self.border_subtitle = text + (f" · {exposed} {NOT_ISOLATED}" if exposed else "")

    # -- drill-down -----------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#sandbox-containers")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        state = self.containers.get(str(event.row_key.value))
        if state is not None:
            self.app.push_screen(SandboxDetailScreen(state))
