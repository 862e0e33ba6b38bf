"""One model call: request → configured model (streamed, retried, failed over) → reply parts.

This is the *only* place a chat or agent request meets the providers. The agent loop
(:mod:`core.agent.loop`) calls it once per model call of a turn (the first one and every
tool-loop continuation), so retries, send safety, failover and cooldowns are identical for the
dashboard, ``clawtop send`` and any later caller.

Safety (retry spec §16.3): "a model request counts as idempotent until the first output byte has
been delivered onward; after that the turn is not replayable". So the call runs with
``idempotent=True`` and the provider marks every failure that follows delivered output
(``after_first_token``): the engine never replays those, while a 5xx or 529 before any output is
retried like any transient error. Model choice: an explicit ``model_ref`` is strict (spec §10.4);
otherwise ``agents.defaults.model.primary`` then its ``fallbacks``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.chat.result import TurnFailed
from core.providers.types import (
    ChatMessage, ModelRequest, StreamEnd, TextDelta, ToolCall, ToolSpec, Usage, UsageUpdate,
)
from core.retry import AttemptContext, FallbackChain, FallbackExhausted, RetryFailed, RetryPolicy
from core.retry.records import OperationRecord

if TYPE_CHECKING:
    from core.gateway import Gateway

__all__ = ["DEFAULT_MAX_TOKENS", "OPERATION", "ModelCall", "call_model", "model_refs"]

OPERATION = "chat.send"
"""Operation label of every chat model call (retry events, the Retries pane)."""

DEFAULT_MAX_TOKENS = 1024
"""Output cap for models without a config entry (the simulator's, or an unlisted id)."""

OnDelta = Callable[[str], None]


@dataclasses.dataclass(slots=True)
class ModelCall:
    """What one successful model call produced. ``records`` holds every retry operation of the
    call (failed fallback candidates first) with ``models`` their refs; ``first_token_at`` is the
    clock reading of the first delivered text (None when the reply was tool calls only)."""

    ref: str
    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    stop_reason: str | None
    record: OperationRecord
    records: list[OperationRecord]
    models: list[str]
    first_token_at: float | None


class _Attempt:
    """What one streamed attempt produced; reset at the start of every attempt."""

    __slots__ = ("parts", "calls", "usage", "end")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage = Usage()
        self.end: StreamEnd | None = None


def model_refs(config: Any, model_ref: str | None) -> list[str]:
    """The candidates in order: the explicit ref alone, else primary then fallbacks."""
    if model_ref:
        return [model_ref]
    return [config.agents.defaults.model.primary, *config.agents.defaults.model.fallbacks]


async def call_model(
    gateway: Gateway,
    messages: Sequence[ChatMessage],
    *,
    refs: list[str],
    op_id: str,
    clock: Callable[[], float],
    system: str | None = None,
    tools: Sequence[ToolSpec] = (),
    on_delta: OnDelta | None = None,
    max_tokens: int | None = None,
) -> ModelCall:
    """Do one model call. Raises :class:`TurnFailed` (classified, with every attempt's record)
    when no candidate answered; ``asyncio.CancelledError`` passes through untouched."""
    config = gateway.config
    if gateway.providers is None or gateway.retry is None:
        raise RuntimeError("the gateway is not running: start it before sending")
    publish = gateway.bus.publish
    records: list[tuple[str, OperationRecord]] = []
    delivered: list[str] = []
    first_token: list[float] = []

    def deliver(piece: str) -> None:
        if not first_token:
            first_token.append(clock())
        delivered.append(piece)
        if on_delta is not None:
            on_delta(piece)

    async def call_for_model(ref: str) -> tuple[str, _Attempt, OperationRecord]:
        assert gateway.providers is not None and gateway.retry is not None
        client, model_id, entry = gateway.providers.resolve(ref)
        provider = ref.partition("/")[0]
        policy = RetryPolicy.from_config(config, provider=provider)
        request = ModelRequest(model=model_id, messages=tuple(messages), system=system, tools=tuple(tools),
                               max_tokens=max_tokens or (entry.max_tokens if entry is not None else DEFAULT_MAX_TOKENS))
        this_op = op_id if not records else f"{op_id}.{len(records)}"
        slot = len(records)
        records.append((ref, OperationRecord(op_id=this_op, operation=OPERATION, provider=provider)))

        async def attempt(ctx: AttemptContext) -> _Attempt:
            state = _Attempt()
            async for event in client.stream(request, deadline=ctx.deadline_mono):
                if isinstance(event, TextDelta):
                    if event.text:
                        deliver(event.text)
                        state.parts.append(event.text)
                elif isinstance(event, ToolCall):
                    state.calls.append(event)
                elif isinstance(event, UsageUpdate):
                    state.usage = event.usage
                elif isinstance(event, StreamEnd):
                    state.end = event
            return state

        try:
            outcome = await gateway.retry.run_outcome(
                attempt, policy=policy, operation=OPERATION, provider=provider, model=ref,
                idempotent=True, op_id=this_op)
        except RetryFailed as exc:
            records[slot] = (ref, exc.record)
            raise
        records[slot] = (ref, outcome.record)
        return ref, outcome.value, outcome.record

    chain = FallbackChain(refs, publish=publish, cooldowns=gateway.cooldowns)
    try:
        ref, state, record = await chain.run(call_for_model, op_id=op_id)
    except (RetryFailed, FallbackExhausted) as exc:
        raise _failure(exc, records, delivered, refs) from exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a provider that cannot be built, a bad ref: still classified
        raise TurnFailed(f"{type(exc).__name__}: {exc}", error_class="unknown", model=refs[0],
                         records=[r for _, r in records], models=[m for m, _ in records],
                         partial_reply="".join(delivered)) from exc
    end = state.end
    return ModelCall(
        ref=ref, text="".join(state.parts), tool_calls=state.calls,
        usage=end.usage if end is not None else state.usage,
        stop_reason=end.stop_reason if end is not None else None,
        record=record, records=[r for _, r in records], models=[m for m, _ in records],
        first_token_at=first_token[0] if first_token else None,
    )


def _failure(exc: RetryFailed | FallbackExhausted, records: list[tuple[str, OperationRecord]],
             delivered: list[str], refs: list[str]) -> TurnFailed:
    """The classified turn error: the engine's message (it already says what and why)."""
    model = records[-1][0] if records else refs[0]
    ops, models = [r for _, r in records], [m for m, _ in records]
    partial = "".join(delivered)
    if isinstance(exc, RetryFailed):
        cls = exc.error_class.value if exc.error_class is not None else "unknown"
        return TurnFailed(exc.message, error_class=cls, status=exc.status, reason=exc.decision_reason,
                          model=model, records=ops, models=models, partial_reply=partial)
    last: Any = exc.failures[-1] if exc.failures else None
    cls = last.error_class if last is not None else "cooldown"
    status = last.status if last is not None else None
    reason = "all_candidates_failed" if last is not None else "all_candidates_cooling_down"
    return TurnFailed(str(exc), error_class=cls, status=status, reason=reason, model=model, records=ops,
                      models=models, partial_reply=partial)
