"""Table cells of the Sandbox pane and its detail screen: sparklines, byte sizes, exec lines."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from core.sandbox.events import SandboxExec
from tui.models.sandbox import NOT_ISOLATED

__all__ = ["BLOCKS", "SPARK_WIDTH", "exec_cells", "human_bytes", "short_hardening", "spark"]

SPARK_WIDTH = 12
BLOCKS = "▁▂▃▄▅▆▇█"


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


def short_hardening(flags: Sequence[str]) -> str:
    return " ".join(flags) if flags else "none"


def exec_cells(event: SandboxExec, error_style: str = "bold red") -> tuple[object, ...]:
    """One exec-log line: container, command name, exit, duration, notes (NOT ISOLATED first)."""
    notes = [] if event.isolated else [NOT_ISOLATED]
    notes += [n for n, on_ in (("timeout", event.timed_out), ("OOM", event.oom_killed),
                               ("truncated", event.truncated)) if on_]
    took = f"{event.duration_ms / 1000:.2f} s" if event.duration_ms >= 100 else f"{event.duration_ms:.0f} ms"
    exit_text = "—" if event.exit_code is None else str(event.exit_code)
    style = error_style if (not event.isolated or event.timed_out or event.oom_killed) else ""
    return (event.name, event.argv0, exit_text, took, Text(" ".join(notes) or "—", style=style))
