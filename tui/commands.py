"""Command palette providers: the dashboard's actions, computed from the current state, and the
tunable keys ("Tune…").

Offered commands follow state (posting style): "Pause live updates" while live, "Resume live
updates" while paused, and the theme commands skip the theme already in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.app import App
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.style import Style

from core.tuning import TunableValue
from tui.models.tune import Scope
from tui.panes import PANES
from tui.screens.tune import TuneScreen, undo_last_tuning
from tui.themes import BUILTIN_THEME_NAMES

if TYPE_CHECKING:
    from core.view import GatewayView


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

    @property
    def gateway(self) -> GatewayView: ...


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
        commands.append(
            _Command("Tune…", "Find any tunable setting by its path or help text and tune it live.",
                     partial(search_tunables, self.app))
        )
        commands.append(
            _Command("Undo last tuning", "Revert the last change written by a tuning (also ctrl+z on the Tune screen).",
                     partial(undo_last, self.app))
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


class TuneCommands(Provider):
    """"Tune…": every tunable key, matched on its path and on its docstring; the chosen one opens
    the Tune screen for that key alone."""

    def __init__(self, screen: Screen[Any], match_style: Style | None = None) -> None:
        super().__init__(screen, match_style)
        self._entries: list[TunableValue] = []

    async def startup(self) -> None:
        app = cast(_DashboardApp, self.app)
        self._entries = await app.gateway.tunables("")

    def _open(self, entry: TunableValue) -> Callable[[], object]:
        # The screen is built only when chosen: hits are made afresh on every keystroke.
        return partial(open_tune, self.app, Scope(entry.tunable.path, (entry.tunable.path,)))

    async def discover(self) -> Hits:
        for entry in self._entries:
            yield DiscoveryHit(entry.tunable.path, self._open(entry), help=_one_line(entry.tunable.doc))

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        words = query.lower().split()
        for entry in self._entries:
            path, doc = entry.tunable.path, _one_line(entry.tunable.doc)
            # The path ranks first (fuzzy); a match only in the help text still counts, a little
            # less. The help is matched word by word, not fuzzily: the fuzzy matcher weighs every
            # way a query can spread over a text, which over ~170 docstrings of a few hundred
            # characters froze the palette for a minute and a half per keystroke.
            on_path = matcher.match(path)
            score = on_path or (DOC_MATCH_SCORE if _words_in(words, doc) else 0.0)
            if score > 0:
                shown = matcher.highlight(path) if on_path else path
                yield Hit(score, shown, self._open(entry), help=doc)


DOC_MATCH_SCORE = 0.3
"""Rank of a key found only through its help text (below a fuzzy match on its path)."""


def _words_in(words: list[str], text: str) -> bool:
    lowered = text.lower()
    return bool(words) and all(word in lowered for word in words)


def _one_line(doc: str) -> str:
    return " ".join(doc.split())


def open_tune(app: App[object], scope: Scope) -> None:
    app.push_screen(TuneScreen(cast(_DashboardApp, app).gateway, scope))


def search_tunables(app: App[object]) -> None:
    """The palette's "Tune…": a palette of the tunable keys alone."""
    app.push_screen(CommandPalette(providers=[TuneCommands],
                                   placeholder="Tune which setting? Part of its path or its help…"))


def undo_last(app: App[object]) -> None:
    """The palette's "Undo last tuning": on the Tune screen as ``ctrl+z``; elsewhere with a toast."""
    if isinstance(app.screen, TuneScreen):
        app.screen.action_tune_undo()
        return
    gateway = cast(_DashboardApp, app).gateway

    async def undo() -> None:
        try:
            text, ok = await undo_last_tuning(gateway)
        except Exception as exc:  # noqa: BLE001 — shown to the user, never a crash of the dashboard
            text, ok = f"{type(exc).__name__}: {exc}", False
        app.notify(text, title="Tuning undone" if ok else "Nothing undone",
                   severity="information" if ok else "warning", markup=False)

    app.run_worker(undo(), group="tune-undo", exclusive=True, exit_on_error=False)
