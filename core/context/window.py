"""Context-window resolution and the window guard (docs/design/context.md#context-window-resolution).

Order, first hit wins: the configured provider's model entry (``contextTokens``, else
``contextWindow``; source ``modelsConfig``), else the runtime model (the simulator's model here;
source ``model``), else 200000 (source ``default``); then ``agents.defaults.contextTokens`` caps
it only if smaller (source ``agentContextTokens``). Below 16000 the run is blocked, below 32000
it warns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from core.config.schema import ClawtopConfig
from core.config.schema.providers import DEFAULT_CONTEXT_TOKENS, DEFAULT_MODEL_MAX_TOKENS
from core.config.schema.simulator import SIM_PROVIDER_ID
from core.context.events import ContextWindowGuard
from core.events.base import Event

__all__ = [
    "CONTEXT_WINDOW_HARD_MIN_TOKENS",
    "CONTEXT_WINDOW_WARN_BELOW_TOKENS",
    "ContextWindow",
    "ContextWindowTooSmall",
    "WindowSource",
    "guard_context_window",
    "guard_level",
    "resolve_context_window",
]

CONTEXT_WINDOW_HARD_MIN_TOKENS = 16_000
"""Below this the run is blocked (OpenClaw ``CONTEXT_WINDOW_HARD_MIN_TOKENS``)."""

CONTEXT_WINDOW_WARN_BELOW_TOKENS = 32_000
"""Below this a warning is logged (OpenClaw ``CONTEXT_WINDOW_WARN_BELOW_TOKENS``)."""

WindowSource = Literal["modelsConfig", "model", "default", "agentContextTokens"]
GuardLevel = Literal["ok", "warn", "block"]


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """The effective window of a model ref. ``native`` is the window before the agent cap
    (shown as "cap vs native"); ``max_output_tokens`` is the reply budget reserved in the
    report."""

    tokens: int
    source: WindowSource
    model_ref: str
    native: int
    max_output_tokens: int = DEFAULT_MODEL_MAX_TOKENS

    @property
    def guard(self) -> GuardLevel:
        return guard_level(self.tokens)


class ContextWindowTooSmall(RuntimeError):
    """The effective window is below 16000 tokens: the run must not start.

    OpenClaw raises a failover error here so the next fallback model is tried; ``failover`` says
    so to the runner, and ``reason`` is the stable classification string.
    """

    reason = "context_window_too_small"
    failover = True

    def __init__(self, window: ContextWindow) -> None:
        self.window = window
        super().__init__(
            f"Model context window too small: {window.model_ref} has {window.tokens} tokens "
            f"(source {window.source}); at least {CONTEXT_WINDOW_HARD_MIN_TOKENS} are required"
        )


def resolve_context_window(
    config: ClawtopConfig,
    model_ref: str,
    *,
    runtime_context_tokens: int | None = None,
    runtime_context_window: int | None = None,
) -> ContextWindow:
    """Resolve the effective window of ``provider/model`` exactly as docs/design/context.md#context-window-resolution
    orders it.

    ``runtime_context_*`` are what a provider reported about the model at run time (step 2);
    the built-in simulator's configured ``contextWindow`` is used for ``sim/...`` refs.
    """
    provider, _, model_id = model_ref.partition("/")
    tokens: int | None = None
    source: WindowSource = "default"
    max_output = DEFAULT_MODEL_MAX_TOKENS
    provider_cfg = config.models.providers.get(provider)
    definition = next((m for m in provider_cfg.models if m.id == model_id), None) if provider_cfg else None
    if definition is not None:
        tokens, source = definition.context_tokens or definition.context_window, "modelsConfig"
        max_output = definition.max_tokens
    else:
        if provider == SIM_PROVIDER_ID and model_id in config.simulator.models:
            sim = config.simulator.models[model_id]
            runtime_context_window = runtime_context_window or sim.context_window
        runtime = runtime_context_tokens or runtime_context_window
        if runtime and runtime > 0:
            tokens, source = runtime, "model"
    if tokens is None:
        tokens = DEFAULT_CONTEXT_TOKENS
    native = tokens
    cap = config.agents.defaults.context_tokens
    if cap is not None and cap < tokens:
        tokens, source = cap, "agentContextTokens"
    return ContextWindow(tokens=tokens, source=source, model_ref=model_ref, native=native, max_output_tokens=max_output)


def guard_level(tokens: int) -> GuardLevel:
    """``block`` below 16000, ``warn`` below 32000, else ``ok``."""
    if tokens < CONTEXT_WINDOW_HARD_MIN_TOKENS:
        return "block"
    if tokens < CONTEXT_WINDOW_WARN_BELOW_TOKENS:
        return "warn"
    return "ok"


def guard_context_window(window: ContextWindow, publish: Callable[[Event], None] | None = None) -> ContextWindow:
    """Apply the guard before a run: publish a :class:`ContextWindowGuard` event when it warns or
    blocks, and raise :class:`ContextWindowTooSmall` when it blocks. Returns ``window``."""
    level = window.guard
    if level != "ok" and publish is not None:
        publish(ContextWindowGuard(
            model=window.model_ref,
            tokens=window.tokens,
            source=window.source,
            level=level,
            warn_below=CONTEXT_WINDOW_WARN_BELOW_TOKENS,
            block_below=CONTEXT_WINDOW_HARD_MIN_TOKENS,
        ))
    if level == "block":
        raise ContextWindowTooSmall(window)
    return window
