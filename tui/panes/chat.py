"""Chat pane: one turn at a time through the gateway's chat service, the reply streaming in.

The turn runs as a worker; it talks to the UI only by posting messages. Deltas are posted as
:class:`ChatDelta` messages that fold into each other while the UI is busy (``can_replace``),
so a fast model costs one repaint per frame, not one per token. The input is enabled only while
the gateway is running: before that there is no provider to answer, and the pane never fakes
a reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from core.chat.result import TurnResult
from core.view import GatewayState
from tui.action_spec import CHAT_ACTIONS
from tui.models.chat import (
    ChatModel,
    attempts_summary,
    compaction_line,
    error_line,
    failed_record,
    summary_line,
    tool_line,
)
from tui.panes.base import Pane

if TYPE_CHECKING:
    from core.events import Event
    from core.view import GatewayView

MAX_MESSAGES = 200
"""Chat lines kept on screen; the oldest scroll away."""


class ChatDelta(Message):
    """Reply text that arrived; a newer delta absorbs an older pending one (coalescing)."""

    def __init__(self, turn: int, text: str) -> None:
        super().__init__()
        self.turn = turn
        self.text = text

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, ChatDelta) and message.turn == self.turn:
            message.text = self.text + message.text
            return True
        return False


class ChatDone(Message):
    """The turn ended: ``result`` (a core ``TurnResult``) or ``error`` (the classified failure)."""

    def __init__(self, turn: int, result: TurnResult | None = None, error: BaseException | None = None) -> None:
        super().__init__()
        self.turn = turn
        self.result = result
        self.error = error


class ChatTool(Message):
    """A tool call of the current turn finished (summary only: name, input, size, error)."""

    def __init__(self, turn: int, summary: dict[str, Any]) -> None:
        super().__init__()
        self.turn = turn
        self.summary = summary


class CommandDone(Message):
    """A slash command finished: ``text`` to show, or ``error``."""

    def __init__(self, text: str = "", error: BaseException | None = None) -> None:
        super().__init__()
        self.text = text
        self.error = error


SLASH_HELP = "Commands: /context [list|detail|json], /compact [instructions], /new"


class ChatPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = [spec.binding() for spec in CHAT_ACTIONS]
    PANE_TITLE = "Chat"
    HELP_LINE = "Talk to the agent (enter sends); /context, /compact, /new."
    WAITING = "Waiting for the gateway to start: chat is not available yet."
    HELP = """\
## Chat

Type a message and press `enter`: it goes through the gateway to the configured model
(`agents.defaults.model.primary`; the built-in simulator `sim/fast` when no provider is
configured), with the same retries and failover as any other call. The reply streams in
as tokens arrive; after it, one line says which model answered, the tokens used, time to
first token, total time and the attempts (each retry shows in the Retries pane).

The agent may call its workspace tools (`read`, `write`, `edit`, `ls`; paths outside
`agents.defaults.workspace` are refused); each call shows as a `⚙` line. The conversation
is the session `main`, stored as a JSONL transcript, so it survives a restart.

Commands: `/context list|detail|json` shows what fills the context window; `/compact
[instructions]` summarises older history now; `/new` starts a new session.

`escape` leaves the input so the dashboard keys (`2`, `p`, `q`, `?`) work again; while a
turn runs, the first `escape` cancels it (with its tool runs) and the input takes the next message.

