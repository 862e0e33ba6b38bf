"""Chat turns for the dashboard and ``clawtop send``: a thin façade over the agent runner.

Why a façade and not a second implementation: a chat message *is* an agent turn (tools, prune
hook, transcript, compaction check). :class:`ChatService` only adds what a chat front end wants —
a current session key, ``/new`` and a plain ``history`` view — and forwards the turn to the agent
(:class:`core.agent.loop.AgentRunner`), which calls the model through
:func:`core.providers.call.call_model` (the one model-call path: retries, send safety, failover).

Why the agent is seen through :class:`TurnRunner`: the agent loop publishes the chat events and
returns the chat result types defined in this package, so this package sits below the agent;
the protocol names the five calls the façade forwards, and the gateway hands it the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from core.chat.result import TurnResult
from core.compaction import CompactionResult
from core.providers.call import DEFAULT_MAX_TOKENS, OPERATION
from core.providers.types import ChatMessage
from core.sessions.model import Session

__all__ = ["DEFAULT_MAX_TOKENS", "OPERATION", "ChatService", "TurnRunner"]

OnDelta = Callable[[str], None]
OnTool = Callable[[dict[str, Any]], None]

_SHOWN_ROLES: dict[str, Literal["user", "assistant"]] = {"user": "user", "assistant": "assistant"}
"""Transcript roles the history shows (tool results and custom entries are not chat text)."""


class TurnRunner(Protocol):
    """The agent calls a chat front end needs (implemented by ``AgentRunner``)."""

    def cached_session(self, key: str) -> Session | None: ...

    async def new_session(self, session_key: str = ...) -> str: ...

    async def compact(self, session_key: str = ..., instructions: str | None = None) -> CompactionResult: ...

    async def context_text(self, session_key: str = ..., mode: str | None = ...) -> str: ...

    async def run_turn(self, text: str, *, session_key: str = ..., model_ref: str | None = None,
                       on_delta: OnDelta | None = None, on_tool: OnTool | None = None,
                       system: str | None = None) -> TurnResult: ...


class ChatService:
    """The chat front ends' view of the agent: one current session (``session_key``)."""

    def __init__(self, agent: TurnRunner, *, session_key: str = "main") -> None:
        self._agent = agent
        self.session_key = session_key

    @property
    def history(self) -> list[ChatMessage]:
        """User and assistant text of the current session's context (tool traffic omitted)."""
        session = self._agent.cached_session(self.session_key)
        if session is None:
            return []
        out = []
        for message in session.messages():
            role = _SHOWN_ROLES.get(message.role)
            if role is not None and (text := message.text()):
                out.append(ChatMessage(role=role, content=text))
        return out

    async def reset(self) -> str:
        """Start a new session under the current key (``/new``); returns its id."""
        return await self._agent.new_session(self.session_key)

    async def compact(self, instructions: str | None = None) -> CompactionResult:
        """``/compact``: force a compaction of the current session."""
        return await self._agent.compact(self.session_key, instructions)

    async def context(self, mode: str | None = "list") -> str:
        """``/context [list|detail|json]`` of the current session, as text."""
        return await self._agent.context_text(self.session_key, mode)

    async def send(self, text: str, *, model_ref: str | None = None, on_delta: OnDelta | None = None,
                   system: str | None = None, session_key: str | None = None,
                   on_tool: OnTool | None = None) -> TurnResult:
        """Do one agent turn. Returns the final reply; raises
        :class:`~core.chat.result.TurnFailed` (classified, with every attempt's record) when no
        model answered. ``on_delta`` receives reply text as it streams."""
        return await self._agent.run_turn(
            text, session_key=session_key or self.session_key, model_ref=model_ref, on_delta=on_delta,
            on_tool=on_tool, system=system)
