"""Named workloads for ``clawtop bench --preset``.

Why these four: ``openclaw`` reproduces ``bench-model.ts`` so numbers compare with it; the
``1k-in-1k-out`` and ``10k-in`` shapes are Artificial Analysis' standard workloads (docs/design/bench.md#peer-metrics) —
decode-bound and prefill-bound; ``cache`` sends one long prefix twice so the second run's TTFT and ``cacheReadTokens``
show what the provider's prompt cache saves.
"""

from __future__ import annotations

import dataclasses

from core.config.schema.bench import DEFAULT_BENCH_PROMPT

__all__ = ["PRESETS", "Preset", "filler_text"]

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
          "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo")


def filler_text(tokens: int) -> str:
    """Deterministic prose of about ``tokens`` tokens (clawtop's estimate: 4 chars per token), so
    every run and every provider sees the same bytes."""
    target = tokens * 4
    parts: list[str] = []
    size, i = 0, 0
    while size < target:
        word = _WORDS[(i * 7 + i // len(_WORDS)) % len(_WORDS)]
        parts.append(word)
        size += len(word) + 1
        i += 1
    return " ".join(parts)[:target]


@dataclasses.dataclass(frozen=True, slots=True)
class Preset:
    """A workload: prompt (and an optional long ``system`` prefix), defaults for runs, warm-up,
    max tokens and prompt mode. Command-line options still override each value."""

    name: str
    description: str
    prompt: str
    runs: int
    max_tokens: int
    warmup: int = 1
    prompt_mode: str = "fixed"
    system: str | None = None


def _build() -> dict[str, Preset]:
    ask = "Summarise the text above in detail."
    presets = (
        Preset("openclaw", "OpenClaw's bench-model.ts: one-word reply, 10 runs, 64 max tokens",
               DEFAULT_BENCH_PROMPT, runs=10, max_tokens=64),
        Preset("1k-in-1k-out", "~1,000 input tokens, up to 1,024 output tokens, fresh prompt per run",
               filler_text(1000) + "\n\n" + ask, runs=5, max_tokens=1024, prompt_mode="fresh"),
        Preset("10k-in", "~10,000 input tokens, 64 output tokens: prefill (TTFT) bound",
               filler_text(10_000) + "\n\n" + ask, runs=5, max_tokens=64, prompt_mode="fresh"),
        # No warm-up: the first run is the cold (cache-writing) one, the second the warm read.
        Preset("cache", "the same ~4,000-token prefix twice: run 1 writes the prompt cache, run 2 reads it",
               DEFAULT_BENCH_PROMPT, runs=2, max_tokens=64, warmup=0, system=filler_text(4000)),
    )
    return {p.name: p for p in presets}


PRESETS: dict[str, Preset] = _build()
"""Every preset by name."""