A failed turn shows its classified error (e.g. `rate_limit`, `ambiguous`). A chat send
creates a message, so an ambiguous failure is not retried (it may have been received).
"""

    DEFAULT_CSS = """
    ChatPane > Input {
        dock: bottom;
    }
    ChatPane > #chat-log {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    ChatPane > #chat-log > Static { height: auto; }
    ChatPane > #chat-log > .chat--user { color: $accent; }
    ChatPane > #chat-log > .chat--meta { color: $text-muted; }
    ChatPane > #chat-log > .chat--error { color: $text-error; }
    ChatPane > #chat-log > .chat--tool { color: $text-muted; }
    ChatPane.-ready > .pane--waiting { display: none; }
    """

    def __init__(self, gateway: GatewayView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(gateway, id=id, classes=classes)
        self.model = ChatModel()
        self._turn = 0
        self._busy = False
        self._turn_running = False
        self._reply: Static | None = None
        self._reply_text = ""
        self.deltas_handled = 0
        """Delta messages handled (after coalescing): at most one per token, usually far fewer."""
        self.transcript: list[tuple[str, str]] = []
        """(role, text) of every finished line, for tests and copy: user, assistant, meta, error."""

    def compose_body(self) -> ComposeResult:
        yield VerticalScroll(id="chat-log")
        chat_input = Input(
            placeholder="Chat is not available yet",
            disabled=True,
            id="chat-input",
        )
        chat_input.cursor_blink = False
        yield chat_input

    def focus_target(self) -> Widget:
        chat_input = self.query_one("#chat-input", Input)
        return self if chat_input.disabled else chat_input

    def on_mount(self) -> None:
        self._set_ready(self.gateway.state is GatewayState.RUNNING)

    def apply_events(self, events: Sequence[Event]) -> None:
        if self.model.apply(events) and self.model.ready is not None:
            self._set_ready(self.model.ready)

    def _set_ready(self, ready: bool) -> None:
        chat_input = self.query_one("#chat-input", Input)
        self.set_class(ready, "-ready")
        chat_input.disabled = not ready
        chat_input.placeholder = (
            "Message the assistant" if ready else "Chat is not available yet"
        )

    @property
    def streamed_text(self) -> str:
        """The reply text received by streaming in the current (or last) turn."""
        return self._reply_text

    @property
    def busy(self) -> bool:
        """A turn is in flight (one at a time, like a chat)."""
        return self._busy

    # -- leaving / cancelling ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Escape means one thing at a time: cancel a running turn, else leave the input.
        if action == "cancel_turn":
            return self._turn_running
        if action == "leave_input":
            return not self._turn_running and self.app.focused is self.query_one("#chat-input", Input)
        return True

    def action_leave_input(self) -> None:
        self.focus()

    def action_cancel_turn(self) -> None:
        if self.gateway.cancel_turn() == 0:
            # The turn has not reached the gateway yet (or is past it): stop the worker itself;
            # its CancelledError path posts ``ChatDone`` just the same.
            self.workers.cancel_group(self, "chat")

    def _set_turn_running(self, running: bool) -> None:
        self._turn_running = running
        self.refresh_bindings()

    # -- sending ----------------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self._busy:
            self.notify("A reply is still streaming; send again when it ends.", timeout=3)
            return
        event.input.value = ""
        if text.startswith("/"):
            self.command(text)
            return
        self.send(text)

    def command(self, text: str) -> None:
        """Run a slash command (``/context``, ``/compact``, ``/new``); its output is a meta line."""
        name, _, arg = text.partition(" ")
        if name not in ("/context", "/compact", "/new"):
            self._line("error", f"✗ unknown command {name}. {SLASH_HELP}", "chat--error")
            return
        self._busy = True
        self._line("user", f"you › {text}", "chat--user")
        self._run_command(name, arg.strip())

    @work(group="chat", exit_on_error=False)
    async def _run_command(self, name: str, arg: str) -> None:
        gateway = self.gateway
        try:
            if name == "/context":
                text = await gateway.chat_context(arg or "list")
            elif name == "/new":
                text = f"New session {await gateway.chat_new()}"
            else:
                text = compaction_line(await gateway.chat_compact(arg or None))
        except Exception as exc:  # noqa: BLE001 — a failed command is a line in the chat, never a crash
            self.post_message(CommandDone(error=exc))
            return
        self.post_message(CommandDone(text))

    @on(CommandDone)
    def _command_done(self, message: CommandDone) -> None:
        self._busy = False
        if message.error is not None:
            self._line("error", error_line(message.error), "chat--error")
        else:
            self._line("meta", message.text, "chat--meta")

    def send(self, text: str) -> None:
        """Start a turn with ``text`` (what Enter does)."""
        self._turn += 1
        self._busy = True
        self._set_turn_running(True)
        self._line("user", f"you › {text}", "chat--user")
        self._reply_text = ""
        self._reply = self._line(None, "…", "chat--assistant")
        self._run_turn(self._turn, text)

    @work(group="chat", exit_on_error=False)
    async def _run_turn(self, turn: int, text: str) -> None:
        def on_delta(delta: str) -> None:
            self.post_message(ChatDelta(turn, delta))

        def on_tool(summary: dict[str, Any]) -> None:
            self.post_message(ChatTool(turn, summary))

        try:
            result = await self.gateway.chat_send(text, on_delta=on_delta, on_tool=on_tool)
        except Exception as exc:  # noqa: BLE001 — classified turn errors and anything unexpected alike
            self.post_message(ChatDone(turn, error=exc))
            return
        except asyncio.CancelledError as cancelled:
            # The gateway cancelled the turn (``cancel_turn``, a stop): the pane must not stay busy.
            self.post_message(ChatDone(turn, error=cancelled))
            raise
        self.post_message(ChatDone(turn, result=result))

    @on(ChatDelta)
    def _delta(self, message: ChatDelta) -> None:
        if message.turn != self._turn or self._reply is None:
            return
        self.deltas_handled += 1
        self._reply_text += message.text
        self._reply.update(self._reply_text)
        self._scroll_end()

    @on(ChatTool)
    def _tool(self, message: ChatTool) -> None:
        if message.turn != self._turn:
            return
        if self._reply is not None and not self._reply_text:
            self._reply.remove()  # the call was tools only: no empty "…" line left behind
        self._line("tool", tool_line(message.summary), "chat--tool")
        # The reply that follows the tool goes below the tool line, not into the line above it.
        self._reply_text = ""
        self._reply = self._line(None, "…", "chat--assistant")

    @on(ChatDone)
    def _done(self, message: ChatDone) -> None:
        if message.turn != self._turn:
            return
        self._busy = False
        self._set_turn_running(False)
        result, error = message.result, message.error
        if result is not None:
            reply = result.reply or self._reply_text
            if self._reply is not None:
                self._reply.update(reply)
            self.transcript.append(("assistant", reply))
            self._line("meta", summary_line(result), "chat--meta")
        else:
            if self._reply is not None:
                partial = self._reply_text
                self._reply.update(partial + " [interrupted]" if partial else "(no reply)")
                self.transcript.append(("assistant", partial))
            self._line("error", error_line(error), "chat--error")
            record = failed_record(error)
            if record is not None:
                self._line("meta", attempts_summary(record), "chat--meta")
        self._reply = None

    # -- log --------------------------------------------------------------------------------

    def _line(self, role: str | None, text: str, css: str) -> Static:
        log = self.query_one("#chat-log", VerticalScroll)
        line = Static(text, classes=css, markup=False)
        log.mount(line)
        if role is not None:
            self.transcript.append((role, text))
        extra = len(log.children) - MAX_MESSAGES
        if extra > 0:
            for child in list(log.children)[:extra]:
                child.remove()
        self._scroll_end()
        return line

    def _scroll_end(self) -> None:
        self.query_one("#chat-log", VerticalScroll).scroll_end(animate=False, immediate=False)
