"""Chat pane: talking to the assistant (arrives with the providers capability).

The input is present but disabled so the layout is final and nobody mistakes the pane for a
working chat: there is no provider to answer yet, and the pane never fakes a reply.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from tui.panes.base import Pane


class ChatPane(Pane):
    PANE_TITLE = "Chat"
    HELP_LINE = "Talk to the assistant."
    WAITING = "Waiting for the providers capability: chat is not available yet."
    HELP = """\
## Chat

Send a message to the assistant and watch the reply stream, with the same keys as
`openclaw tui` where they do not collide with dashboard keys.

Chat arrives with the providers capability; until then the input is disabled.
"""

    DEFAULT_CSS = """
    ChatPane > Input {
        dock: bottom;
    }
    """

    def compose_body(self) -> ComposeResult:
        chat_input = Input(
            placeholder="Chat is not available yet",
            disabled=True,
            id="chat-input",
        )
        chat_input.cursor_blink = False
        yield chat_input
