"""Context-window resolution order and the guard (docs/design/context.md#context-window-resolution)."""

from __future__ import annotations

from typing import Any

import pytest

from core.config.schema import ClawtopConfig
from core.context.events import ContextWindowGuard
from core.context.window import ContextWindowTooSmall, guard_context_window, guard_level, resolve_context_window


def _config(model: dict[str, Any] | None = None, cap: int | None = None,
            sim_window: int | None = None) -> ClawtopConfig:
    data: dict[str, Any] = {}
    if model is not None:
        data["models"] = {"providers": {"p": {"baseUrl": "http://127.0.0.1:1/v1", "models": [{"id": "m", **model}]}}}
    if cap is not None:
        data.setdefault("agents", {})["defaults"] = {"contextTokens": cap}
    if sim_window is not None:
        data["simulator"] = {"models": {"tiny": {"contextWindow": sim_window}}}
    return ClawtopConfig.model_validate(data)


def test_models_config_context_tokens_beats_context_window() -> None:
    w = resolve_context_window(_config({"contextWindow": 100_000, "contextTokens": 50_000}), "p/m")
    assert (w.tokens, w.source, w.native) == (50_000, "modelsConfig", 50_000)
    w = resolve_context_window(_config({"contextWindow": 100_000, "maxTokens": 4096}), "p/m")
    assert (w.tokens, w.source, w.max_output_tokens) == (100_000, "modelsConfig", 4096)


def test_runtime_model_then_default() -> None:
    config = _config()
    assert resolve_context_window(config, "x/unknown").source == "default"
    assert resolve_context_window(config, "x/unknown").tokens == 200_000
    w = resolve_context_window(config, "x/unknown", runtime_context_window=64_000)
    assert (w.tokens, w.source) == (64_000, "model")
    w = resolve_context_window(config, "x/unknown", runtime_context_tokens=40_000, runtime_context_window=64_000)
    assert w.tokens == 40_000
    w = resolve_context_window(_config(sim_window=20_000), "sim/tiny")
    assert (w.tokens, w.source) == (20_000, "model")


def test_agent_cap_only_lowers() -> None:
    w = resolve_context_window(_config({"contextWindow": 100_000}, cap=30_000), "p/m")
    assert (w.tokens, w.source, w.native) == (30_000, "agentContextTokens", 100_000)
    w = resolve_context_window(_config({"contextWindow": 100_000}, cap=500_000), "p/m")
    assert (w.tokens, w.source) == (100_000, "modelsConfig")


def test_guard_levels() -> None:
    assert guard_level(15_999) == "block"
    assert guard_level(16_000) == "warn"
    assert guard_level(31_999) == "warn"
    assert guard_level(32_000) == "ok"


def test_guard_blocks_below_16k_and_warns_below_32k() -> None:
    events: list[Any] = []
    small = resolve_context_window(_config(), "x/y", runtime_context_window=8_000)
    with pytest.raises(ContextWindowTooSmall, match="Model context window too small"):
        guard_context_window(small, events.append)
    warn = resolve_context_window(_config(sim_window=20_000), "sim/tiny")
    assert guard_context_window(warn, events.append) is warn
    assert [(e.level, e.tokens) for e in events] == [("block", 8_000), ("warn", 20_000)]
    assert all(isinstance(e, ContextWindowGuard) for e in events)
    ok = resolve_context_window(_config(), "x/y")
    guard_context_window(ok, events.append)
    assert len(events) == 2
