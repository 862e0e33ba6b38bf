"""``bench``: defaults for ``clawtop bench`` (docs/design/bench.md#clawtop-bench). Command-line options
override them per run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.config.schema.base import ModelRef, NonEmptyStr, StrictModel

__all__ = ["DEFAULT_BENCH_PROMPT", "BenchConfig"]

DEFAULT_BENCH_PROMPT = "Reply with a single word: ok. No punctuation or extra text."
"""OpenClaw's bench prompt (docs/design/bench.md#baseline), byte for byte."""


class BenchConfig(StrictModel):
    """Root ``bench`` section; read at the next bench run (reload kind ``none``)."""

    models: list[ModelRef] = Field(default_factory=lambda: ["sim/fast", "sim/slow"], min_length=1, max_length=100)
    """Model refs benched when no ``--model`` is given. Default ``["sim/fast", "sim/slow"]``
    (the simulator, so a bench works out of the box)."""

    runs: int = Field(10, ge=1, le=100_000)
    """Measured runs per model (``--runs``). Default 10."""

    warmup: int = Field(1, ge=0, le=1000)
    """Warm-up runs per model, recorded but excluded from statistics (``--warmup``). Default 1."""

    prompt: NonEmptyStr = DEFAULT_BENCH_PROMPT
    """Prompt sent on every run (``--prompt``). Default OpenClaw's ``Reply with a single word:
    ok. No punctuation or extra text.``"""

    prompt_mode: Literal["fixed", "fresh"] = "fixed"
    """``fixed`` sends the same prompt each run; ``fresh`` appends a unique line per run to
    defeat prompt caching (``--prompt-mode``). Default ``fixed``."""

    max_tokens: int = Field(64, ge=1, le=1_000_000)
    """Output-token limit per run (``--max-tokens``). Default 64."""

    concurrency: int = Field(1, ge=1, le=256)
    """Runs in flight per model (``--concurrency``). Default 1."""

    timeout_ms: int = Field(60000, ge=1000, le=3_600_000)
    """Time limit per run in ms (``--timeout-ms``). Default 60000."""

    retries: int = Field(0, ge=0, le=20)
    """Retries per run (``--retries``); 0 by default so latency is not mixed with backoff.
    Default 0."""
