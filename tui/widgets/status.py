"""The status bar: where the config came from, gateway state, event rate, drops, pause.

The app computes a :class:`StatusInfo` each refresh tick and assigns it (attributes down); the
bar repaints only when the value actually changed, because ``reactive`` compares them.
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


@dataclasses.dataclass(frozen=True, slots=True)
class StatusInfo:
    """Everything the status bar shows; frozen so equal values skip a repaint."""

    config_source: str = ""
    gateway_state: str = "stopped"
    events_per_second: float = 0.0
    dropped: int = 0
    dashboard_dropped: int = 0
    paused: bool = False
    buffered: int = 0
    config_error: str | None = None
    restart_pending: int = 0
    session_cache_hit_rate: float | None = None
    """Session-manager cache hit rate (0–1) since start; None before any transcript was opened."""


class StatusBar(Widget):
    """One line at the bottom of the dashboard; every colour has a text label beside it."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    info: reactive[StatusInfo] = reactive(StatusInfo, layout=False)

    def render(self) -> Text:
        info = self.info
        theme = self.app.theme_variables
        sep = Text(" │ ", style="dim")
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if info.paused:
            line.append(" PAUSED ", style=f"bold reverse {theme.get('warning', '')}")
            line.append(f" {info.buffered:,} buffered")
            line.append_text(sep)
        line.append("config ", style="dim")
        line.append(info.config_source)
        line.append_text(sep)
        line.append("gateway ", style="dim")
        state_style = "" if info.gateway_state == "running" else theme.get("warning", "")
        line.append(info.gateway_state, style=state_style)
        line.append_text(sep)
        line.append(f"{info.events_per_second:,.1f}", style="bold")
        line.append(" ev/s", style="dim")
        line.append_text(sep)
        line.append("dropped ", style="dim")
        drop_style = theme.get("error", "") if info.dropped else ""
        line.append(f"{info.dropped:,}", style=drop_style)
        line.append(f" (dashboard {info.dashboard_dropped:,})", style="dim")
        if info.session_cache_hit_rate is not None:
            line.append_text(sep)
            line.append("session cache ", style="dim")
            line.append(f"{info.session_cache_hit_rate:.0%}")
            line.append(" hit", style="dim")
        if info.restart_pending:
            line.append_text(sep)
            line.append(
                f"restart needed for {info.restart_pending} changed key(s)",
                style=theme.get("warning", ""),
            )
        if info.config_error:
            line.append_text(sep)
            line.append("⚠ invalid config, old config kept: ", style=f"bold {theme.get('error', '')}")
            line.append(info.config_error)
        return line
