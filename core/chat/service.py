"""Chat turns for the dashboard and ``clawtop send``: a thin façade over the agent runner.

Why a façade and not a second implementation: a chat message *is* an agent turn (tools, prune
hook, transcript, compaction check). :class:`ChatService` only adds what a chat front end wants —
a current session key, ``/new`` and a plain ``history`` view — and forwards the turn to
:class:`core.agent.loop.AgentRunner`, which calls the model through
:func:`core.chat.model_call.call_model` (the one model-call path: retries, send safety,
failover).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.chat.model_call import DEFAULT_MAX_TOKENS, OPERATION
from core.chat.result import TurnResult
from core.providers.types import ChatMessage

if TYPE_CHECKING:
    from core.gateway import Gateway

__all__ = ["ChatService", "DEFAULT_MAX_TOKENS", "OPERATION"]

OnDelta = Callable[[str], None]


class ChatService:
    """The chat front ends' view of the agent: one current session (``session_key``)."""

    def __init__(self, gateway: Gateway, *, session_key: str = "main") -> None:
        self.gateway = gateway
        self.session_key = session_key

    @property
    def history(self) -> list[ChatMessage]:
        """User and assistant text of the current session's context (tool traffic omitted)."""
        session = self.gateway.agent.hooks.cached_session(self.session_key)
        if session is None:
            return []
        out = []
        for message in session.messages():
            if message.role in ("user", "assistant") and (text := message.text()):
                out.append(ChatMessage(role=message.role, content=text))  # type: ignore[arg-type]
        return out

    async def reset(self) -> str:
        """Start a new session under the current key (``/new``); returns its id."""
        return await self.gateway.agent.hooks.new_session(self.session_key)

    async def compact(self, instructions: str | None = None) -> Any:
        """``/compact``: force a compaction of the current session."""
        return await self.gateway.agent.compact(self.session_key, instructions)

    async def context(self, mode: str | None = "list") -> str:
        """``/context [list|detail|json]`` of the current session, as text."""
        return await self.gateway.agent.context_text(self.session_key, mode)

    async def send(self, text: str, *, model_ref: str | None = None, on_delta: OnDelta | None = None,
                   system: str | None = None, session_key: str | None = None,
                   on_tool: Callable[[dict[str, Any]], None] | None = None) -> TurnResult:
        """Do one agent turn. Returns the final reply; raises
        :class:`~core.chat.result.TurnFailed` (classified, with every attempt's record) when no
        model answered. ``on_delta`` receives reply text as it streams."""
        return await self.gateway.agent.run_turn(
            text, session_key=session_key or self.session_key, model_ref=model_ref, on_delta=on_delta,
            on_tool=on_tool, system=system)
