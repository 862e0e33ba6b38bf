"""The one model-call path: resolve → request → policy → stream → outcome.

Every request clawtop sends to a model goes through these steps: a chat or agent turn, a
compaction summary, the memory-flush turn (all via :func:`call_model`) and a bench run (which
uses the single-candidate steps directly, with its own retry override and deadline). Keeping
them in one module is what makes "the bench measures what users get" and "retries, send safety
and failover are the same everywhere" true by construction rather than by copy.

Safety (docs/design/retry.md#call-site-safety): "a model request counts as idempotent until the first output byte has
been delivered onward; after that the turn is not replayable". So a call runs with
``idempotent=True`` and the provider marks every failure that follows delivered output
(``after_first_token``): the engine never replays those, while a 5xx or 529 before any output is
retried like any transient error. Model choice: an explicit ``model_ref`` is strict
(docs/design/retry.md#model-fallback-chain); otherwise ``agents.defaults.model.primary`` then its ``fallbacks``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

from core.config.schema.providers import ModelDefinition
from core.config.schema.root import ClawtopConfig
from core.events.base import Event
from core.providers.base import ProviderClient
from core.providers.registry import ProviderRegistry
from core.providers.types import (
    ChatMessage,
    ModelRequest,
    StreamEnd,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
    Usage,
    UsageUpdate,
)
from core.retry import (
    AttemptContext,
    CooldownTracker,
    FallbackChain,
    FallbackExhausted,
    RetryEngine,
    RetryFailed,
    RetryPolicy,
)
from core.retry.records import OperationRecord, Outcome

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "OPERATION",
    "ModelAccess",
    "ModelCall",
    "ModelCallFailed",
    "OnDelta",
    "Streamed",
    "Target",
    "call_model",
    "model_refs",
    "policy_for",
    "request_for",
    "resolve",
    "run_streamed",
    "stream_once",
]

OPERATION = "chat.send"
"""Operation label of every chat model call (retry events, the Retries pane)."""

DEFAULT_MAX_TOKENS = 1024
"""Output cap for models without a config entry (the simulator's, or an unlisted id)."""

OnDelta = Callable[[str], None]
Clock = Callable[[], float]


# -- resolve ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """A model ref resolved to the client that serves it and its config entry (if listed)."""

    ref: str
    provider: str
    model_id: str
    client: ProviderClient
    entry: ModelDefinition | None


def resolve(registry: ProviderRegistry, ref: str) -> Target:
    """``provider/model`` → its client; raises for an unknown provider or a malformed ref."""
    client, model_id, entry = registry.resolve(ref)
    return Target(ref=ref, provider=ref.partition("/")[0], model_id=model_id, client=client, entry=entry)


def model_refs(config: ClawtopConfig, model_ref: str | None) -> list[str]:
    """The candidates in order: the explicit ref alone, else primary then fallbacks."""
    if model_ref:
        return [model_ref]
    return [config.agents.defaults.model.primary, *config.agents.defaults.model.fallbacks]


# -- request and policy -------------------------------------------------------------------------


def request_for(target: Target, messages: Sequence[ChatMessage], *, system: str | None = None,
                tools: Sequence[ToolSpec] = (), max_tokens: int | None = None) -> ModelRequest:
    """The request for ``target``; without an explicit cap, the model entry's ``maxTokens``."""
    cap = max_tokens or (target.entry.max_tokens if target.entry is not None else DEFAULT_MAX_TOKENS)
    return ModelRequest(model=target.model_id, messages=tuple(messages), system=system, tools=tuple(tools),
                        max_tokens=cap)


def policy_for(config: ClawtopConfig, provider: str) -> RetryPolicy:
    """The retry policy in force for ``provider`` (its override merged over the defaults)."""
    return RetryPolicy.from_config(config, provider=provider)


# -- stream -------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Streamed:
    """What one streamed attempt produced. A new one per attempt: a retried attempt starts over.

    ``first_output_at`` is the clock reading of the first output of any kind (text, reasoning or
    a tool call: the bench's time to first token); ``end_at`` the reading at ``StreamEnd``."""

    parts: list[str] = dataclasses.field(default_factory=list)
    calls: list[ToolCall] = dataclasses.field(default_factory=list)
    usage: Usage | None = None
    """The last ``UsageUpdate`` (cumulative), None when the stream sent none."""
    end: StreamEnd | None = None
    first_output_at: float | None = None
    end_at: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def final_usage(self) -> Usage:
        """The ``StreamEnd`` usage, else the last update, else zeros."""
        if self.end is not None:
            return self.end.usage
        return self.usage if self.usage is not None else Usage()


async def stream_once(client: ProviderClient, request: ModelRequest, *, deadline: float | None, clock: Clock,
                      on_text: OnDelta | None = None) -> Streamed:
    """Stream one attempt to its end; ``on_text`` sees each non-empty text piece as it arrives."""
    out = Streamed()
    async for event in client.stream(request, deadline=deadline):
        if out.first_output_at is None and isinstance(event, (TextDelta, ThinkingDelta, ToolCall)):
            out.first_output_at = clock()
        if isinstance(event, TextDelta):
            if event.text:
                if on_text is not None:
                    on_text(event.text)
                out.parts.append(event.text)
        elif isinstance(event, ToolCall):
            out.calls.append(event)
        elif isinstance(event, UsageUpdate):
            out.usage = event.usage
        elif isinstance(event, StreamEnd):
            out.end = event
            out.end_at = clock()
    return out


# -- outcome ------------------------------------------------------------------------------------


async def run_streamed(retry: RetryEngine, target: Target, request: ModelRequest, *, policy: RetryPolicy,
                       operation: str, op_id: str, clock: Clock, on_text: OnDelta | None = None,
                       deadline_ms: int | None = None) -> Outcome[Streamed]:
    """One candidate under the retry engine (idempotent until output was delivered, see the module
    docstring). Raises :class:`~core.retry.RetryFailed` (with its record) when it fails for good."""

    async def attempt(ctx: AttemptContext) -> Streamed:
        return await stream_once(target.client, request, deadline=ctx.deadline_mono, clock=clock, on_text=on_text)

    return await retry.run_outcome(attempt, policy=policy, operation=operation, provider=target.provider,
                                   model=target.ref, idempotent=True, deadline_ms=deadline_ms, op_id=op_id)


# -- the fallback call (chat, agent, compaction) ------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ModelAccess:
    """What a model call needs from the gateway that owns the providers: the config in force (read
    per call: retry settings are hot), the provider registry (None while stopped), the retry
    engine, the cooldown ladders shared by every fallback chain, and where events go."""

    config: Callable[[], ClawtopConfig]
    providers: Callable[[], ProviderRegistry | None]
    retry: RetryEngine
    cooldowns: CooldownTracker
    publish: Callable[[Event], None]


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


class ModelCallFailed(Exception):
    """No model answered. ``error_class`` is the retry engine's class (``rate_limit``,
    ``ambiguous``, ``server``, … or ``cooldown`` when every candidate was benched);
    ``message`` says what happened and why nothing more was tried."""

    def __init__(self, message: str, *, error_class: str, model: str, records: list[OperationRecord],
                 models: list[str] | None = None, status: int | None = None, reason: str = "",
                 partial_reply: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.error_class = error_class
        self.status = status
        self.reason = reason
        self.model = model
        self.records = records
        self.models = models if models is not None else [model] * len(records)
        self.partial_reply = partial_reply

    @property
    def record(self) -> OperationRecord | None:
        """The last operation tried (what the dashboard summarises under the error)."""
        return self.records[-1] if self.records else None

    def __str__(self) -> str:
        return self.message


async def call_model(
    models: ModelAccess,
    messages: Sequence[ChatMessage],
    *,
    refs: list[str],
    op_id: str,
    clock: Clock,
    system: str | None = None,
    tools: Sequence[ToolSpec] = (),
    on_delta: OnDelta | None = None,
    max_tokens: int | None = None,
) -> ModelCall:
    """Do one model call over the fallback chain ``refs``. Raises :class:`ModelCallFailed`
    (classified, with every attempt's record) when no candidate answered;
    ``asyncio.CancelledError`` passes through untouched."""
    config = models.config()
    registry = models.providers()
    if registry is None:
        raise RuntimeError("the gateway is not running: start it before sending")
    records: list[tuple[str, OperationRecord]] = []
    delivered: list[str] = []
    first_token: list[float] = []

    def deliver(piece: str) -> None:
        if not first_token:
            first_token.append(clock())
        delivered.append(piece)
        if on_delta is not None:
            on_delta(piece)

    async def call_for_model(ref: str) -> tuple[str, Streamed, OperationRecord]:
        target = resolve(registry, ref)
        policy = policy_for(config, target.provider)
        request = request_for(target, messages, system=system, tools=tools, max_tokens=max_tokens)
        this_op = op_id if not records else f"{op_id}.{len(records)}"
        slot = len(records)
        records.append((ref, OperationRecord(op_id=this_op, operation=OPERATION, provider=target.provider)))
        try:
            outcome = await run_streamed(models.retry, target, request, policy=policy, operation=OPERATION,
                                         op_id=this_op, clock=clock, on_text=deliver)
        except RetryFailed as exc:
            records[slot] = (ref, exc.record)
            raise
        records[slot] = (ref, outcome.record)
        return ref, outcome.value, outcome.record

    chain = FallbackChain(refs, publish=models.publish, cooldowns=models.cooldowns)
    try:
        ref, state, record = await chain.run(call_for_model, op_id=op_id)
    except (RetryFailed, FallbackExhausted) as exc:
        raise _failure(exc, records, delivered, refs) from exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a provider that cannot be built, a bad ref: still classified
        raise ModelCallFailed(f"{type(exc).__name__}: {exc}", error_class="unknown", model=refs[0],
                              records=[r for _, r in records], models=[m for m, _ in records],
                              partial_reply="".join(delivered)) from exc
    return ModelCall(
        ref=ref, text=state.text, tool_calls=state.calls, usage=state.final_usage,
        stop_reason=state.end.stop_reason if state.end is not None else None,
        record=record, records=[r for _, r in records], models=[m for m, _ in records],
        first_token_at=first_token[0] if first_token else None,
    )


def _failure(exc: RetryFailed | FallbackExhausted, records: list[tuple[str, OperationRecord]],
             delivered: list[str], refs: list[str]) -> ModelCallFailed:
    """The classified failure: the engine's message (it already says what and why)."""
    model = records[-1][0] if records else refs[0]
    ops, models = [r for _, r in records], [m for m, _ in records]
    partial = "".join(delivered)
    if isinstance(exc, RetryFailed):
        cls = exc.error_class.value if exc.error_class is not None else "unknown"
        return ModelCallFailed(exc.message, error_class=cls, status=exc.status, reason=exc.decision_reason,
                               model=model, records=ops, models=models, partial_reply=partial)
    last = exc.failures[-1] if exc.failures else None
    if last is None:
        return ModelCallFailed(str(exc), error_class="cooldown", status=None, reason="all_candidates_cooling_down",
                               model=model, records=ops, models=models, partial_reply=partial)
    return ModelCallFailed(str(exc), error_class=last.error_class, status=last.status,
                           reason="all_candidates_failed", model=model, records=ops, models=models,
                           partial_reply=partial)
