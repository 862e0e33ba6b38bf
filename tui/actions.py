"""The dashboard's single registry of user actions.

Every key binding, the ``?`` keys screen and the command palette are generated from
:data:`ACTIONS`, so an action can never be bound but undocumented, or documented but unbound
(harlequin's ``HARLEQUIN_ACTIONS``). Each entry's ``id`` is the name users put in
``ui.keymap`` to rebind it (``{"pause": "space"}``), applied with ``App.set_keymap``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding

from tui.action_spec import BENCH_ACTIONS, CHAT_ACTIONS, TUNE_ACTIONS, ActionSpec
from tui.panes import PANES
from tui.refresh import REFRESH_MAX_MS, REFRESH_MIN_MS

__all__ = ["ACTIONS", "BENCH_ACTIONS", "CHAT_ACTIONS", "TUNE_ACTIONS", "ActionSpec", "action_ids", "bindings", "by_id",
           "unknown_keymap_ids"]


def _focus_actions() -> tuple[ActionSpec, ...]:
    return tuple(
        ActionSpec(
            id=f"focus-pane-{n}",
            key=str(n),
            action=f"focus_pane({n})",
            description=pane.PANE_TITLE,
            help=f"Focus the {pane.PANE_TITLE} pane ({n} of {len(PANES)}, in display order).",
            show=False,
        )
        for n, pane in enumerate(PANES, start=1)
    )


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="show-keys",
        key="question_mark",
        key_display="?",
        action="show_keys",
        description="Keys",
        help="List every key binding, searchable.",
    ),
    ActionSpec(
        id="pane-help",
        key="f1",
        action="pane_help",
        description="Pane help",
        help="Explain the focused pane.",
        show=False,
    ),
    ActionSpec(
        id="command-palette",
        key="ctrl+p",
        action="command_palette",
        description="Palette",
        help="Command palette: focus a pane, pause, switch theme.",
        # The footer already shows the palette key at its right edge.
        show=False,
        priority=True,
    ),
    *_focus_actions(),
    ActionSpec(
        id="pause",
        key="p",
        action="toggle_pause",
        description="Pause/Resume",
        help="Freeze the panes; events are kept and shown on resume.",
    ),
    ActionSpec(
        id="tune",
        key="t",
        # The dashboard screen opens it for its focused pane; on any other screen `t` does nothing.
        action="screen.tune",
        description="Tune",
        help="Context, Prunes, Retries or Sandbox pane: tune its settings live, with a what-if preview.",
        # Kept off the footer so the main screen stays as it was; `?` and each pane's F1 list it.
        show=False,
    ),
    ActionSpec(
        id="refresh-faster",
        key="plus",
        key_display="+",
        action="change_refresh(-100)",
        description="Faster",
        help=f"Status refresh 100 ms more often (min {REFRESH_MIN_MS} ms); not saved.",
        show=False,
    ),
    ActionSpec(
        id="refresh-slower",
        key="minus",
        key_display="-",
        action="change_refresh(100)",
        description="Slower",
        help=f"Status refresh 100 ms less often (max {REFRESH_MAX_MS / 1000:g} s); not saved.",
        show=False,
    ),
    ActionSpec(
        id="inject-fault",
        key="f",
        action="inject_fault",
        description="Inject fault",
        help="Inject fault…: the simulator's next model request gets a one-shot fault (503, "
             "429:retry-after=S, timeout …), so retry settings meet a real failure. Also in the palette.",
        show=False,
    ),
    ActionSpec(
        id="quit",
        key="q",
        action="quit",
        description="Quit",
        help="Stop the gateway (flushing the event store) and exit.",
    ),
    ActionSpec(
        id="quit-ctrl",
        key="ctrl+q",
        action="quit",
        description="Quit",
        help="Quit from anywhere, even while typing in a text field.",
        show=False,
        priority=True,
    ),
    ActionSpec(
        id="quit-hint",
        key="ctrl+c",
        action="help_quit",
        description="Quit hint",
        help="Copies selected text; otherwise says how to quit.",
        show=False,
    ),
)
"""Every dashboard action, in the order the keys screen lists them."""


def bindings() -> list[Binding]:
    """The App's ``BINDINGS``, generated from the registry."""
    return [spec.binding() for spec in ACTIONS]


def action_ids() -> frozenset[str]:
    return frozenset(spec.id for spec in (*ACTIONS, *BENCH_ACTIONS, *CHAT_ACTIONS, *TUNE_ACTIONS))


def unknown_keymap_ids(keymap: Mapping[str, str]) -> list[str]:
    """Keymap entries that name no action (typos in ``ui.keymap``), to warn about them."""
    known = action_ids()
    return sorted(key for key in keymap if key not in known)


def by_id(ids: Iterable[str] | None = None) -> dict[str, ActionSpec]:
    wanted = None if ids is None else set(ids)
    return {spec.id: spec for spec in ACTIONS if wanted is None or spec.id in wanted}
