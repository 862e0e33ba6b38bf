"""Command palette provider: the dashboard's actions, computed from the current state.

Offered commands follow state (posting style): "Pause live updates" while live, "Resume live
updates" while paused, and the theme commands skip the theme already in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.panes import PANES
from tui.themes import BUILTIN_THEME_NAMES


class _DashboardApp(Protocol):
    """What the palette reads and calls on the dashboard app (``tui.app.ClawtopApp``, which
    imports this module: naming the app class here would be an import cycle)."""

    paused: bool
    theme: str

    @property
    def available_themes(self) -> Mapping[str, object]: ...

    def action_focus_pane(self, number: int) -> None: ...

    def action_toggle_pause(self) -> None: ...

    def action_show_keys(self) -> None: ...

    def action_inject_fault(self) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Command:
    title: str
    help: str
    callback: Callable[[], object]


class DashboardCommands(Provider):
    """Focus a pane, pause or resume, switch to a clawtop theme, inject a fault, list keys."""

    def _commands(self) -> list[_Command]:
        app = cast(_DashboardApp, self.app)
        commands = [
            _Command(
                f"Focus pane: {pane.PANE_TITLE}",
                pane.HELP_LINE,
                partial(app.action_focus_pane, number),
            )
            for number, pane in enumerate(PANES, start=1)
        ]
        if app.paused:
            commands.append(
                _Command("Resume live updates", "Show everything collected while paused.",
                         app.action_toggle_pause)
            )
        else:
            commands.append(
                _Command("Pause live updates", "Freeze the panes; events keep being collected.",
                         app.action_toggle_pause)
            )
        for name in BUILTIN_THEME_NAMES:
            if name != app.theme and name in app.available_themes:
                commands.append(
                    _Command(f"Theme: {name}", "Switch the dashboard's colours.",
                             partial(setattr, app, "theme", name))
                )
        commands.append(
            _Command("Inject fault…", "The simulator's next model request gets a one-shot fault "
                     "(503, 429:retry-after=S, timeout …) to try retry settings against (also f).",
                     app.action_inject_fault)
        )
        commands.append(
            _Command("Keys: list every binding", "The searchable keys list (also ?).",
                     app.action_show_keys)
        )
        return commands

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.callback,
                          help=command.help)
