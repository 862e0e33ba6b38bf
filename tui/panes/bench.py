"""Bench pane: results table, latency histogram, history with A/B compare, and a form that
starts a benchmark with a progress bar.

Background work (the run itself, store reads) runs in workers and talks to the UI only by
posting messages; live progress comes from the bus (``bench.run_progress``, only the newest of a
batch is applied). The results table updates only the cells whose text changed, keyed by
``model|metric`` rows, so a finishing run does not rebuild the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Input, ProgressBar, Static

from core.bench.compare import compare
from core.bench.export import compare_lines
from core.bench.runner import BenchRunner, BenchSpec
from core.bench.store import RunRow
from core.view import GatewayState
from tui.action_spec import BENCH_ACTIONS
from tui.models.bench import BenchModel
from tui.panes.base import Pane
from tui.widgets.bench_chart import histogram

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

_METRICS = (("latencyMs", "latency ms", 0), ("ttftMs", "ttft ms", 0), ("outputTokensPerSec", "tok/s", 1),
            ("tpotMs", "itl ms", 1))


class BenchLoaded(Message):
    """Store read finished: the history rows and, when asked, one run document to show."""

    def __init__(self, rows: list[RunRow], doc: dict[str, Any] | None) -> None:
        super().__init__()
        self.rows, self.doc = rows, doc


class BenchCompared(Message):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class BenchDone(Message):
    """The run started from the pane ended: its document, or why it could not run."""

    def __init__(self, doc: dict[str, Any] | None, error: BaseException | None = None) -> None:
        super().__init__()
        self.doc, self.error = doc, error


def _cell(value: Any, digits: int) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


class BenchPane(Pane):
    PANE_TITLE = "Bench"
    HELP_LINE = "Model benchmarks: s run · x stop · m mark A · c compare with A."
    WAITING = "Waiting for the gateway to start: benchmarks cannot run yet."
    HELP = """\
## Bench

Benchmark models as `clawtop bench` does: per model the median, p95, min and max of latency,
time to first token, tokens/s and inter-token latency, and a latency histogram.

* The form (fields labelled in their borders): models (comma-separated refs), runs, tag;
  `s` or **Run** starts, `x` stops (finished runs are kept). Progress shows below the form.
* History lists stored runs (from the CLI too). `enter` shows a run; `m` marks the highlighted
  run as A, `c` compares the highlighted run (B) with A: Δ per metric, regression and noise
  flags, and the config paths that differ.
