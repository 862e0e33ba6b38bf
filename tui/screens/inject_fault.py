""""Inject fault…": ask for one fault token and queue it for the simulator's next model request,
so retry settings can be tried against a real failure from the dashboard.

The input suggests the vocabulary as you type (``S`` / ``MS`` filled with example numbers) and
says inline whether the token parses; ``enter`` queues it through the gateway (which validates it
again: it owns the simulator) and leaves with a toast; a refused token stays in the input with an
error toast; ``esc`` leaves without queuing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from core.faults import FAULT_VOCABULARY, parse_fault_token
from core.sim.events import SimFaultQueued
from core.sim.faults import FaultInjectionError
from tui.screens.help import FramedModal

__all__ = ["SUGGESTIONS", "InjectFaultScreen"]

SUGGESTIONS: tuple[str, ...] = tuple(
    token.replace("=MS", "=500").replace("=S", "=2") for token in FAULT_VOCABULARY
)
"""What the input completes to: the vocabulary with its placeholders filled in, so an accepted
suggestion is a token that can be queued as is."""

Inject = Callable[[str], SimFaultQueued]
"""The gateway's ``inject_fault``."""


class InjectFaultScreen(FramedModal):
    """A one-line prompt for a fault token; :attr:`queued` holds what was queued once it closes."""

    DEFAULT_CSS = """
    InjectFaultScreen {
        & > Vertical { width: 84; }
        #inject-fault-check { height: auto; }
        .inject--hint { color: $text-muted; height: auto; }
        .-invalid { color: $error; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back", id="close-inject-fault")]

    def __init__(self, inject: Inject) -> None:
        super().__init__()
        self._inject_fault = inject
        self.queued: SimFaultQueued | None = None
        """The event of the fault queued from here (None until one is, or after ``esc``)."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Inject fault"
            yield Static("The simulator answers the next model request with this fault, ahead of its "
                         "fault script; the retry engine meets it like a real provider failure.",
                         classes="inject--hint", markup=False)
            yield Input(placeholder="503, 429:retry-after=2, timeout …", id="inject-fault-token",
                        suggester=SuggestFromList(SUGGESTIONS, case_sensitive=False))
            yield Static("", id="inject-fault-check", markup=False)
            yield Static("tokens: " + ", ".join(FAULT_VOCABULARY), classes="inject--hint", markup=False)
            yield Static("→ accepts the suggestion · enter queues it · esc goes back",
                         classes="inject--hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#inject-fault-token")
    def _check(self, event: Input.Changed) -> None:
        check = self.query_one("#inject-fault-check", Static)
        token = event.value.strip()
        if not token:
            check.update("")
            check.remove_class("-invalid")
            return
        try:
            parse_fault_token(token)
        except ValueError as exc:
            # Half-typed on the way to a suggestion is not an error yet.
            completion = next((s for s in SUGGESTIONS if s.startswith(token.lower())), None)
            if completion is not None:
                check.update(f"→ completes to {completion}")
                check.remove_class("-invalid")
            else:
                check.update(str(exc))
                check.add_class("-invalid")
        else:
            check.update(f"enter queues {token.lower()} for the next model request")
            check.remove_class("-invalid")

    @on(Input.Submitted, "#inject-fault-token")
    def _submit(self, event: Input.Submitted) -> None:
        token = event.value.strip()
        if not token:
            return
        try:
            queued = self._inject_fault(token)
        except FaultInjectionError as exc:
            self.notify(str(exc), title="Fault not injected", severity="error", markup=False, timeout=8)
            return
        waiting = f" ({queued.pending} waiting)" if queued.pending > 1 else ""
        self.notify(f"{queued.token} queued: the next model request gets it{waiting}.",
                    title="Fault injected", timeout=4, markup=False)
        self.queued = queued
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
