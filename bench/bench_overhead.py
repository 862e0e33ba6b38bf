"""Bench-harness honesty: what ``clawtop bench`` adds to a request, and whether it measures the
simulator's configured speed.

Run: ``.venv/bin/python bench/bench_overhead.py [--runs N] [--model fast|slow]``

Two checks against the gateway's own simulator on loopback (the built-in ``sim/fast``: 50 ms
TTFT, 200 tokens/s, 64 max tokens, OpenClaw's prompt):

1. **Added latency**: pairs of one ``BenchRunner.measure`` run (provider client, retry engine,
   events, timing) and one raw ``httpx`` streamed POST with the same body reading every byte,
   interleaved (which goes first alternates). Target: median of the per-pair ratios ≤ 1.05.
2. **Accuracy**: the runner's median TTFT and tokens/s vs the simulator's configured values.
   Target: within 5 %. (tokens/s uses the definition in docs/design/bench.md#measures,
   ``outputTokens / (tEnd − tFirstToken)``, which counts the first token in the numerator:
   +1/(n−1) ≈ +1.6 % at 64 tokens by definition.)

Not a test: nothing here runs under pytest; record the printed figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.bench.runner import BenchRunner, BenchSpec
from core.config.loader import load_config
from core.config.schema.bench import DEFAULT_BENCH_PROMPT
from core.config.schema.simulator import BUILTIN_SIM_MODELS
from core.gateway import Gateway
from core.providers.anthropic import ANTHROPIC_VERSION


async def run(runs: int, model: str) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="clawtop-bench-overhead-"))
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    gateway = Gateway(load_config(None, env=env, dotenv=False), env=env, watch_config=False)
    await gateway.start()
    assert gateway.simulator is not None
    runner = BenchRunner(gateway, BenchSpec(models=(f"sim/{model}",), runs=runs, warmup=0))
    body = json.dumps({"model": model, "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": DEFAULT_BENCH_PROMPT}]}).encode()
    headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
    url = f"{gateway.simulator.base_url}/v1/messages"
    raw = httpx.AsyncClient(timeout=60)

    async def with_runner(i: int) -> dict[str, float]:
        result = await runner.measure(f"sim/{model}", i, warmup=False)
        assert result["ok"], result
        return result

    raw_ttft: list[float] = []

    async def with_raw() -> float:
        start = time.perf_counter()
        first = None
        async with raw.stream("POST", url, content=body, headers=headers) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                if first is None and b"content_block_delta" in chunk:
                    first = time.perf_counter()
        raw_ttft.append(((first or start) - start) * 1000)
        return (time.perf_counter() - start) * 1000

    try:
        for i in range(3):  # warm-up: connections on both sides
            await with_runner(i)
            await with_raw()
        ours: list[dict[str, float]] = []
        theirs: list[float] = []
        for i in range(runs):
            if i % 2:
                ours.append(await with_runner(i))
                theirs.append(await with_raw())
            else:
                theirs.append(await with_raw())
                ours.append(await with_runner(i))
    finally:
        await raw.aclose()
        await gateway.stop()
    ratios = [o["latencyMs"] / t for o, t in zip(ours, theirs, strict=True)]
    return {
        "runner_ms": statistics.median(o["latencyMs"] for o in ours),
        "raw_ms": statistics.median(theirs),
        "ratio": statistics.median(ratios),
        "ttft_ms": statistics.median(o["ttftMs"] for o in ours),
        "raw_ttft_ms": statistics.median(raw_ttft[3:]),
        "tok_s": statistics.median(o["outputTokensPerSec"] for o in ours),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--model", choices=("fast", "slow"), default="fast")
    args = parser.parse_args()
    r = asyncio.run(run(args.runs, args.model))
    want = BUILTIN_SIM_MODELS[args.model]
    ttft_err = r["ttft_ms"] / want["ttftMs"] - 1
    tps_err = r["tok_s"] / want["tokensPerSec"] - 1
    print(f"bench harness overhead, sim/{args.model}, {args.runs} interleaved pairs, 64 max tokens")
    print(f"  runner (BenchRunner.measure): median {r['runner_ms']:.1f} ms")
    print(f"  raw httpx aiter_bytes:        median {r['raw_ms']:.1f} ms")
    verdict = "ok" if r["ratio"] <= 1.05 else "MISSED"
    print(f"  median ratio runner/raw:      {r['ratio']:.4f}  (target <= 1.05: {verdict})")
    print(f"  TTFT measured {r['ttft_ms']:.1f} ms vs configured {want['ttftMs']} ms: {ttft_err:+.1%}"
          f"  ({'ok' if abs(ttft_err) <= 0.05 else 'MISSED'}); raw httpx first delta {r['raw_ttft_ms']:.1f} ms")
    print(f"  tokens/s measured {r['tok_s']:.1f} vs configured {want['tokensPerSec']:g}: {tps_err:+.1%}"
          f"  ({'ok' if abs(tps_err) <= 0.05 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
