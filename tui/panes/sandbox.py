"""Sandbox pane: one row per sandbox container with CPU, memory and pids as sparklines against
their limits, limit-hit markers and hardening flags; below, the recent exec log.

Rendering is the Retries pane's keyed diff: each batch of events is first folded into
per-container state (ring buffers), then only cells whose text changed are rewritten — a flood
of stats samples costs one pass per batch, not one repaint per sample. The process fallback is
labelled **NOT ISOLATED** in its row and in every exec line (sandbox spec §13.4).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.panes.base import Pane

if TYPE_CHECKING:
    from core.events import Event

SAMPLES = 60
"""Stats samples kept per container (the detail screen shows them; the row shows the tail)."""
SPARK_WIDTH = 12
EXEC_LOG = 50
"""Exec lines kept; the pane shows the newest :data:`EXEC_SHOWN`."""
EXEC_SHOWN = 6
NOT_ISOLATED = "NOT ISOLATED"
OFF_NOTICE = "Sandboxing is off (agents.defaults.sandbox.mode)."
EMPTY_NOTICE = "Waiting for the first sandbox exec: no container yet."
BLOCKS = "▁▂▃▄▅▆▇█"
COLUMNS = ("container", "backend", "cpu", "memory", "pids", "limits", "hardening")
EXEC_COLUMNS = ("container", "command", "exit", "took", "note")
LIFECYCLE = {"sandbox.container_created", "sandbox.container_reused", "sandbox.container_recreated"}


@dataclasses.dataclass(slots=True)
class ContainerState:
    """What the pane knows of one container, folded from its events (the detail screen reads it)."""

    name: str
    scope: str = ""
    backend: str = "docker"
    isolated: bool = True
    cpus: float | None = None
    """CPU limit in cores (None: unlimited or unknown), for the sparkline scale."""
    memory_limit: int | None = None
    pids_limit: int | None = None
    stale: bool = False
    hardening: tuple[str, ...] = ()
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)
    samples: collections.deque[Any] = dataclasses.field(default_factory=lambda: collections.deque(maxlen=SAMPLES))
    hits: collections.deque[tuple[str, str]] = dataclasses.field(default_factory=lambda: collections.deque(maxlen=20))
    execs: collections.deque[Any] = dataclasses.field(default_factory=lambda: collections.deque(maxlen=EXEC_LOG))
    updates: list[str] = dataclasses.field(default_factory=list)
    """Live limit changes (``docker update``), newest last."""


def spark(values: Sequence[float], limit: float | None) -> str:
    """Block sparkline of ``values`` scaled to ``limit`` (to the largest value when unlimited)."""
    tail = list(values)[-SPARK_WIDTH:]
    if not tail:
        return ""
    top = limit if limit else max(max(tail), 1e-9)
    return "".join(BLOCKS[min(len(BLOCKS) - 1, max(0, int(v / top * (len(BLOCKS) - 1) + 0.5)))] for v in tail)


def human_bytes(n: float | None) -> str:
    if n is None:
        return "∞"
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit in ("B", "K") or n >= 100 else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n}"


def hardening_from(config: Any, isolated: bool) -> tuple[str, ...]:
    """Short hardening flags from the resolved docker config, used until the manager says
    better (``ContainerInfo.hardening``). The process fallback has none."""
    if not isolated or config is None:
        return ()
    flags = ["init", "nnp"]
    if getattr(config, "read_only_root", False):
        flags.append("ro")
    if getattr(config, "network", "") == "none":
        flags.append("net:none")
    caps = [c.upper() for c in getattr(config, "cap_drop", [])]
    if "ALL" in caps:
        flags.append("cap-drop:ALL")
    return tuple(flags)


SHORT_TAGS = {"read-only-root": "ro", "no-new-privileges": "nnp", "network=none": "net:none"}


def short_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """``ContainerInfo.hardening`` tags in the pane's short form (``read-only-root`` → ``ro``);
    the process fallback's ``NOT ISOLATED`` tag is dropped (the backend column says it)."""
    out = []
    for tag in tags:
        if NOT_ISOLATED in tag:
            continue
        out.append(SHORT_TAGS.get(tag, tag.replace("=", ":", 1)))
    return tuple(out)


