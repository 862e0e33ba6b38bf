"""Provider-client overhead: one streamed request through clawtop's ``AnthropicClient`` vs the
same request with raw httpx, against the simulator on loopback.

Run: ``.venv/bin/python bench/provider_overhead.py [--runs N] [--reply-tokens T] [--paced]``

What is timed, per request, from "send" until the stream has ended:

* **clawtop**: ``AnthropicClient.stream(request)`` drained to its ``StreamEnd``: body encoding,
  the send, rate-limit header parsing, SSE parsing, decoding every event into typed deltas, usage
  tracking, TTFT/latency measurement and its ``provider.call`` / ``provider.ratelimits`` events
  (published to a real ``EventBus`` with one subscriber, as in the gateway).
* **raw**: ``httpx.AsyncClient.stream("POST", …)`` with the same JSON body and headers, reading
  every byte (``aiter_bytes``) and doing nothing with it: the floor for any Python client.

Both use one pooled keep-alive connection, warmed up first; the two sides alternate which goes
first in each pair. By default the simulator is **unpaced** (TTFT 0, 100,000 tokens/s, the schema maximum) so the
time is the client's and the server's work, not a sleep — the harshest case for the ratio.
``--paced`` uses the built-in ``fast`` model (50 ms TTFT, 200 tokens/s), what a user sees.
Target: median(clawtop) / median(raw) ≤ 1.10. Benchmarks are not tests: nothing here runs under
pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config.schema import SimulatorConfig
from core.events import EventBus
from core.providers import AnthropicClient, ChatMessage, ModelRequest, StreamEnd
from core.providers.anthropic import ANTHROPIC_VERSION
from core.sim import SimulatorServer

TARGET_RATIO = 1.10


async def run(runs: int, reply_tokens: int, paced: bool) -> dict[str, float]:
    model = ({"replyTokens": reply_tokens} if paced
             else {"ttftMs": 0, "tokensPerSec": 100_000, "replyTokens": reply_tokens})
    sim = SimulatorServer(SimulatorConfig.model_validate({"models": {"fast": model}}))
    await sim.start()
    bus = EventBus()
    sub = bus.subscribe("bench")
    client = AnthropicClient("sim", sim.base_url, None, publish=bus.publish)
    raw = httpx.AsyncClient(timeout=60)
    request = ModelRequest(model="fast", messages=(ChatMessage(role="user", content="Say something."),),
                           max_tokens=max(reply_tokens, 16))
    body = json.dumps({"model": "fast", "max_tokens": request.max_tokens, "stream": True,
                       "messages": [{"role": "user", "content": "Say something."}]}).encode()
    headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
    url = f"{sim.base_url}/v1/messages"

    async def with_clawtop() -> float:
        start = time.perf_counter()
        end = None
        async for event in client.stream(request):
            if isinstance(event, StreamEnd):
                end = event
        elapsed = time.perf_counter() - start
        assert end is not None and end.usage.output_tokens == reply_tokens, end
        sub.take_nowait()
        return elapsed

    async def with_raw() -> float:
        start = time.perf_counter()
        size = 0
        async with raw.stream("POST", url, content=body, headers=headers) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        elapsed = time.perf_counter() - start
        assert size > 0
        return elapsed

    try:
        for _ in range(5):  # warm-up: connections, caches, first-call imports
            await with_clawtop()
            await with_raw()
        ours: list[float] = []
        theirs: list[float] = []
        ratios: list[float] = []
        gc.disable()
        for i in range(runs):
            if i % 2:
                a, b = await with_clawtop(), await with_raw()
            else:
                b, a = await with_raw(), await with_clawtop()
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b)
            if i % 10 == 9:
                gc.enable()
                gc.collect()
                gc.disable()
        gc.enable()
    finally:
        await client.aclose()
        await raw.aclose()
        await sim.stop()
    return {
        "clawtop_ms": statistics.median(ours) * 1000,
        "raw_ms": statistics.median(theirs) * 1000,
        "ratio_of_medians": statistics.median(ours) / statistics.median(theirs),
        "median_ratio": statistics.median(ratios),
        "clawtop_p95_ms": sorted(ours)[int(0.95 * (len(ours) - 1))] * 1000,
        "raw_p95_ms": sorted(theirs)[int(0.95 * (len(theirs) - 1))] * 1000,
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="timed pairs (min 50; default 100)")
    parser.add_argument("--reply-tokens", type=int, default=200, help="tokens per reply (default 200)")
    parser.add_argument("--paced", action="store_true", help="use the built-in fast model's pacing")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    runs = max(args.runs, 50)
    result = asyncio.run(run(runs, args.reply_tokens, args.paced))
    load = " → ".join(f"{x:.2f}" for x in os.getloadavg()[:1])
    mode = "paced (fast: 50 ms TTFT, 200 tok/s)" if args.paced else "unpaced (TTFT 0, 100k tok/s)"
    print(f"provider overhead, {mode}, {args.reply_tokens} tokens/reply, {runs} interleaved pairs, load {load}")
    print(f"  clawtop AnthropicClient.stream: median {result['clawtop_ms']:.2f} ms"
          f"  p95 {result['clawtop_p95_ms']:.2f} ms")
    print(f"  raw httpx aiter_bytes:          median {result['raw_ms']:.2f} ms  p95 {result['raw_p95_ms']:.2f} ms")
    ok = result["ratio_of_medians"] <= TARGET_RATIO
    print(f"  ratio of medians {result['ratio_of_medians']:.3f} (median of per-pair ratios "
          f"{result['median_ratio']:.3f}); target ≤ {TARGET_RATIO:.2f}: {'met' if ok else 'NOT met'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
