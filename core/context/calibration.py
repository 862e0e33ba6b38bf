"""Per-model chars-per-token calibration learned from real usage (docs/design/context.md#chars-per-token-calibration).

Why: a fixed chars/4 is ~15 % off for older Claude models (≈ 3.5 chars/token) and ~40 % off for
the newer tokenizer (≈ 2.5), which moves every pruning ratio and compaction projection. Each
response with usage gives one sample ``request chars / actual prompt tokens``; an exponential
moving average per model (α = 0.2, clamped to [1.5, 6.0]) is used once 5 samples exist.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.context.estimate import CHARS_PER_TOKEN_ESTIMATE, tokens_from_chars
from core.context.events import ContextCalibrated
from core.events.base import Event

__all__ = [
    "ALPHA",
    "MIN_SAMPLE_TOKENS",
    "MIN_SAMPLES",
    "RATIO_MAX",
    "RATIO_MIN",
    "Calibrator",
    "CharsPerToken",
    "ModelCalibration",
    "actual_prompt_tokens",
]

ALPHA = 0.2
MIN_SAMPLES = 5
MIN_SAMPLE_TOKENS = 1000
RATIO_MIN = 1.5
RATIO_MAX = 6.0
STATE_FILE = "context-calibration.json"


def actual_prompt_tokens(usage: Any) -> int:
    """Prompt tokens of one request from a :class:`core.providers.types.Usage` (disjoint parts:
    input + cache read + cache write, docs/design/context.md#chars-per-token-calibration) or a pi usage dict
    (``input``/``cacheRead``/``cacheWrite``)."""
    if isinstance(usage, dict):
        return int(usage.get("input", 0)) + int(usage.get("cacheRead", 0)) + int(usage.get("cacheWrite", 0))
    return int(usage.input_tokens) + int(usage.cache_read_tokens) + int(usage.cache_write_tokens)


@dataclass(frozen=True, slots=True)
class CharsPerToken:
    """The ratio in force for one model and why: ``calibrated`` is True only when it comes from
    ≥ 5 real samples (shown in ``/context`` and recorded in prune decisions)."""

    ratio: float
    calibrated: bool
    samples: int = 0
    mode: str = "calibrated"


@dataclass(slots=True)
class ModelCalibration:
    """Learned state of one model ref."""

    ratio: float = float(CHARS_PER_TOKEN_ESTIMATE)
    samples: int = 0
    last_estimated_tokens: int = 0
    last_actual_tokens: int = 0
    last_error_pct: float = 0.0

    @property
    def active(self) -> bool:
        return self.samples >= MIN_SAMPLES


class Calibrator:
    """Per-model moving averages. One instance lives on the gateway; ``path`` (optional) is a
    JSON file in the state directory so learning survives restarts."""

    def __init__(self, path: Path | None = None, publish: Callable[[Event], None] | None = None) -> None:
        self._models: dict[str, ModelCalibration] = {}
        self._path = path
        self._publish = publish
        if path is not None:
            self._load(path)

    @classmethod
    def in_state_dir(cls, state_dir: Path, publish: Callable[[Event], None] | None = None) -> Calibrator:
        return cls(Path(state_dir) / STATE_FILE, publish)

    def get(self, model_ref: str) -> ModelCalibration | None:
        return self._models.get(model_ref.lower())

    def chars_per_token(self, model_ref: str, setting: str | float = "calibrated") -> CharsPerToken:
        """The ratio to use for ``model_ref`` under ``contextAccounting.charsPerToken``."""
        if setting == "fixed":
            return CharsPerToken(float(CHARS_PER_TOKEN_ESTIMATE), False, mode="fixed")
        if not isinstance(setting, str):
            return CharsPerToken(float(setting), False, mode="number")
        state = self.get(model_ref)
        if state is None or not state.active:
            return CharsPerToken(float(CHARS_PER_TOKEN_ESTIMATE), False, state.samples if state else 0)
        return CharsPerToken(state.ratio, True, state.samples)

    def observe(
        self,
        model_ref: str,
        estimated_chars: int,
        actual_input_tokens: int,
        *,
        has_images: bool = False,
        estimated_tokens: int | None = None,
    ) -> ModelCalibration | None:
        """Feed one request: its estimated chars (history + system prompt + tool schemas,
        docs/design/pruning.md#character-estimate) and the provider's prompt tokens. Returns the updated state, or None
        when the sample is skipped (images, < 1000 tokens, nonsense). ``estimated_tokens`` is the figure shown
        before the response (default: chars at the ratio in force), for the error column."""
        if has_images or actual_input_tokens < MIN_SAMPLE_TOKENS or estimated_chars <= 0:
            return None
        key = model_ref.lower()
        state = self._models.setdefault(key, ModelCalibration())
        if estimated_tokens is None:
            in_force = state.ratio if state.active else CHARS_PER_TOKEN_ESTIMATE
            estimated_tokens = tokens_from_chars(estimated_chars, in_force)
        sample = estimated_chars / actual_input_tokens
        blended = sample if state.samples == 0 else ALPHA * sample + (1 - ALPHA) * state.ratio
        state.ratio = min(RATIO_MAX, max(RATIO_MIN, blended))
        state.samples += 1
        state.last_estimated_tokens = estimated_tokens
        state.last_actual_tokens = actual_input_tokens
        state.last_error_pct = round(100.0 * (estimated_tokens - actual_input_tokens) / actual_input_tokens, 2)
        if self._publish is not None:
            self._publish(ContextCalibrated(
                model=model_ref,
                ratio=round(state.ratio, 4),
                sample_ratio=round(sample, 4),
                samples=state.samples,
                active=state.active,
                estimated_tokens=estimated_tokens,
                actual_tokens=actual_input_tokens,
                error_pct=state.last_error_pct,
            ))
        if self._path is not None:
            self.save()
        return state

    # -- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "models": {ref: asdict(state) for ref, state in sorted(self._models.items())}}

    def save(self) -> None:
        """Atomic write (temp file + rename) so a crash never leaves half a file."""
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".calib-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, indent=2)
        os.replace(tmp, self._path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            models = data.get("models", {})
            for ref, raw in models.items():
                state = ModelCalibration(**{k: raw[k] for k in ModelCalibration.__slots__ if k in raw})
                state.ratio = min(RATIO_MAX, max(RATIO_MIN, float(state.ratio)))
                self._models[ref.lower()] = state
        except (OSError, ValueError, TypeError, AttributeError):
            # A missing or corrupt file only means starting from 4 again; never block a run.
            self._models.clear()
