"""``simulator``: the built-in provider simulator, so clawtop works (and is testable) without any
real model or API key.

It serves the provider id ``sim`` (refs ``sim/fast``, ``sim/slow``) on a local HTTP port with
streamed replies at a configured speed, and can inject faults so retries, Retry-After handling and
failover can be watched in the dashboard. "No file at all means built-in defaults (simulator as the
model)" (bench-config spec §7.2). The specs say nothing about the simulator's knobs; the keys below
are clawtop's own and are documented one by one.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from core.config.schema.base import StrictModel, raise_at
from core.config.schema.providers import DEFAULT_CONTEXT_TOKENS

__all__ = [
    "BUILTIN_SIM_MODELS",
    "SIM_PROVIDER_ID",
    "FaultKind",
    "FaultStep",
    "SimFaults",
    "SimModel",
    "SimulatorConfig",
]

SIM_PROVIDER_ID = "sim"
"""Provider id the simulator answers to; reserved, so ``models.providers.sim`` is rejected."""

BUILTIN_SIM_MODELS: dict[str, dict[str, Any]] = {
    "fast": {"ttftMs": 50, "tokensPerSec": 200.0, "replyTokens": 100, "seed": 0, "contextWindow": DEFAULT_CONTEXT_TOKENS},
    "slow": {"ttftMs": 800, "tokensPerSec": 30.0, "replyTokens": 100, "seed": 0, "contextWindow": DEFAULT_CONTEXT_TOKENS},
}
"""The two models that always exist: ``fast`` (≈ 50 ms to first token, 200 tokens/s) and
``slow`` (≈ 800 ms, 30 tokens/s). Keys set in the file override them field by field."""

FaultKind = Literal[
    "rate_limit",
    "overloaded",
    "server_error",
    "timeout",
    "disconnect",
    "auth",
    "context_overflow",
]
"""An injected failure, named after the retry spec's reasons (§8): ``rate_limit`` = HTTP 429 with
a Retry-After; ``overloaded`` = 529; ``server_error`` = 500; ``timeout`` = no response until the
client times out; ``disconnect`` = the stream is cut after the first tokens (an ambiguous error);
``auth`` = 401; ``context_overflow`` = 400 with a context-length-exceeded message."""


class SimModel(StrictModel):
    """One simulated model (``simulator.models.<name>``; ref ``sim/<name>``)."""

    ttft_ms: int = Field(50, ge=0, le=600_000)
    """Time to first token in ms: delay between the request and the first streamed delta.
    Default 50 (``fast``); ``slow`` uses 800."""

    tokens_per_sec: float = Field(200.0, gt=0, le=100_000)
    """Streaming speed after the first token, in output tokens per second. Default 200
    (``fast``); ``slow`` uses 30."""

    reply_tokens: int = Field(100, ge=1, le=1_000_000)
    """Length of each reply in tokens, capped by the request's max tokens (the reply then ends
    with stop reason ``max_tokens``). Default 100."""

    seed: int = Field(0, ge=0, le=2**63 - 1)
    """Seed of the reply-text generator: the same seed and request give the same reply, so
    benches and dashboard snapshots are reproducible. Default 0."""

    context_window: int = Field(DEFAULT_CONTEXT_TOKENS, ge=16_000, le=100_000_000)
    """Context window the simulator reports, in tokens; lower it to watch pruning and compaction
    trigger early (below 16000 runs are blocked by the window guard, pruning spec §6).
    Default 200000."""


class FaultStep(StrictModel):
    """One scripted fault: which request fails and how."""

    request: int = Field(ge=1, le=10_000_000)
    """1-based number of the request that fails, counted since the simulator started (only
    requests to ``model`` when that is set). Required."""

    kind: FaultKind
    """What goes wrong (see ``FaultKind``). Required."""

    model: str | None = None
    """Simulated model name (``fast``, ``slow``, …) whose requests are counted; unset = all."""

    repeat: int = Field(1, ge=1, le=1_000)
    """How many consecutive requests, starting at ``request``, get this fault. Default 1."""

    retry_after_ms: int | None = Field(None, ge=0, le=604_800_000)
    """Retry-After sent with ``rate_limit`` / ``overloaded`` faults, in ms (sent as
    ``retry-after-ms`` and as whole seconds in ``retry-after``); unset = no hint. Values above
    ``retry.maxRetryAfterMs`` exercise the "never sleep silently" path (retry spec §16.2)."""


class SimFaults(StrictModel):
    """Fault injection for the simulator: a deterministic script plus an optional random rate."""

    enabled: bool = True
    """Master switch: false ignores ``script`` and ``faultRate`` (keeps a prepared script in the
    file without running it). Default true; nothing fails unless a script or rate is set."""

    fault_rate: float = Field(0.0, ge=0, le=1)
    """Probability that any request fails with one of ``randomKinds``, drawn from a generator
    seeded with ``seed``. Default 0 (no random faults)."""

    random_kinds: list[FaultKind] = Field(default_factory=lambda: ["rate_limit", "overloaded", "server_error"])
    """Kinds chosen uniformly for random faults. Default ``["rate_limit", "overloaded",
    "server_error"]`` (the transient ones retries are meant for)."""

    seed: int = Field(0, ge=0, le=2**63 - 1)
    """Seed for the random fault draw, so a faulty run can be replayed exactly. Default 0."""

    script: list[FaultStep] = Field(default_factory=list)
    """Scripted faults, applied before the random rate. Default [] (none)."""

    @model_validator(mode="after")
    def _kinds_when_random(self) -> Self:
        if self.fault_rate > 0 and not self.random_kinds:
            raise_at(
                "SimFaults",
                [(("randomKinds",), "empty_kinds", "randomKinds must list at least one kind when faultRate > 0", [])],
            )
        return self


class SimulatorConfig(StrictModel):
    """Root ``simulator`` section."""

    enabled: bool = True
    """Run the simulator and offer provider ``sim``. Default true (the default model is
    ``sim/fast``); turning it off while a ref still points at ``sim/…`` is a validation error."""

    host: str = "127.0.0.1"
    """Interface the simulator listens on. Default ``127.0.0.1`` (loopback only)."""

    port: int = Field(0, ge=0, le=65_535)
    """TCP port; 0 picks a free port at start (shown in the dashboard). Default 0."""

    models: dict[str, SimModel] = Field(default_factory=lambda: {k: SimModel.model_validate(v) for k, v in BUILTIN_SIM_MODELS.items()})
    """Simulated models by name. ``fast`` and ``slow`` always exist; keys given here override
    their built-in values field by field, and new names add models (unset fields then take the
    ``fast`` values)."""

    faults: SimFaults = Field(default_factory=SimFaults)
    """Fault injection."""

    @model_validator(mode="before")
    @classmethod
    def _merge_builtin_models(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "models" not in data or not isinstance(data["models"], dict):
            return data
        user: dict[str, Any] = data["models"]
        merged: dict[str, Any] = {}
        for name, builtin in BUILTIN_SIM_MODELS.items():
            given = user.get(name)
            merged[name] = {**builtin, **given} if isinstance(given, dict) else (builtin if given is None else given)
        for name, given in user.items():
            if name not in merged:
                merged[name] = given
        return {**data, "models": merged}

    @model_validator(mode="after")
    def _script_models_exist(self) -> Self:
        errors = [
            (
                ("faults", "script", index, "model"),
                "unknown_sim_model",
                f"no simulated model {step.model!r}; known: {', '.join(sorted(self.models))}",
                step.model,
            )
            for index, step in enumerate(self.faults.script)
            if step.model is not None and step.model not in self.models
        ]
        raise_at("SimulatorConfig", errors)
        return self