"""
    BINDINGS: ClassVar[list[BindingType]] = [spec.binding() for spec in BENCH_ACTIONS]
    """The registry's bench keys, active while the pane has focus."""

    DEFAULT_CSS = """
    BenchPane.-ready > .pane--waiting { display: none; }
    BenchPane > #bench-form { height: 3; }
    BenchPane > #bench-form > Input { width: 1fr; }
    BenchPane > #bench-form > #bench-runs { width: 10; }
    BenchPane > #bench-form > Button { min-width: 8; }
    BenchPane > #bench-progress { height: 1; }
    BenchPane > #bench-results { height: 1fr; min-height: 4; }
    BenchPane > #bench-chart { height: auto; max-height: 6; }
    BenchPane > #bench-history { height: 1fr; min-height: 3; }
    BenchPane > #bench-compare { height: auto; color: $text-muted; }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.model = BenchModel()
        self.runner: BenchRunner | None = None
        self.shown: dict[str, Any] | None = None
        """The run document the table and chart show."""
        self.history: list[RunRow] = []
        self.mark_a: str | None = None
        self.compare_text = ""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="bench-form"):
            # Labelled in the border, not just by placeholders: a filled-in field hides its
            # placeholder, and a label beside the field would squeeze it out of a narrow pane.
            for label, field in (("models", Input(placeholder="sim/fast, sim/slow", id="bench-models")),
                                 ("runs", Input(placeholder="10", id="bench-runs", type="integer")),
                                 ("tag", Input(placeholder="optional", id="bench-tag"))):
                field.border_title = label
                yield field
            yield Button("Run", id="bench-start", compact=True)
        yield ProgressBar(id="bench-progress", show_eta=False)
        table: DataTable[str] = DataTable(id="bench-results", cursor_type="none", zebra_stripes=True)
        table.add_columns("model", "metric", "median", "p95", "min", "max", "failed")
        yield table
        yield Static(id="bench-chart")
        history: DataTable[str] = DataTable(id="bench-history", cursor_type="row")
        history.add_columns("run", "tag", "models", "median ms", "failed")
        yield history
        yield Static(id="bench-compare", markup=False)

    def on_mount(self) -> None:
        bench = self.gateway.config.bench
        self.query_one("#bench-models", Input).value = ", ".join(bench.models)
        self.query_one("#bench-runs", Input).value = str(bench.runs)
        self.set_class(self.gateway.state is GatewayState.RUNNING, "-ready")
        self.reload(show_latest=True)

    # -- store reads ------------------------------------------------------------------------

    @work(group="bench-load", exclusive=True, exit_on_error=False)
    async def reload(self, show_latest: bool = False, run_id: str | None = None) -> None:
        """Read history (and one run) from the store; post the result."""
        rows = await self.gateway.bench_history(limit=50)
        wanted = run_id or (rows[0].run_id if show_latest and rows else None)
        doc = (await self.gateway.bench_run(wanted))[0] if wanted else None
        self.post_message(BenchLoaded(rows, doc))

    @on(BenchLoaded)
    def _loaded(self, message: BenchLoaded) -> None:
        self.history = message.rows
        table = self.query_one("#bench-history", DataTable)
        table.clear()
        for row in message.rows:
            medians = "/".join(f"{s['latencyMs']['median']:.0f}" for s in row.summaries.values())
            failed = sum(s["failed"] for s in row.summaries.values())
            mark = "A " if row.run_id == self.mark_a else ""
            table.add_row(mark + row.run_id, row.tag or "-", ", ".join(row.models), medians, str(failed),
                          key=row.run_id)
        if message.doc is not None:
            self.show(message.doc)

    @on(DataTable.RowSelected, "#bench-history")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.reload(run_id=str(event.row_key.value))

    # -- results ----------------------------------------------------------------------------

    def show(self, doc: dict[str, Any]) -> None:
        """Show a run: update changed cells, add new rows, drop rows of models no longer shown."""
        self.shown = doc
        table = self.query_one("#bench-results", DataTable)
        wanted: dict[str, tuple[str, ...]] = {}
        for m in doc["models"]:
            s = m["summary"]
            for metric, label, digits in _METRICS:
                v = s[metric]
                wanted[f"{m['ref']}|{metric}"] = (m["ref"], label, *(_cell(v[k], digits) for k in
                                                  ("median", "p95", "min", "max")), str(s["failed"]))
        for row_key in [k for k in table.rows if k.value not in wanted]:
            table.remove_row(row_key)
        columns = list(table.columns)
        for key, cells in wanted.items():
            if key not in table.rows:
                table.add_row(*cells, key=key)
                continue
            for column, text in zip(columns, cells, strict=True):
                if table.get_cell(key, column) != text:
                    table.update_cell(key, column, text)
        latencies = {m["ref"]: [r["latencyMs"] for r in m["results"] if r["ok"] and not r["warmup"]]
                     for m in doc["models"]}
        self.query_one("#bench-chart", Static).update(histogram(latencies))

    # -- running ----------------------------------------------------------------------------

    @on(Button.Pressed, "#bench-start")
    def _pressed(self) -> None:
        self.action_bench_start()

    def action_bench_start(self) -> None:
        """Start a run from the form (one at a time)."""
        gateway = self.gateway
        if self.runner is not None:
            self.notify("A benchmark is already running (x stops it).", timeout=3)
            return
        if gateway.state is not GatewayState.RUNNING:
            self.notify("The gateway is not running yet.", severity="warning", timeout=3)
            return
        models = [m.strip() for m in self.query_one("#bench-models", Input).value.split(",") if m.strip()]
        runs = self.query_one("#bench-runs", Input).value.strip()
        tag = self.query_one("#bench-tag", Input).value.strip() or None
        try:
            spec = BenchSpec.build(gateway.config.bench, models=models or None,
                                   runs=int(runs) if runs else None, tag=tag)
        except ValueError as exc:
            self.notify(f"Cannot start: {exc}", severity="error", timeout=5)
            return
        self.runner = gateway.bench_runner(spec)
        self.query_one("#bench-progress", ProgressBar).update(total=spec.total, progress=0)
        self._run(self.runner)

    @work(group="bench-run", exclusive=True, exit_on_error=False)
    async def _run(self, runner: BenchRunner) -> None:
        try:
            doc = await self.gateway.run_bench(runner)
        except Exception as exc:  # noqa: BLE001 — shown in the pane, never a crash of the dashboard
            self.post_message(BenchDone(None, exc))
            return
        self.post_message(BenchDone(doc))

    @on(BenchDone)
    def _done(self, message: BenchDone) -> None:
        self.runner = None
        if message.error is not None:
            self.notify(f"Benchmark failed: {message.error}", severity="error", timeout=8)
            return
        if message.doc is not None:
            self.show(message.doc)
            self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "Leave input" is offered (and shown in the footer) only while a form field has focus.
        if action == "leave_input":
            return isinstance(self.app.focused, Input) and self.app.focused in self.query(Input)
        return True

    def action_leave_input(self) -> None:
        self.focus()

    def action_bench_stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def apply_events(self, events: Sequence[Event]) -> None:
        before = self.model.progress
        if not self.model.apply(events):
            return
        if self.model.ready is not None:
            self.set_class(self.model.ready, "-ready")
        progress = self.model.progress
        if progress is not None and progress is not before:
            done, total = progress
            self.query_one("#bench-progress", ProgressBar).update(total=total, progress=done)

    # -- compare ----------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        table = self.query_one("#bench-history", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_bench_mark(self) -> None:
        self.mark_a = self._highlighted()
        if self.mark_a is not None:
            self.notify(f"A = {self.mark_a}", timeout=2)
            self.reload()

    def action_bench_compare(self) -> None:
        b = self._highlighted()
        if self.mark_a is None or b is None:
            self.notify("Mark a run as A with m, highlight B, then press c.", timeout=3)
            return
        self._compare(self.mark_a, b)

    @work(group="bench-compare", exclusive=True, exit_on_error=False)
    async def _compare(self, a: str, b: str) -> None:
        (doc_a, cfg_a), (doc_b, cfg_b) = await self.gateway.bench_run(a), await self.gateway.bench_run(b)
        self.post_message(BenchCompared(compare_lines(compare(doc_a, cfg_a, doc_b, cfg_b))))

    @on(BenchCompared)
    def _compared(self, message: BenchCompared) -> None:
        self.compare_text = "\n".join(message.lines)
        self.query_one("#bench-compare", Static).update(self.compare_text)
