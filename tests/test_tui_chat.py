"""Chat pane: Enter sends through the real gateway to its own simulator; the reply streams in
(coalesced deltas), then a summary line; a failed turn shows its classified error."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from textual.message import Message
from textual.widgets import Input

from tests import tui_support
from tests.tui_support import gateway_with_config as make_gateway
from tui.app import ClawtopApp
from tui.panes import ChatPane
from tui.panes.chat import ChatDelta
from tui.screens.help import KeysScreen

SIZE = (120, 40)
FAST = "models: { fast: { ttftMs: 5, tokensPerSec: 2000, replyTokens: 60 } }"


# Shared poller, with this file's patience (a real gateway turn takes a while on slow CI).
wait_until = partial(tui_support.wait_until, timeout=10.0, step=0.02)


async def test_input_is_disabled_until_the_gateway_runs(tmp_path: Path) -> None:
    app = ClawtopApp(make_gateway(tmp_path, f"{{ simulator: {{ {FAST} }} }}"), start_gateway=False)
    async with app.run_test(size=SIZE):
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        assert chat_input.disabled and "not available yet" in chat_input.placeholder
        assert pane.query_one(".pane--waiting").display


async def test_enter_streams_the_reply_and_summarises_the_turn(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, f"{{ simulator: {{ {FAST} }} }}")
    messages: list[Message] = []
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        await wait_until(pilot, lambda: not chat_input.disabled)
        assert not pane.query_one(".pane--waiting").display
        await pilot.press("6")
        assert app.focused is chat_input
        await pilot.press(*"hello", "enter")
        await wait_until(pilot, lambda: any(role == "meta" for role, _ in pane.transcript))
        roles = [role for role, _ in pane.transcript]
        assert roles == ["user", "assistant", "meta"]
        reply = pane.transcript[1][1]
        assert len(reply.split()) > 5
        meta = pane.transcript[2][1]
        assert meta.startswith("sim/fast") and "out 60 tok" in meta and "1 attempt: ok" in meta
        assert "ttft" in meta
        # Streamed deltas built the whole reply: what the pane shows is what the model sent.
        assert pane.deltas_handled >= 1 and pane.streamed_text == reply
        assert any(isinstance(m, ChatDelta) for m in messages)
        # The conversation is kept for the next turn.
        assert [m.role for m in gateway.chat.history] == ["user", "assistant"]
        assert gateway.chat.history[1].content == reply


async def test_a_failed_turn_shows_the_classified_error(tmp_path: Path) -> None:
    # Four 500s before any output: retried (a model call is replayable until output is
    # delivered) until the attempts run out, fast delays so the test stays quick.
    gateway = make_gateway(
        tmp_path,
        f'{{ simulator: {{ {FAST}, faults: {{ script: "500,500,500,500" }} }},'
        ' retry: { provider: { attempts: 4, minDelayMs: 10, maxDelayMs: 20 } } }',
    )
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        await wait_until(pilot, lambda: not chat_input.disabled)
        pane.send("hi")
        await wait_until(pilot, lambda: any(role == "error" for role, _ in pane.transcript))
        error = next(text for role, text in pane.transcript if role == "error")
        assert error.startswith("✗ server:") and "HTTP 500" in error, error
        assert "all 4 attempts used" in error
        assert not pane.busy
        assert gateway.chat.history == []


async def test_a_turn_cancelled_by_the_gateway_ends_and_frees_the_input(tmp_path: Path) -> None:
    slow = "models: { fast: { ttftMs: 5, tokensPerSec: 20, replyTokens: 400 } }"
    gateway = make_gateway(tmp_path, f"{{ simulator: {{ {slow} }} }}")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        await wait_until(pilot, lambda: not pane.query_one(Input).disabled)
        pane.send("tell me a long story")
        await wait_until(pilot, lambda: pane.streamed_text != "")
        assert pane.busy and gateway.cancel_turn() == 1
        await wait_until(pilot, lambda: not pane.busy)
        roles = [role for role, _ in pane.transcript]
        assert roles[-2:] == ["assistant", "error"]
        assert pane.transcript[-2][1] == pane.streamed_text != ""  # the partial reply is kept
        assert pane.transcript[-1][1].startswith("✗ CancelledError")


def _footer_descriptions(app: ClawtopApp) -> list[str]:
    """What the footer offers right now: the descriptions of the shown, enabled bindings."""
    return [
        active.binding.description
        for active in app.screen.active_bindings.values()
        if active.binding.show and active.enabled
    ]


async def test_escape_leaves_the_chat_input_so_dashboard_keys_work_again(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, f"{{ simulator: {{ {FAST} }} }}")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        await wait_until(pilot, lambda: not chat_input.disabled)
        chat_input.focus()
        await pilot.pause()
        assert "Leave input" in _footer_descriptions(app)  # the footer says how to get out
        await pilot.press("p")
        assert chat_input.value == "p" and not app.paused  # typing, not a dashboard key
        await pilot.press("escape")
        assert app.focused is not chat_input and app.focused_pane() is pane
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        rows = {row.binding_id for row in app.key_rows()}
        assert {"chat-leave", "chat-cancel"} <= rows  # `?` lists the chat's escape keys


async def test_escape_cancels_a_running_turn_and_the_chat_takes_the_next_message(tmp_path: Path) -> None:
    slow = "models: { fast: { ttftMs: 5, tokensPerSec: 20, replyTokens: 400 } }"
    gateway = make_gateway(tmp_path, f"{{ simulator: {{ {slow} }} }}")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        await wait_until(pilot, lambda: not chat_input.disabled)
        chat_input.focus()
        await pilot.press(*"story", "enter")
        await wait_until(pilot, lambda: pane.streamed_text != "")
        assert pane.busy and "Cancel turn" in _footer_descriptions(app)
        assert "Leave input" not in _footer_descriptions(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not pane.busy)
        assert app.focused is chat_input  # the first escape cancels; it does not leave
        assert pane.transcript[-1][1].startswith("✗ CancelledError")
        await pilot.press(*"again", "enter")
        await wait_until(pilot, lambda: pane.busy)
        assert ("user", "you › again") in pane.transcript
        await pilot.press("escape")
        await wait_until(pilot, lambda: not pane.busy)


async def test_context_list_names_only_commands_the_chat_knows(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path, f"{{ simulator: {{ {FAST} }} }}")
    app = ClawtopApp(gateway)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.dashboard.query_one(ChatPane)
        chat_input = pane.query_one(Input)
        await wait_until(pilot, lambda: not chat_input.disabled)
        chat_input.focus()
        await pilot.press(*"/context list", "enter")
        await wait_until(pilot, lambda: not pane.busy and pane.transcript[-1][0] == "meta")
        text = pane.transcript[-1][1]
        assert text.startswith("🧠 Context breakdown")
        # A command token: a slash word at a word start, not a path segment.
        mentioned = set(re.findall(r"(?:^|[\s“\"(])(/[a-z]+)\b(?![/.])", text, flags=re.MULTILINE))
        assert mentioned and mentioned <= {"/context", "/compact", "/new"}, mentioned
        await pilot.press(*"/status", "enter")  # the chat itself says no such command exists
        assert pane.transcript[-1][1].startswith("✗ unknown command /status")