def short_hardening(flags: Sequence[str]) -> str:
    return " ".join(flags) if flags else "none"


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

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.add_class("-empty")
        self.containers: dict[str, ContainerState] = {}
        self.exec_log: collections.deque[tuple[str, Any]] = collections.deque(maxlen=EXEC_LOG)
        """(row key, ``SandboxExec``) of every container, newest last."""
        self._shown: dict[str, tuple[object, ...]] = {}
        self._shown_execs: list[str] = []
        self._exec_seq = 0
        self.cell_updates = 0
        """Cells rewritten since mount (tests check that unchanged rows cost nothing)."""
        self._table = DataTable(id="sandbox-containers", cursor_type="row", zebra_stripes=True)
        self._execs = DataTable(id="sandbox-execs", cursor_type="none", show_cursor=False)

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

    # -- config ---------------------------------------------------------------------------------

    def _sandbox_config(self) -> Any:
        config = getattr(getattr(self.app, "gateway", None), "config", None)
        return getattr(getattr(getattr(config, "agents", None), "defaults", None), "sandbox", None)

    @property
    def sandbox_off(self) -> bool:
        """True when ``agents.defaults.sandbox.mode`` is ``off`` (read live from the gateway)."""
        return getattr(self._sandbox_config(), "mode", "off") == "off"

    def _sync_mode(self) -> None:
        """The empty notice says plainly whether sandboxing is off or just unused so far."""
        notice = self.query_one(".pane--waiting", Static)
        notice.update(OFF_NOTICE if self.sandbox_off and not self.containers else EMPTY_NOTICE)

    def _configured_cpus(self) -> float | None:
        cpus = getattr(getattr(self._sandbox_config(), "docker", None), "cpus", None)
        return float(cpus) if isinstance(cpus, (int, float)) else None

    def _manager_info(self, name: str) -> Any:
        """The gateway's latest ``ContainerInfo`` for ``name`` (an in-memory read, no I/O)."""
        known = getattr(getattr(self.app, "gateway", None), "sandbox_containers", None)
        return known.get(name) if isinstance(known, dict) else None

    # -- events ---------------------------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        touched: set[str] = set()
        removed: set[str] = set()
        execs = False
        for event in events:
            kind = event.kind
            if not kind.startswith("sandbox.") and kind != "config.reloaded":
                continue
            if kind == "config.reloaded":
                if any(p.startswith("agents.defaults.sandbox") for p in getattr(event, "changed_paths", ())):
                    for state in self.containers.values():
                        state.cpus = self._configured_cpus()
                        touched.add(state.name)
                    self._sync_mode()
                continue
            name = getattr(event, "name", None)
            if not name:
                continue
            if kind == "sandbox.container_removed":
                self.containers.pop(name, None)
                removed.add(name)
                touched.discard(name)
                continue
            state = self._state(event)
            touched.add(name)
            if kind == "sandbox.stats":
                state.samples.append(event)
                state.stale = bool(event.stale)
                state.memory_limit = event.memory_limit_bytes
                state.pids_limit = event.pids_limit
            elif kind == "sandbox.limit_hit":
                state.hits.append((event.limit, event.detail))
            elif kind == "sandbox.exec":
                state.execs.append(event)
                self._exec_seq += 1
                self.exec_log.append((f"x{self._exec_seq}", event))
                execs = True
            elif kind == "sandbox.limits_updated":
                state.updates.append(f"{', '.join(event.changed)}: {event.before} → {event.after}".strip())
                self._refresh_info(state)
            elif kind in LIFECYCLE:
                state.scope = getattr(event, "scope_key", state.scope)
                if kind == "sandbox.container_recreated":
                    state.samples.clear()
                self._refresh_info(state)
        for name in touched:
            if name in self.containers:
                self._refresh_info(self.containers[name])  # an in-memory read of the gateway's info
        if removed:
            self._remove_rows(removed)
        if touched:
            self._refresh_rows(touched)
        if execs:
            self._refresh_execs()
        if touched or removed:
            self.set_class(not self.containers, "-empty")
            self._sync_mode()
            self._update_subtitle()

    def _state(self, event: Event) -> ContainerState:
        name = str(getattr(event, "name"))
        state = self.containers.get(name)
        if state is None:
            isolated = bool(getattr(event, "isolated", True))
            state = self.containers[name] = ContainerState(name=name, isolated=isolated,
                                                           backend="docker" if isolated else "process",
                                                           cpus=self._configured_cpus())
            state.hardening = hardening_from(getattr(self._sandbox_config(), "docker", None), isolated)
            self._refresh_info(state)
        return state

    def _refresh_info(self, state: ContainerState) -> None:
        """Take backend, limits and hardening from the manager's ``ContainerInfo`` when it has it."""
        info = self._manager_info(state.name)
        if info is None:
            return
        state.isolated = bool(getattr(info, "isolated", state.isolated))
        state.backend = str(getattr(info, "backend", state.backend) or state.backend)
        state.scope = str(getattr(info, "scope_key", state.scope) or state.scope)
        hardening = getattr(info, "hardening", None)
        if hardening is not None:
            state.hardening = short_tags(hardening)
        limits = getattr(info, "limits", None)
        if limits is not None:
            state.limits = dataclasses.asdict(limits) if dataclasses.is_dataclass(limits) else dict(limits)
            cpus = state.limits.get("cpus")
            state.cpus = float(cpus) if isinstance(cpus, (int, float)) and cpus > 0 else None
            state.memory_limit = state.limits.get("memory_bytes", state.memory_limit)
            state.pids_limit = state.limits.get("pids_limit", state.pids_limit)

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
        return (Text(state.name, style=dim), backend, cpu, mem, pids, hits,
                Text(short_hardening(state.hardening), style=dim))

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
                    if not _same(old, new):
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
        recent = list(self.exec_log)[-EXEC_SHOWN:]
        keys = [key for key, _ in recent]
        for key in self._shown_execs:
            if key not in keys:
                table.remove_row(key)
        for key, event in recent:
            if key not in self._shown_execs:
                table.add_row(*exec_cells(event, self._error_style()), key=key)
        self._shown_execs = keys

    def _update_subtitle(self) -> None:
        exposed = sum(1 for s in self.containers.values() if not s.isolated)
        hits = sum(len(s.hits) for s in self.containers.values())
        text = f"{len(self.containers)} containers · {hits} limit hits"
        self.border_subtitle = text + (f" · {exposed} {NOT_ISOLATED}" if exposed else "")

    # -- drill-down -----------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#sandbox-containers")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        from tui.screens.sandbox_detail import SandboxDetailScreen

        state = self.containers.get(str(event.row_key.value))
        if state is not None:
            self.app.push_screen(SandboxDetailScreen(state))


def exec_cells(event: Any, error_style: str = "bold red") -> tuple[object, ...]:
    """One exec-log line: container, command name, exit, duration, notes (NOT ISOLATED first)."""
    notes = [] if event.isolated else [NOT_ISOLATED]
    notes += [n for n, on_ in (("timeout", event.timed_out), ("OOM", event.oom_killed),
                               ("truncated", event.truncated)) if on_]
    took = f"{event.duration_ms / 1000:.2f} s" if event.duration_ms >= 100 else f"{event.duration_ms:.0f} ms"
    exit_text = "—" if event.exit_code is None else str(event.exit_code)
    style = error_style if (not event.isolated or event.timed_out or event.oom_killed) else ""
    return (event.name, event.argv0, exit_text, took, Text(" ".join(notes) or "—", style=style))


def _same(old: object, new: object) -> bool:
    """Equal as shown: same text and, for rich text, the same styled spans."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.spans == new.spans and old.style == new.style
    return old == new
