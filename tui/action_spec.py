"""The shape of a registered user action, and the Bench pane's own actions.

Apart from :mod:`tui.actions` (which lists every pane and so imports them) so that a pane can
bind its own keys from the registry at class level.
"""

from __future__ import annotations

import dataclasses

from textual.binding import Binding

__all__ = ["BENCH_ACTIONS", "CHAT_ACTIONS", "TUNE_ACTIONS", "ActionSpec"]


@dataclasses.dataclass(frozen=True, slots=True)
class ActionSpec:
    """One user action: its remappable binding id, default key, Textual action and help text.

    ``key`` uses Textual key names (``question_mark``, ``ctrl+p``); ``key_display`` is what the
    footer and the keys screen print for the default key.
    """

    id: str
    key: str
    action: str
    description: str
    help: str
    show: bool = True
    priority: bool = False
    key_display: str | None = None

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
            key_display=self.key_display,
        )


BENCH_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(id="bench-start", key="s", action="bench_start", description="Run bench",
               help="Bench pane: start a benchmark with the form's models, runs and tag."),
    ActionSpec(id="bench-stop", key="x", action="bench_stop", description="Stop bench",
               help="Bench pane: stop the running benchmark; finished runs are kept and stored."),
    ActionSpec(id="bench-mark", key="m", action="bench_mark", description="Mark A",
               help="Bench pane: mark the highlighted history run as baseline A for a compare."),
    ActionSpec(id="bench-compare", key="c", action="bench_compare", description="Compare",
               help="Bench pane: compare the highlighted history run (B) against the marked run (A)."),
    ActionSpec(id="bench-leave", key="escape", action="leave_input", description="Leave input",
               help="Bench pane: leave the form field, so the pane and dashboard keys work again."),
)
"""The Bench pane's own keys: bound on the pane (active while it has focus), listed by the keys
screen as pane bindings, remappable through ``ui.keymap`` by id like every other action."""


CHAT_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(id="chat-cancel", key="escape", action="cancel_turn", description="Cancel turn",
               help="Chat pane: cancel the turn in flight (and its tool runs); the input takes the next "
                    "message at once."),
    ActionSpec(id="chat-leave", key="escape", action="leave_input", description="Leave input",
               help="Chat pane: leave the input (when no turn runs), so the dashboard keys work again."),
)
"""The Chat pane's own keys: both on escape, only one enabled at a time (a running turn is
cancelled first), so the footer always says how to get out while typing."""


TUNE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(id="tune-apply", key="ctrl+s", action="tune_apply", description="Apply",
               help="Tune screen: write the edited values to the config file (old → new listed first).",
               priority=True),
    ActionSpec(id="tune-undo", key="ctrl+z", action="tune_undo", description="Undo last",
               help="Tune screen: undo the last tuning, byte for byte when the file is unchanged since.",
               priority=True),
    ActionSpec(id="tune-reload", key="ctrl+r", action="tune_reload", description="Reload values",
               help="Tune screen: drop the edits and read the values in force again (after a conflict).",
               priority=True),
    ActionSpec(id="tune-leave", key="escape", action="tune_leave", description="Back",
               help="Tune screen: leave the input, then the screen."),
)
"""The Tune screen's own keys: bound on that screen (``ctrl`` keys fire even while typing in a
value), listed by the keys screen, remappable through ``ui.keymap`` by id."""
