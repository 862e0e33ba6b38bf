"""Plain-text helpers shared by the preview sections (the CLI and the Tune screen print the same
lines)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["duration", "money", "table", "tokens"]


def tokens(n: int) -> str:
    """``12345`` → ``12,345``."""
    return f"{n:,}"


def money(usd: float | None) -> str:
    """USD with enough digits for a single call; ``-`` when unpriced."""
    return "-" if usd is None else f"${usd:.4f}"


def duration(ms: float) -> str:
    """``850`` → ``850 ms``, ``1500`` → ``1.5 s``, ``125000`` → ``2m 5s``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.3g} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns separated by two spaces (trailing blanks stripped)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(len(r) for r in rows))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
