"""Numbers as people read them, shared by the panes, their models and the detail screens."""

from __future__ import annotations

__all__ = ["human_ms", "settings_cell"]


def human_ms(ms: float | None) -> str:
    """``850 ms``, ``2.1 s``, ``3m 05s``: durations as people read them."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def settings_cell(version: str | None) -> str:
    """Which settings produced a row: ``tuning <id>``, or ``—`` when no tuning wrote them
    (defaults, a hand edit, rows stored before settings were versioned)."""
    return f"tuning {version}" if version else "—"
