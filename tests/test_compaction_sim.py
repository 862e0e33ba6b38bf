"""The compaction summary through a real provider client against the built-in simulator."""

from __future__ import annotations

from typing import Any

from core.compaction import CompactionStarted, compact
from core.config.schema.compaction import CompactionConfig
from core.config.schema.simulator import SimulatorConfig
from core.providers import AnthropicClient, ModelRequest
from core.sim import SimulatorServer
from tests.pruning_support import assistant_call, assistant_text, session_from, tool_result, user


async def test_summary_comes_from_the_simulated_model() -> None:
    sim = SimulatorServer(SimulatorConfig.model_validate(
        {"models": {"fast": {"ttftMs": 1, "tokensPerSec": 50_000, "replyTokens": 60}}}))
    await sim.start()
    client = AnthropicClient("sim", sim.base_url, "sk-sim", timeout_ms=10_000, connect_timeout_ms=1_000)
    requests: list[ModelRequest] = []

    async def summarize(request: ModelRequest) -> str:
        requests.append(request)
        return (await client.complete(request)).text

    msgs: list[dict[str, Any]] = []
    for i in range(8):
        msgs += [user(f"step {i} " + "u" * 3000), assistant_call(f"c{i}", "write", {"path": f"/w/{i}.txt"}),
                 tool_result(f"c{i}", "ok " * 1000), assistant_text("done " * 600)]
    session = session_from(msgs)
    events: list[Any] = []
    try:
        result = await compact(session, config=CompactionConfig.model_validate({"keepRecentTokens": 2000}),
                               summarize=summarize, model="fast", publish=events.append)
    finally:
        await client.aclose()
        await sim.stop()
    assert result.ok, result.event
    assert requests and requests[0].system and requests[0].max_tokens == int(16384 * 0.8)
    assert isinstance(events[0], CompactionStarted)
    summary = result.entry.summary  # type: ignore[union-attr]
    assert summary.strip() and "<modified-files>" in summary and "/w/0.txt" in summary
    assert session.messages()[0].role == "compactionSummary"
