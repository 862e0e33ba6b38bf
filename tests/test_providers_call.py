"""The shared model-call steps (core.providers.call): what one streamed attempt records, and
that the single-candidate path (the bench's) and the fallback path (chat, agent, compaction)
go through the same retry engine with the same labels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from core.config.schema import ClawtopConfig
from core.events import Event
from core.provider_errors import ProviderHTTPError
from core.providers.call import (
    DEFAULT_MAX_TOKENS,
    OPERATION,
    ModelAccess,
    ModelCallFailed,
    Target,
    call_model,
    request_for,
    run_streamed,
    stream_once,
)
from core.providers.types import (
    ChatMessage,
    ModelRequest,
    StreamEnd,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    Usage,
    UsageUpdate,
)
from core.retry import CooldownTracker, RetryEngine, RetryPolicy

USER = (ChatMessage(role="user", content="hi"),)


class FakeClient:
    """Streams a fixed list of events per attempt; an exception in the list is raised there."""

    def __init__(self, *attempts: list[Any]) -> None:
        self.attempts = list(attempts)
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest, *, deadline: float | None = None) -> AsyncIterator[Any]:
        self.requests.append(request)
        for event in self.attempts.pop(0):
            if isinstance(event, BaseException):
                raise event
            yield event


class FakeRegistry:
    def __init__(self, clients: dict[str, FakeClient]) -> None:
        self.clients = clients

    def resolve(self, ref: str) -> tuple[FakeClient, str, None]:
        provider, _, model = ref.partition("/")
        return self.clients[provider], model, None


def ticking() -> Callable[[], float]:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    return clock


async def test_stream_once_records_first_output_of_any_kind_and_text_pieces() -> None:
    end = StreamEnd("end_turn", Usage(3, 4))
    client = FakeClient([ThinkingDelta("hmm"), TextDelta(""), TextDelta("he"), ToolCall("t1", "ls", {}),
                         UsageUpdate(Usage(3, 2)), TextDelta("llo"), end])
    seen: list[str] = []
    out = await stream_once(client, ModelRequest(model="m", messages=USER), deadline=None,  # type: ignore[arg-type]
                            clock=ticking(), on_text=seen.append)
    assert out.first_output_at == 1.0  # the thinking delta: the bench's time to first output
    assert seen == ["he", "llo"] and out.text == "hello"  # empty pieces are not delivered
    assert out.calls == [ToolCall("t1", "ls", {})]
    assert out.usage == Usage(3, 2) and out.end is end and out.end_at == 2.0
    assert out.final_usage == Usage(3, 4)


async def test_a_stream_without_end_keeps_the_last_usage_update() -> None:
    client = FakeClient([TextDelta("a"), UsageUpdate(Usage(1, 1))])
    out = await stream_once(client, ModelRequest(model="m", messages=USER), deadline=None,  # type: ignore[arg-type]
                            clock=ticking())
    assert out.end is None and out.end_at is None and out.final_usage == Usage(1, 1)
    empty = await stream_once(FakeClient([]), ModelRequest(model="m", messages=USER),  # type: ignore[arg-type]
                              deadline=None, clock=ticking())
    assert empty.final_usage == Usage()


def test_request_for_uses_the_explicit_cap_else_the_default() -> None:
    client = FakeClient()
    target = Target(ref="sim/fast", provider="sim", model_id="fast", client=client, entry=None)  # type: ignore[arg-type]
    assert request_for(target, USER).max_tokens == DEFAULT_MAX_TOKENS
    request = request_for(target, USER, system="s", max_tokens=7)
    assert (request.model, request.system, request.max_tokens, request.messages) == ("fast", "s", 7, USER)


async def test_run_streamed_retries_a_transient_failure_before_output() -> None:
    events: list[Event] = []
    engine = RetryEngine(events.append, sleep=_no_sleep)
    client = FakeClient([ProviderHTTPError("overloaded", status=529, provider="p")],
                        [TextDelta("ok"), StreamEnd("end_turn", Usage(1, 1))])
    target = Target(ref="p/m", provider="p", model_id="m", client=client, entry=None)  # type: ignore[arg-type]
    outcome = await run_streamed(engine, target, ModelRequest(model="m", messages=USER),
                                 policy=RetryPolicy.default().with_(attempts=3, min_delay_ms=0, max_delay_ms=0,
                                                                    jitter=0, rate_limit_attempts=None, budget=None),
                                 operation="bench.run", op_id="op1", clock=ticking())
    assert outcome.value.text == "ok" and len(outcome.record.attempts) == 2
    assert outcome.record.operation == "bench.run" and outcome.record.op_id == "op1"


async def test_call_model_falls_back_and_labels_every_operation_chat_send() -> None:
    events: list[Event] = []
    engine = RetryEngine(events.append, sleep=_no_sleep)
    config = ClawtopConfig()  # the schema's retry defaults: a few attempts, then fail over
    bad = FakeClient(*[[ProviderHTTPError("down", status=503, provider="a")]] * 10)
    good = FakeClient([TextDelta("fine"), StreamEnd("end_turn", Usage(2, 1))])
    registry = FakeRegistry({"a": bad, "b": good})
    access = ModelAccess(config=lambda: config, providers=lambda: registry,  # type: ignore[arg-type, return-value]
                         retry=engine, cooldowns=CooldownTracker(config.auth.cooldowns), publish=events.append)
    deltas: list[str] = []
    call = await call_model(access, USER, refs=["a/x", "b/y"], op_id="turn", clock=ticking(),
                            on_delta=deltas.append)
    assert call.ref == "b/y" and call.text == "fine" and deltas == ["fine"]
    assert call.models == ["a/x", "b/y"] and [r.op_id for r in call.records] == ["turn", "turn.1"]
    assert {r.operation for r in call.records} == {OPERATION}
    assert call.first_token_at is not None


async def test_call_model_without_providers_says_the_gateway_is_not_running() -> None:
    config = ClawtopConfig()
    access = ModelAccess(config=lambda: config, providers=lambda: None, retry=RetryEngine(lambda e: None),
                         cooldowns=CooldownTracker(config.auth.cooldowns), publish=lambda e: None)
    with pytest.raises(RuntimeError, match="not running"):
        await call_model(access, USER, refs=["a/x"], op_id="t", clock=ticking())


async def test_call_model_classifies_a_bad_ref() -> None:
    config = ClawtopConfig()
    access = ModelAccess(config=lambda: config, providers=lambda: FakeRegistry({}),  # type: ignore[arg-type, return-value]
                         retry=RetryEngine(lambda e: None), cooldowns=CooldownTracker(config.auth.cooldowns),
                         publish=lambda e: None)
    with pytest.raises(ModelCallFailed) as info:
        await call_model(access, USER, refs=["nope/x"], op_id="t", clock=ticking())
    assert info.value.error_class == "unknown" and info.value.model == "nope/x" and info.value.records == []


async def _no_sleep(_seconds: float) -> None:
    return None
