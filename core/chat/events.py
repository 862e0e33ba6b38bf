"""Event kinds of a chat turn: one when it starts, one when it ends.

Deltas are deliberately *not* events: a reply of 1,000 tokens would be 1,000 rows in the store
and 1,000 lines in the Events pane. Streaming text goes to the caller's ``on_delta`` callback
instead; the store keeps one summary per turn. No event carries message text (docs/design/retry.md#retry-events).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.events.base import Event, register_kind

__all__ = ["ChatTurnFinished", "ChatTurnStarted", "TurnOutcome"]

TurnOutcome = Literal["ok", "fail", "cancelled"]


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatTurnStarted(Event):
    """A user message went to the gateway; ``model`` is the ref asked for first."""

    kind = "chat.turn_started"
    turn_id: str
    model: str
    history_messages: int
    chars: int


@register_kind
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatTurnFinished(Event):
    """A turn ended. ``outcome`` is ``ok``, ``fail`` or ``cancelled``; ``model`` the ref that
    answered (or the last one tried); ``op_id`` the retry operation that answered (or failed
    last), so the Retries pane row and this summary can be joined. Times are ms from the turn's
    start: ``ttft_ms`` to the first reply token, ``latency_ms`` to the end."""

    kind = "chat.turn_finished"
    turn_id: str
    model: str
    outcome: TurnOutcome
    op_id: str | None = None
    attempts: int = 0
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    error_class: str | None = None
    error: str = ""
