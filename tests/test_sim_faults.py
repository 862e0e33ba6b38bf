"""Fault injection: the token vocabulary, and what each token looks like on the wire (raw httpx,
so status lines, headers and broken connections are seen exactly as a client sees them)."""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx
import openai
import pytest
from pydantic import ValidationError
from test_sim_support import (
    Recorder,
    anthropic_body,
    anthropic_client,
    openai_body,
    openai_client,
    post,
    running,
    sim_config,
    sse_events,
)

from core.config.schema import ClawtopConfig
from core.sim import FaultSpec, SimFaultInjected, SimRequestServed, parse_script
from core.sim.faults import FaultPlan

BODIES = {"anthropic": anthropic_body, "openai": openai_body}
PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}


# --- the vocabulary -------------------------------------------------------------------------


def test_parse_script_reads_every_token() -> None:
    specs = parse_script(
        "ok, 429,429:retry-after=7,429:retry-after-ms=1500,429:no-retry-after,"
        "529,500,502,503,timeout,reset,stream-error,"
    )
    assert [s.kind for s in specs] == ["ok"] + ["status"] * 8 + ["timeout", "reset", "stream-error"]
    assert [s.status for s in specs[1:9]] == [429, 429, 429, 429, 529, 500, 502, 503]
    assert specs[1] == FaultSpec(token="429", kind="status", status=429, retry_after="1")
    assert (specs[2].retry_after, specs[3].retry_after, specs[3].retry_after_ms) == ("7", None, "1500")
    assert specs[4].spend_cap and specs[4].retry_after is None
    assert specs[5].retry_after is None, "only a bare 429 gets the default retry-after: 1"
    assert parse_script(["429,ok", "529"]) == parse_script("429,ok,529")
    assert parse_script("") == [] and parse_script("503:retry-after=2")[0].retry_after == "2"
    overflow = parse_script("400:Context-Overflow")[0]
    assert overflow == FaultSpec(token="400:context-overflow", kind="status", status=400, context_overflow=True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ok,bogus", "fault script item 2: unknown fault token 'bogus'; expected one of: ok, 429"),
        ("404", "status 404 is not simulated"),
        ("429:retry-after=soon", "bad option 'retry-after=soon'"),
        ("429:retry-after=-1", "bad option"),
        ("503:no-retry-after", "no-retry-after only applies to 429"),
        ("timeout:5", "unknown fault token 'timeout:5'"),
        ("400", "a 400 is only simulated as 400:context-overflow"),
        ("429:context-overflow", "a 400 is only simulated as 400:context-overflow"),
    ],
)
def test_parse_script_rejects_bad_tokens_clearly(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_script(spec)


def test_config_script_takes_a_string_or_a_list_and_reports_bad_items() -> None:
    def script(value: object) -> list[str]:
        return ClawtopConfig.model_validate({"simulator": {"faults": {"script": value}}}).simulator.faults.script

    assert script("429, OK ,stream-error") == script(["429", "ok", "stream-error"]) == ["429", "ok", "stream-error"]
    with pytest.raises(ValidationError) as info:
        script(["ok", "430"])
    assert [e["loc"] for e in info.value.errors()] == [("simulator", "faults", "script", 1)]


def test_fault_plan_runs_the_script_then_a_seeded_rate() -> None:
    transient = parse_script("500,503")
    plan = FaultPlan(parse_script("429,reset"), fault_rate=0.5, random_faults=transient, seed=3)
    outcomes = [plan.next().token for _ in range(40)]
    again = FaultPlan(parse_script("429,reset"), fault_rate=0.5, random_faults=transient, seed=3)
    assert outcomes[:2] == ["429", "reset"]
    assert outcomes == [again.next().token for _ in range(40)]
    assert {"ok", "500", "503"} == set(outcomes[2:])
    assert [FaultPlan(parse_script("529")).next().token for _ in range(1)] == ["529"]


# --- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_default_429_has_retry_after_one_and_then_requests_succeed(api: str) -> None:
    async with running(script="429") as sim:
        limited = await post(sim, api, BODIES[api]())
        fine = await post(sim, api, BODIES[api]())
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert "retry-after-ms" not in limited.headers
    body = limited.json()
    if api == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
        assert limited.headers["x-should-retry"] == "true"
        assert limited.headers["request-id"] == body["request_id"] and body["request_id"].startswith("req_")
    else:
        assert body["error"]["code"] == "rate_limit_exceeded" and body["error"]["message"]
        assert limited.headers["x-request-id"].startswith("req_")
    assert fine.status_code == 200


async def test_retry_after_tokens_set_the_hint_headers() -> None:
    async with running(script="429:retry-after=7,429:retry-after-ms=1500,503:retry-after=2") as sim:
        seconds, millis, unavailable = [await post(sim, "anthropic", anthropic_body()) for _ in range(3)]
    assert seconds.headers["retry-after"] == "7" and "retry-after-ms" not in seconds.headers
    assert millis.headers["retry-after-ms"] == "1500" and "retry-after" not in millis.headers
    assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "2"


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_spend_cap_429_has_no_retry_after(api: str) -> None:
    async with running(script="429:no-retry-after") as sim:
        response = await post(sim, api, BODIES[api]())
    assert (response.status_code == 429 and "retry-after" not in response.headers
            and "retry-after-ms" not in response.headers)
    error = response.json()["error"]
    if api == "anthropic":
        assert response.headers["x-should-retry"] == "false"
        assert error["type"] == "rate_limit_error" and error["details"]["error_code"] == "enforced_spend_limit_reached"
    else:
        assert error["code"] == "insufficient_quota"


@pytest.mark.parametrize(
    ("token", "anthropic_type"),
    [("529", "overloaded_error"), ("500", "api_error"), ("502", "api_error"), ("503", "api_error")],
)
@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_server_error_tokens(api: str, token: str, anthropic_type: str) -> None:
    async with running(script=token) as sim:
        response = await post(sim, api, BODIES[api]())
    assert response.status_code == int(token) and "retry-after" not in response.headers
    error = response.json()["error"]
    assert error["message"]
    if api == "anthropic":
        assert error["type"] == anthropic_type
        assert response.headers.get("x-should-retry") == ("true" if token == "529" else None)
    else:
        assert error["type"] == "server_error"


async def test_sdks_raise_their_own_status_errors() -> None:
    async with running(script="529,429:retry-after=3") as sim:
        with pytest.raises(anthropic.InternalServerError) as overloaded:
            await anthropic_client(sim).messages.create(**anthropic_body())
        with pytest.raises(openai.RateLimitError) as limited:
            await openai_client(sim).chat.completions.create(**openai_body())
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert limited.value.response.headers["retry-after"] == "3"


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_context_overflow_is_a_400_the_classifier_calls_context_overflow(api: str) -> None:
    from core.providers import AnthropicClient, ChatMessage, ModelRequest, OpenAICompatClient, ProviderHTTPError
    from core.retry.classify import ErrorClass, classify

    async with running(script="400:context-overflow,400:context-overflow") as sim:
        raw = await post(sim, api, BODIES[api]())
        client = (AnthropicClient("sim", sim.base_url, "sk-sim") if api == "anthropic"
                  else OpenAICompatClient("sim-oai", sim.base_url + "/v1", "sk-sim"))
        try:
            with pytest.raises(ProviderHTTPError) as info:
                await client.call(ModelRequest(model="fast", messages=(ChatMessage("user", "hi"),), max_tokens=20))
        finally:
            await client.aclose()
    assert raw.status_code == 400 and "retry-after" not in raw.headers
    if api == "anthropic":
        assert raw.json()["type"] == "error" and raw.json()["error"] == {
            "type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"}
        assert "x-should-retry" not in raw.headers
    else:
        error = raw.json()["error"]
        assert (error["type"], error["code"]) == ("invalid_request_error", "context_length_exceeded")
        assert error["message"] == ("This model's maximum context length is 200000 tokens. "
                                    "However, your messages resulted in 210000 tokens.")
    verdict = classify(info.value)
    assert info.value.status == 400
    assert verdict.error_class is ErrorClass.CONTEXT_OVERFLOW and not verdict.retryable


# --- hang, reset, error after 200 ------------------------------------------------------------


async def test_timeout_hangs_until_the_client_gives_up() -> None:
    async with running(script="timeout") as sim:
        with pytest.raises(httpx.ReadTimeout):
            await post(sim, "anthropic", anthropic_body(), timeout=0.3)
        after = await post(sim, "anthropic", anthropic_body())
        assert after.status_code == 200
    assert sim.stats.connections == 0


async def test_stop_ends_a_hanging_request_without_leaking_tasks() -> None:
    async with running(script="timeout") as sim:
        client = httpx.AsyncClient(timeout=30)
        pending = asyncio.create_task(client.post(sim.base_url + "/v1/messages", json=anthropic_body()))
        while sim.stats.active == 0:  # noqa: ASYNC110 - the simulator's stats are counters with no event to await
            await asyncio.sleep(0.01)
    with pytest.raises(httpx.TransportError):
        await pending
    await client.aclose()
    assert sim.stats.active == 0 and sim.stats.connections == 0
    assert not [t for t in asyncio.all_tasks() if "_on_connection" in repr(t.get_coro())]


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_reset_cuts_a_stream_after_the_200(api: str) -> None:
    body = BODIES[api](stream=True)
    received = b""
    async with (
        running(script="reset") as sim,
        httpx.AsyncClient(timeout=5) as client,
        client.stream("POST", sim.base_url + PATHS[api], json=body) as response,
    ):
        assert response.status_code == 200
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async for chunk in response.aiter_bytes():
                received += chunk
    assert b"data: " in received, "part of the stream arrives before the reset"


async def test_reset_cuts_a_non_streaming_body() -> None:
    async with running(script="reset,reset") as sim:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await post(sim, "openai", openai_body())
        with pytest.raises(openai.APIConnectionError):
            await openai_client(sim).chat.completions.create(**openai_body())
        assert (await post(sim, "openai", openai_body())).status_code == 200


async def test_stream_error_sends_an_error_event_after_200_anthropic() -> None:
    async with running(script="stream-error") as sim, httpx.AsyncClient(timeout=5) as client:
        response = await client.post(sim.base_url + "/v1/messages", json=anthropic_body(stream=True))
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert response.status_code == 200
    assert names[:3] == ["message_start", "content_block_start", "ping"] and "content_block_delta" in names
    assert names[-1] == "error" and "message_stop" not in names
    assert json.loads(events[-1][1])["error"]["type"] == "overloaded_error"


async def test_stream_error_sends_an_error_chunk_after_200_openai() -> None:
    async with running(script="stream-error") as sim, httpx.AsyncClient(timeout=5) as client:
        response = await client.post(sim.base_url + "/v1/chat/completions", json=openai_body(stream=True))
    data = [payload for _, payload in sse_events(response.text)]
    assert response.status_code == 200 and "[DONE]" not in data
    assert "choices" in json.loads(data[0]) and json.loads(data[-1])["error"]["code"] == "overloaded"


async def test_sdks_raise_on_stream_error_and_non_streaming_gets_529() -> None:
    async with running(script="stream-error,stream-error,stream-error") as sim:
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            async with anthropic_client(sim).messages.stream(**anthropic_body()) as stream:
                async for _ in stream:
                    pass
        with pytest.raises(openai.APIError, match="Overloaded"):
            stream_o = await openai_client(sim).chat.completions.create(**openai_body(), stream=True)
            async for _ in stream_o:
                pass
        whole = await post(sim, "anthropic", anthropic_body())
    assert whole.status_code == 529 and whole.json()["error"]["type"] == "overloaded_error"


# --- random faults, events, stats -----------------------------------------------------------


async def test_fault_rate_injects_seeded_transient_faults() -> None:
    async def statuses(seed: int) -> list[int]:
        async with running(fault_rate=0.5, seed=seed) as sim:
            return [(await post(sim, "openai", openai_body())).status_code for _ in range(16)]

    first, again = await statuses(5), await statuses(5)
    assert first == again and 200 in first and set(first) - {200} <= {429, 529, 500, 502, 503} and len(set(first)) > 1


async def test_events_and_stats_describe_each_request() -> None:
    recorder = Recorder()
    async with running(script="ok,500", publish=recorder) as sim:
        await post(sim, "anthropic", anthropic_body())
        await post(sim, "openai", openai_body())
        await post(sim, "openai", {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        stats = sim.stats
    served, fault, unknown = recorder.events
    assert (isinstance(served, SimRequestServed) and isinstance(fault, SimFaultInjected)
            and isinstance(unknown, SimRequestServed))
    assert (served.model, served.api, served.status, served.output_tokens, served.fault) == (
        "fast", "anthropic", 200, 12, None)
    assert served.ttft_ms is not None and served.ttft_ms >= 5 and served.duration_ms >= served.ttft_ms
    assert (fault.api, fault.status, fault.fault, fault.path) == ("openai", 500, "500", "/v1/chat/completions")
    assert unknown.status == 404
    assert stats.requests == 3 and stats.faults_injected == 1 and stats.by_status == {200: 1, 500: 1, 404: 1}


# --- request validation and other routes ----------------------------------------------------


async def test_bad_requests_get_api_errors_and_keep_the_script_position() -> None:
    async with running(script="529") as sim:
        unknown = await post(sim, "anthropic", {**anthropic_body(), "model": "sim/medium"})
        no_max = await post(sim, "anthropic", {"model": "fast", "messages": [{"role": "user", "content": "x"}]})
        bad_tool = await post(sim, "anthropic",
                              anthropic_body("[[tool:t {oops}]]", tools=[{"name": "t", "input_schema": {}}]))
        faulted = await post(sim, "anthropic", anthropic_body())
        async with httpx.AsyncClient() as client:
            not_json = await client.post(sim.base_url + "/v1/chat/completions", content=b"{nope")
            health = await client.get(sim.base_url + "/health")
            missing = await client.get(sim.base_url + "/v2/else")
            wrong_method = await client.get(sim.base_url + "/v1/messages")
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    assert no_max.status_code == 400 and no_max.json()["error"]["type"] == "invalid_request_error"
    assert bad_tool.status_code == 400 and "invalid JSON" in bad_tool.json()["error"]["message"]
    assert faulted.status_code == 529, "4xx answers do not use up the fault script"
    assert not_json.status_code == 400 and not_json.json()["error"]["type"] == "invalid_request_error"
    assert health.json()["status"] == "ok" and missing.status_code == 404 and wrong_method.status_code == 405


def test_sim_config_helper_applies_overrides() -> None:
    config = sim_config(faults={"script": "429"})
    assert config.faults.script == ["429"] and config.models["fast"].ttft_ms == 5
