"""The bench runner: N streamed requests per model through the gateway's own provider clients
and retry engine, measured per run, summarised per model, stored, and announced on the bus.

Why through the gateway and not a bare HTTP loop: the figures must be what clawtop users get
(same clients, same usage parsing, same error classes). The harness cost of that is measured by
``bench/bench_overhead.py`` (≤ 5 % over a raw httpx request).

Timing (docs/design/bench.md#clawtop-bench): ``latencyMs`` = request sent → stream end; ``ttftMs`` = request
sent → first output delta of any kind; tokens/s and TPOT use the interval after the first token.
With ``--retries`` > 0 the clock starts before the first attempt, so backoff shows in the latency
(that is why the default is 0); the first-token time is the one of the attempt that succeeded.

Stopping (Ctrl-C, the pane's stop key): :meth:`BenchRunner.stop` cancels the runs in flight; every
run that had finished is kept, summarised and stored with ``interrupted: true``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import platform
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from core.bench.events import BenchRunFinished, BenchRunProgress, BenchRunStarted
from core.bench.presets import PRESETS
from core.bench.stats import summarize
from core.bench.store import save_run
from core.config.loader import LoadedConfig
from core.config.schema import config_hash, redacted_dump
from core.config.schema.bench import BenchConfig
from core.config.schema.providers import ModelDefinition
from core.events import EventBus
from core.providers.call import ModelAccess, policy_for, request_for, resolve, run_streamed
from core.providers.types import ChatMessage, Usage
from core.retry import RetryFailed
from core.retry.records import OperationRecord

__all__ = ["OPERATION", "BenchHost", "BenchRunner", "BenchSpec", "iso", "run_and_store"]

OPERATION = "bench.run"

MIN_DECODE_S = 0.010
"""Shortest first-output → stream-end interval a rate is computed from (10 ms): below it the
interval is the size of event-loop scheduling jitter and timer granularity, so tokens/s and TPOT
would measure the jitter (tens of thousands of tok/s from a few chunks), not the model
(docs/design/bench.md#measures)."""
"""Retry-engine operation label of bench calls (the Retries pane shows them apart from chat)."""

OnResult = Callable[[str, dict[str, Any]], None]


class BenchHost(Protocol):
    """What the bench uses of the gateway it runs on: its model access (the same providers,
    retry engine and config as every chat turn), its bus, and the loaded config (the run
    document records its hashes; the results go to its database)."""

    @property
    def models(self) -> ModelAccess: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def loaded(self) -> LoadedConfig: ...


def iso(wall: float) -> str:
    """Wall-clock seconds → ISO 8601 UTC with ms (the JSON export's timestamps)."""
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_DEFAULTS = BenchConfig()
"""A BenchSpec's values when neither the config, a preset nor the command line names one: the
``bench`` section's defaults."""


@dataclasses.dataclass(frozen=True, slots=True)
class BenchSpec:
    """What to run. Built from the ``bench`` config section, a preset and command-line values,
    in that order of precedence (later wins)."""

    models: tuple[str, ...]
    runs: int = _DEFAULTS.runs
    warmup: int = _DEFAULTS.warmup
    prompt: str = _DEFAULTS.prompt
    prompt_mode: str = _DEFAULTS.prompt_mode
    max_tokens: int = _DEFAULTS.max_tokens
    concurrency: int = _DEFAULTS.concurrency
    timeout_ms: int = _DEFAULTS.timeout_ms
    retries: int = _DEFAULTS.retries
    tag: str | None = None
    system: str | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("bench needs at least one model")
        if self.runs < 1 or self.warmup < 0 or self.concurrency < 1 or self.max_tokens < 1:
            raise ValueError("runs, concurrency and max tokens must be ≥ 1, warm-up ≥ 0")
        if self.prompt_mode not in ("fixed", "fresh"):
            raise ValueError("prompt mode is fixed or fresh")

    @classmethod
    def build(cls, bench: BenchConfig, *, preset: str | None = None, **overrides: Any) -> BenchSpec:
        """Config defaults, then the preset's values, then every override that is not None."""
        values: dict[str, Any] = {
            "models": tuple(bench.models), "runs": bench.runs, "warmup": bench.warmup,
            "prompt": bench.prompt, "prompt_mode": bench.prompt_mode, "max_tokens": bench.max_tokens,
            "concurrency": bench.concurrency, "timeout_ms": bench.timeout_ms, "retries": bench.retries,
        }
        if preset is not None:
            p = PRESETS[preset]  # KeyError: the CLI validates names first
            values.update(prompt=p.prompt, runs=p.runs, max_tokens=p.max_tokens, warmup=p.warmup,
                          prompt_mode=p.prompt_mode, system=p.system, preset=p.name)
        values.update({k: (tuple(v) if k == "models" else v) for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def total(self) -> int:
        return (self.runs + self.warmup) * len(self.models)


class BenchRunner:
    """Runs one :class:`BenchSpec` on a running gateway; :meth:`run` returns the export document
    (docs/design/bench.md#clawtop-bench JSON shape). ``on_result(model, result)`` sees every run as it finishes."""

    def __init__(self, gateway: BenchHost, spec: BenchSpec, *, on_result: OnResult | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.gateway = gateway
        self.spec = spec
        self.run_id = uuid.uuid4().hex[:12]
        self._on_result = on_result
        self._clock = clock
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done = 0
        self.results: dict[str, list[dict[str, Any]]] = {ref: [] for ref in spec.models}

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop early: cancel the runs in flight and start no new one. Safe from a signal handler
        running on the loop; calling it twice is harmless."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()

    async def run(self) -> dict[str, Any]:
        """Every model in order (all runs of one, then the next, as OpenClaw), then the document."""
        spec, gateway = self.spec, self.gateway
        started = time.time()
        gateway.bus.publish(BenchRunStarted(run_id=self.run_id, models=spec.models, runs=spec.runs,
                                            warmup=spec.warmup, total=spec.total, tag=spec.tag))
        for ref in spec.models:
            if self._stopping:
                break
            await self._model(ref)
        return self._document(started, time.time())

    async def _model(self, ref: str) -> None:
        spec = self.spec
        for i in range(1, spec.warmup + 1):  # warm-up runs one at a time: they prime connections
            if self._stopping or not await self._spawn(ref, i, warmup=True):
                return
        gate = asyncio.Semaphore(spec.concurrency)

        async def gated(i: int) -> None:
            async with gate:
                if not self._stopping:
                    await self._one(ref, i, warmup=False)

        tasks = [asyncio.ensure_future(gated(i)) for i in range(1, spec.runs + 1)]
        self._tasks.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._tasks.difference_update(tasks)

    async def _spawn(self, ref: str, i: int, *, warmup: bool) -> bool:
        task = asyncio.ensure_future(self._one(ref, i, warmup=warmup))
        self._tasks.add(task)
        try:
            await task
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            return False
        finally:
            self._tasks.discard(task)
        return True

    async def _one(self, ref: str, i: int, *, warmup: bool) -> None:
        result = await self.measure(ref, i, warmup=warmup)
        self.results[ref].append(result)
        self._done += 1
        self.gateway.bus.publish(BenchRunProgress(
            run_id=self.run_id, model=ref, i=i, warmup=warmup, ok=result["ok"],
            latency_ms=result["latencyMs"], error_class=result["errorClass"], done=self._done,
            total=self.spec.total))
        if self._on_result is not None:
            self._on_result(ref, result)

    async def measure(self, ref: str, i: int, *, warmup: bool) -> dict[str, Any]:
        """One streamed request, timed; a failure becomes a result with ``ok: false``."""
        spec, models = self.spec, self.gateway.models
        result = _empty_result(i, warmup, time.time())
        try:
            registry = models.providers()
            if registry is None:
                raise RuntimeError("the gateway is not running")
            target = resolve(registry, ref)
            prompt = spec.prompt if spec.prompt_mode == "fixed" else f"{spec.prompt}\n\n[bench {uuid.uuid4().hex}]"
            request = request_for(target, (ChatMessage(role="user", content=prompt),), system=spec.system,
                                  max_tokens=spec.max_tokens)
            policy = policy_for(models.config(), target.provider).with_(
                attempts=spec.retries + 1, rate_limit_attempts=None, budget=None, name=f"bench:{target.provider}")
        except Exception as exc:  # noqa: BLE001 — unknown provider, bad ref: recorded like any failed run
            return {**result, "errorClass": "unknown", "error": f"{type(exc).__name__}: {exc}"}
        clock = self._clock
        t0 = clock()
        try:
            outcome = await run_streamed(models.retry, target, request, policy=policy, operation=OPERATION,
                                         op_id=f"{self.run_id}.{ref}.{i}", clock=clock, deadline_ms=spec.timeout_ms)
        except RetryFailed as exc:
            cls = exc.error_class.value if exc.error_class is not None else "unknown"
            return {**result, **_attempts(exc.record), "errorClass": cls, "error": exc.message,
                    "latencyMs": _ms(clock() - t0)}
        except Exception as exc:  # noqa: BLE001 — one failure never aborts the batch (docs/design/bench.md#clawtop-bench)
            return {**result, "errorClass": "unknown", "error": f"{type(exc).__name__}: {exc}",
                    "latencyMs": _ms(clock() - t0)}
        streamed = outcome.value
        end_event = streamed.end
        t_end = streamed.end_at if streamed.end_at is not None else clock()
        usage = end_event.usage if end_event is not None else streamed.usage
        first = streamed.first_output_at
        out = usage.output_tokens if usage is not None else 0
        decode_s = (t_end - first) if first is not None else 0.0
        rated = out > 1 and first is not None and decode_s >= MIN_DECODE_S
        result.update(_attempts(outcome.record), ok=True, latencyMs=_ms(t_end - t0),
                      ttftMs=_ms(first - t0) if first is not None else None,
                      outputTokensPerSec=round(out / decode_s, 2) if rated else None,
                      tpotMs=round(decode_s * 1000 / (out - 1), 3) if rated else None,
                      stopReason=end_event.stop_reason if end_event is not None else None)
        if usage is not None:
            result.update(inputTokens=usage.input_tokens, outputTokens=usage.output_tokens,
                          cacheReadTokens=usage.cache_read_tokens, cacheWriteTokens=usage.cache_write_tokens,
                          totalTokens=usage.total_tokens, costUsd=_cost(target.entry, usage))
        return result

    def _document(self, started: float, finished: float) -> dict[str, Any]:
        spec, loaded = self.spec, self.gateway.loaded
        models = []
        for ref in spec.models:
            results = sorted(self.results[ref], key=lambda r: (not r["warmup"], r["i"]))
            if not results and self._stopping:
                continue
            models.append({"ref": ref, "results": results, "summary": summarize(results)})
        return {
            "runId": self.run_id, "startedAt": iso(started), "finishedAt": iso(finished), "tag": spec.tag,
            "clawtopVersion": _version(), "python": platform.python_version(),
            "platform": f"{sys.platform}-{platform.machine()}",
            "configHash": config_hash(loaded.config), "configRawHash": loaded.raw_hash,
            "prompt": spec.prompt, "promptMode": spec.prompt_mode, "maxTokens": spec.max_tokens,
            "runs": spec.runs, "warmup": spec.warmup, "concurrency": spec.concurrency,
            "timeoutMs": spec.timeout_ms, "retries": spec.retries, "preset": spec.preset,
            "interrupted": self._stopping, "models": models,
        }


async def run_and_store(gateway: BenchHost, spec: BenchSpec, *, on_result: OnResult | None = None,
                        runner: BenchRunner | None = None) -> dict[str, Any]:
    """Run, store the document with the redacted config it ran under, then publish
    :class:`BenchRunFinished` (after the write, so a listener can read the run back)."""
    runner = runner or BenchRunner(gateway, spec, on_result=on_result)
    doc = await runner.run()
    await asyncio.to_thread(save_run, gateway.loaded.db_path, doc, redacted_dump(gateway.loaded.config))
    ok = sum(m["summary"]["ok"] for m in doc["models"])
    failed = sum(m["summary"]["failed"] for m in doc["models"])
    gateway.bus.publish(BenchRunFinished(run_id=doc["runId"], outcome="interrupted" if doc["interrupted"] else "ok",
                                         ok=ok, failed=failed, tag=spec.tag))
    return doc


def _empty_result(i: int, warmup: bool, wall: float) -> dict[str, Any]:
    return {"i": i, "warmup": warmup, "ok": False, "errorClass": None, "error": None, "startedAt": iso(wall),
            "latencyMs": None, "ttftMs": None, "outputTokensPerSec": None, "tpotMs": None, "inputTokens": 0,
            "outputTokens": 0, "cacheReadTokens": 0, "cacheWriteTokens": 0, "totalTokens": 0,
            "stopReason": None, "attempts": 1, "retrySleepMs": 0, "costUsd": 0.0}


def _attempts(record: OperationRecord) -> dict[str, int]:
    attempts = list(record.attempts)
    return {"attempts": max(1, len(attempts)), "retrySleepMs": sum(int(a.slept_ms) for a in attempts)}


def _cost(entry: ModelDefinition | None, usage: Usage) -> float:
    """USD from ``models.providers.<id>.models[].cost`` (per million tokens); 0 when unpriced."""
    cost = entry.cost if entry is not None else None
    if cost is None:
        return 0.0
    total = (usage.input_tokens * cost.input + usage.output_tokens * cost.output
             + usage.cache_read_tokens * cost.cache_read + usage.cache_write_tokens * cost.cache_write)
    return round(total / 1_000_000, 8)


def _version() -> str:
    """The installed clawtop's version (core may not import the CLI package for it)."""
    try:
        return importlib.metadata.version("clawtop")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
