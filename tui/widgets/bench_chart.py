"""A latency distribution as a Unicode histogram, rendered with Rich (no plotting dependency).

Why bins shared by every model: the same x-axis lets the eye compare models row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text

__all__ = ["BLOCKS", "histogram"]

BLOCKS = " ▁▂▃▄▅▆▇█"
"""Nine heights: empty plus eighths."""


def histogram(values: Mapping[str, Sequence[float]], *, bins: int = 24) -> Text:
    """One sparkline row per model over shared bins from the overall min to max latency, with
    the axis bounds printed under it. Empty input gives a one-line notice."""
    everything = [v for vs in values.values() for v in vs]
    if not everything:
        return Text("No latencies to plot yet.", style="dim")
    low, high = min(everything), max(everything)
    width = (high - low) / bins or 1.0
    label = max(len(k) for k in values)
    out = Text()
    for model, vs in values.items():
        counts = [0] * bins
        for v in vs:
            counts[min(bins - 1, int((v - low) / width))] += 1
        top = max(counts) or 1
        bars = "".join(BLOCKS[round(c / top * 8)] if c else BLOCKS[0] for c in counts)
        out.append(f"{model:<{label}} ", style="bold")
        out.append(bars, style="cyan")
        out.append(f" n={len(vs)}\n", style="dim")
    out.append(f"{'':<{label}} {low:.0f} ms".ljust(label + 1 + bins - 6) + f"{high:.0f} ms", style="dim")
    return out
