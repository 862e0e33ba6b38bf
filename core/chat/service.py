"""One chat turn: user text → configured model (streamed, retried, failed over) → reply.

Why a service of its own: the dashboard's Chat pane and ``clawtop send`` must do exactly the same
turn — same model choice, same retry safety, same events — so neither re-implements it.

Safety (retry spec §16.3): "a model request counts as idempotent until the first output byte has
been delivered onward; after that the turn is not replayable". So the call runs with
``idempotent=True`` and the provider marks every failure that follows delivered output
(``after_first_token``): the engine never replays those (a reset or broken stream mid-reply is
reported, not repeated), while a 5xx or 529 before any output is retried like any transient error.
Model choice: ``model_ref`` (``clawtop send --model``) is a strict selection with no fallback
(spec §10.4: explicit user selections are strict); otherwise ``agents.defaults.model.primary``
then its ``fallbacks``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.chat.events import ChatTurnFinished, ChatTurnStarted
from core.chat.result import TurnFailed, TurnResult
from core.providers.types import ChatMessage, ModelRequest, StreamEnd, TextDelta, Usage, UsageUpdate
from core.retry import AttemptContext, FallbackChain, FallbackExhausted, RetryFailed, RetryPolicy
from core.retry.records import OperationRecord

if TYPE_CHECKING:
    from core.gateway import Gateway

__all__ = ["ChatService", "DEFAULT_MAX_TOKENS", "OPERATION"]

OPERATION = "chat.send"
"""Operation label of every chat model call (retry events, the Retries pane)."""

DEFAULT_MAX_TOKENS = 1024
"""Output cap for models without a config entry (the simulator's, or an unlisted id)."""

MAX_HISTORY = 200
"""Messages kept for the dashboard's in-memory conversation; older ones are dropped."""

OnDelta = Callable[[str], None]


class _Attempt:
    """What one streamed attempt produced; reset at the start of every attempt."""

    __slots__ = ("parts", "usage", "end", "first_token_at")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage = Usage()
        self.end: StreamEnd | None = None
        self.first_token_at: float | None = None


class ChatService:
    """Runs turns through ``gateway.providers`` with ``gateway.retry`` and ``gateway.cooldowns``.

    Keeps the conversation in memory (``history``) so the dashboard's chat has context; sessions
    and transcripts are a later capability. Turns are serialised: a conversation has one order.
    """

    def __init__(self, gateway: Gateway, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.gateway = gateway
        self.history: list[ChatMessage] = []
        self._clock = clock
        self._lock = asyncio.Lock()

    def reset(self) -> None:
        """Forget the conversation."""
        self.history.clear()

    async def send(self, text: str, *, model_ref: str | None = None, on_delta: OnDelta | None = None,
                   system: str | None = None) -> TurnResult:
        """Do one turn. Returns the reply; raises :class:`TurnFailed` (classified, with every
        attempt's record) when no model answered. ``on_delta`` receives reply text as it streams."""
        async with self._lock:
            task = asyncio.current_task()
            turns = self.gateway.inflight
            if task is not None:
                turns.add(task)
            try:
                return await self._turn(text, model_ref=model_ref, on_delta=on_delta, system=system)
            finally:
                if task is not None:
                    turns.discard(task)

    async def _turn(self, text: str, *, model_ref: str | None, on_delta: OnDelta | None,
                    system: str | None) -> TurnResult:
        gateway = self.gateway
        config = gateway.config
        if gateway.providers is None or gateway.retry is None:
            raise RuntimeError("the gateway is not running: start it before sending")
        refs = [model_ref] if model_ref else [config.agents.defaults.model.primary,
                                              *config.agents.defaults.model.fallbacks]
        turn_id = uuid.uuid4().hex[:12]
        messages = (*self.history, ChatMessage(role="user", content=text))
        publish = gateway.bus.publish
        publish(ChatTurnStarted(turn_id=turn_id, model=refs[0], history_messages=len(self.history), chars=len(text)))
        started = self._clock()
        records: list[tuple[str, OperationRecord]] = []
        delivered: list[str] = []
        first_token: list[float] = []

        def deliver(piece: str) -> None:
            if not first_token:
                first_token.append(self._clock())
            delivered.append(piece)
            if on_delta is not None:
                on_delta(piece)

        async def call_for_model(ref: str) -> tuple[str, _Attempt, OperationRecord]:
            client, model_id, entry = gateway.providers.resolve(ref)
            provider = ref.partition("/")[0]
            policy = RetryPolicy.from_config(config, provider=provider)
            request = ModelRequest(model=model_id, messages=messages, system=system,
                                   max_tokens=entry.max_tokens if entry is not None else DEFAULT_MAX_TOKENS)
            op_id = turn_id if not records else f"{turn_id}.{len(records)}"
            slot = len(records)
            records.append((ref, OperationRecord(op_id=op_id, operation=OPERATION, provider=provider)))

            async def attempt(ctx: AttemptContext) -> _Attempt:
                state = _Attempt()
                async for event in client.stream(request, deadline=ctx.deadline_mono):
                    if isinstance(event, TextDelta):
                        if event.text:
                            deliver(event.text)
                            state.parts.append(event.text)
                    elif isinstance(event, UsageUpdate):
                        state.usage = event.usage
                    elif isinstance(event, StreamEnd):
                        state.end = event
                return state

            try:
                outcome = await gateway.retry.run_outcome(
                    attempt, policy=policy, operation=OPERATION, provider=provider, model=ref,
                    idempotent=True, op_id=op_id)
            except RetryFailed as exc:
                records[slot] = (ref, exc.record)
                raise
            records[slot] = (ref, outcome.record)
            return ref, outcome.value, outcome.record

        chain = FallbackChain(refs, publish=publish, cooldowns=gateway.cooldowns)
        try:
            ref, state, record = await chain.run(call_for_model, op_id=turn_id)
        except (RetryFailed, FallbackExhausted) as exc:
            failure = _failure(exc, records, delivered, refs)
            self._finished(turn_id, failure.model, "fail", records, started, first_token, failure=failure)
            raise failure from exc
        except asyncio.CancelledError:
            self._finished(turn_id, records[-1][0] if records else refs[0], "cancelled", records, started,
                           first_token)
            raise
        except Exception as exc:  # a provider that cannot be built, a bad ref: still classified
            failure = TurnFailed(f"{type(exc).__name__}: {exc}", error_class="unknown", model=refs[0],
                                 records=[r for _, r in records], models=[m for m, _ in records],
                                 partial_reply="".join(delivered))
            self._finished(turn_id, refs[0], "fail", records, started, first_token, failure=failure)
            raise failure from exc
        reply = "".join(state.parts)
        end = state.end
        usage = end.usage if end is not None else state.usage
        result = TurnResult(
            reply=reply, usage=usage, model=ref, stop_reason=end.stop_reason if end is not None else None,
            ttft_ms=_ms(first_token[0] - started) if first_token else None,
            latency_ms=_ms(self._clock() - started), record=record, records=[r for _, r in records],
            models=[m for m, _ in records], turn_id=turn_id,
        )
        self.history.extend((ChatMessage(role="user", content=text), ChatMessage(role="assistant", content=reply)))
        del self.history[:-MAX_HISTORY]
        self._finished(turn_id, ref, "ok", records, started, first_token, result=result)
        return result

    def _finished(self, turn_id: str, model: str, outcome: str, records: list[tuple[str, OperationRecord]],
                  started: float, first_token: list[float], *, result: TurnResult | None = None,
                  failure: TurnFailed | None = None) -> None:
        usage = result.usage if result is not None else Usage()
        self.gateway.bus.publish(ChatTurnFinished(
            turn_id=turn_id, model=model, outcome=outcome,
            op_id=records[-1][1].op_id if records else None,
            attempts=sum(len(r.attempts) for _, r in records),
            stop_reason=result.stop_reason if result is not None else None,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens, cache_write_tokens=usage.cache_write_tokens,
            ttft_ms=_ms(first_token[0] - started) if first_token else None,
            latency_ms=_ms(self._clock() - started),
            error_class=failure.error_class if failure is not None else None,
            error=failure.message if failure is not None else "",
        ))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _failure(exc: RetryFailed | FallbackExhausted, records: list[tuple[str, OperationRecord]],
             delivered: list[str], refs: list[str]) -> TurnFailed:
    """The classified turn error: the engine's message (it already says what and why)."""
    model = records[-1][0] if records else refs[0]
    ops, models = [r for _, r in records], [m for m, _ in records]
    partial = "".join(delivered)
    if isinstance(exc, RetryFailed):
        cls = exc.error_class.value if exc.error_class is not None else "unknown"
        return TurnFailed(exc.message, error_class=cls, status=exc.status, reason=exc.decision_reason,
                          model=model, records=ops, models=models,
                          partial_reply=partial)
    last: Any = exc.failures[-1] if exc.failures else None
    cls = last.error_class if last is not None else "cooldown"
    status = last.status if last is not None else None
    reason = "all_candidates_failed" if last is not None else "all_candidates_cooling_down"
    return TurnFailed(str(exc), error_class=cls, status=status, reason=reason, model=model, records=ops,
                      models=models, partial_reply=partial)
