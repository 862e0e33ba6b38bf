"""Chat pane: one turn at a time through the gateway's chat service, the reply streaming in.

The turn runs as a worker; it talks to the UI only by posting messages. Deltas are posted as
:class:`ChatDelta` messages that fold into each other while the UI is busy (``can_replace``),
so a fast model costs one repaint per frame, not one per token. The input is enabled only while
the gateway is running: before that there is no provider to answer, and the pane never fakes
a reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from tui.panes.base import Pane
from tui.widgets.retry_timeline import human_ms

if TYPE_CHECKING:
    from core.events import Event

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

    def __init__(self, turn: int, result: Any = None, error: BaseException | None = None) -> None:
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

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._turn = 0
        self._busy = False
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
        state = getattr(getattr(self.app, "gateway", None), "state", None)
        self._set_ready(getattr(state, "value", state) == "running")

    def apply_events(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.kind == "gateway.started":
                self._set_ready(True)
            elif event.kind == "gateway.stopped":
                self._set_ready(False)

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
        chat = getattr(self.app.gateway, "chat", None)
        try:
            if chat is None:
                raise RuntimeError("the gateway has no chat service")
            if name == "/context":
                text = await chat.context(arg or "list")
            elif name == "/new":
                text = f"New session {await chat.reset()}"
            else:
                result = await chat.compact(arg or None)
                text = compaction_line(result)
        except Exception as exc:
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
        self._line("user", f"you › {text}", "chat--user")
        self._reply_text = ""
        self._reply = self._line(None, "…", "chat--assistant")
        self._run_turn(self._turn, text)

    @work(group="chat", exit_on_error=False)
    async def _run_turn(self, turn: int, text: str) -> None:
        chat = getattr(self.app.gateway, "chat", None)
        if chat is None:
            self.post_message(ChatDone(turn, error=RuntimeError("the gateway has no chat service")))
            return
        try:
            result = await chat.send(text, on_delta=lambda delta: self.post_message(ChatDelta(turn, delta)),
                                     on_tool=lambda summary: self.post_message(ChatTool(turn, summary)))
        except Exception as exc:  # classified turn errors and anything unexpected alike
            self.post_message(ChatDone(turn, error=exc))
            return
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
        result, error = message.result, message.error
        if result is not None:
            reply = str(getattr(result, "reply", "") or self._reply_text)
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
            record = getattr(error, "record", None)
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


def attempts_summary(record: Any) -> str:
    """``2 attempts: 429 RATE_LIMITED → ok`` from an operation record."""
    attempts = list(getattr(record, "attempts", ()) or ())
    labels = []
    for a in attempts:
        cls = getattr(a, "error_class", None)
        if cls is None:
            labels.append("ok")
        else:
            name = str(getattr(cls, "value", None) or cls)
            status = getattr(a, "status", None)
            labels.append(f"{status} {name}" if status else name)
    noun = "attempt" if len(attempts) == 1 else "attempts"
    return f"{len(attempts)} {noun}: " + " → ".join(labels) if labels else "no attempt made"


def summary_line(result: Any) -> str:
    """Model, tokens, TTFT, total time and attempts, in one line under the reply."""
    usage = getattr(result, "usage", None)
    tokens = ""
    if usage is not None:
        tokens = f" · in {getattr(usage, 'input_tokens', 0):,} / out {getattr(usage, 'output_tokens', 0):,} tok"
    ttft = getattr(result, "ttft_ms", None)
    latency = getattr(result, "latency_ms", None)
    parts = [
        str(getattr(result, "model", "?")),
        tokens.lstrip(" ·") if tokens else None,
        f"ttft {human_ms(ttft)}" if ttft is not None else None,
        f"total {human_ms(latency)}" if latency is not None else None,
    ]
    record = getattr(result, "record", None)
    if record is not None:
        parts.append(attempts_summary(record))
    return " · ".join(p for p in parts if p)


def tool_line(summary: dict[str, Any]) -> str:
    """``⚙ read path=big.txt · 6,500 chars`` (``✗`` when the tool failed or was refused)."""
    args = " ".join(f"{k}={v}" for k, v in (summary.get("input") or {}).items() if k != "content")
    mark = "✗" if summary.get("isError") else "⚙"
    return f"{mark} {summary.get('name')} {args} · {summary.get('chars', 0):,} chars".replace("  ", " ")


def compaction_line(result: Any) -> str:
    """What ``/compact`` did: the entry written, or why it was not."""
    if getattr(result, "ok", False):
        after = getattr(result, "tokens_after", None)
        return (f"Compacted: ~{result.tokens_before:,} → ~{after:,} tokens" if after is not None
                else f"Compacted ({result.tokens_before:,} tokens before)")
    return f"Not compacted: {getattr(result, 'aborted', '?')} — {getattr(result.event, 'detail', '')}"


def error_line(error: BaseException | None) -> str:
    """``✗ RATE_LIMITED: …``: the classified error, never a traceback."""
    if error is None:
        return "✗ the turn failed"
    cls = getattr(error, "error_class", None)
    name = str(getattr(cls, "value", None) or cls) if cls is not None else type(error).__name__
    return f"✗ {name}: {error}"
