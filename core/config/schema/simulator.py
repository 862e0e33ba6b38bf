"""``simulator``: the built-in provider simulator, so clawtop works (and is testable) without any
real model or API key.

It serves the provider id ``sim`` (refs ``sim/fast``, ``sim/slow``) on a local HTTP port with
streamed replies at a configured speed, and can inject faults so retries, Retry-After handling and
failover can be watched in the dashboard. "No file at all means built-in defaults (simulator as the
model)" (docs/design/config.md#clawtop-goes-further). OpenClaw has no simulator, so the keys below
are clawtop's own and are documented one by one.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeAlias

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from core.config.durations import duration_type
from core.config.schema.base import StrictModel, raise_at
from core.config.schema.providers import DEFAULT_CONTEXT_TOKENS
from core.config.schema.reload import Reload, reload
from core.faults import DEFAULT_RANDOM_FAULTS, parse_fault_token, split_script

__all__ = [
    "BUILTIN_SIM_MODELS",
    "SIM_PROVIDER_ID",
    "FaultStep",
    "SimCache",
    "SimFaults",
    "SimModel",
    "SimRateLimits",
    "SimulatorConfig",
]

SIM_PROVIDER_ID = "sim"
"""Provider id the simulator answers to; reserved, so ``models.providers.sim`` is rejected."""

BUILTIN_SIM_MODELS: dict[str, dict[str, Any]] = {
    "fast": {
        "ttftMs": 50, "tokensPerSec": 200.0, "replyTokens": 100, "seed": 0, "contextWindow": DEFAULT_CONTEXT_TOKENS,
    },
    "slow": {
        "ttftMs": 800, "tokensPerSec": 30.0, "replyTokens": 100, "seed": 0, "contextWindow": DEFAULT_CONTEXT_TOKENS,
    },
}
"""The two models that always exist: ``fast`` (≈ 50 ms to first token, 200 tokens/s) and
``slow`` (≈ 800 ms, 30 tokens/s). Keys set in the file override them field by field."""

if TYPE_CHECKING:
    # The validator builds an ``Annotated`` type at run time, which mypy cannot read as a type:
    # it checks the value type the field holds as written (``"5m"`` or a number).
    CacheTtl: TypeAlias = str | int
else:
    CacheTtl = duration_type(min_ms=1, max_ms=86_400_000)

def _check_token(value: str) -> str:
    parse_fault_token(value)  # raises ValueError with the vocabulary
    return value.strip().lower()


FaultStep = Annotated[str, AfterValidator(_check_token)]
"""One fault-script token, in the vocabulary of ``clawtop sim --script`` (see
:mod:`core.faults`): ``ok``, ``429``, ``429:retry-after=S``, ``429:retry-after-ms=MS``,
``429:no-retry-after``, ``529``, ``500``, ``502``, ``503``, ``timeout``, ``reset``,
``stream-error``, ``400:context-overflow``."""


def _split_tokens(value: Any) -> Any:
    # "429,ok" and ["429", "ok"] mean the same script; anything else is left for pydantic to
    # reject with its own message.
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return split_script(value)
    return value


FaultScript = Annotated[
    list[FaultStep],
    BeforeValidator(_split_tokens),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
"""A fault script: a list of tokens or one comma-separated string (kept as the list)."""


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
    trigger early (below 16000 runs are blocked by the window guard, docs/design/context.md#context-window-resolution).
    Default 200000."""


class SimFaults(StrictModel):
    """Fault injection: a deterministic script of outcomes plus an optional random rate.

    ``enabled``, ``script``, ``faultRate`` and ``randomFaults`` apply live: they are swapped into
    the running simulator's plan (a changed script starts from its first token; requests in
    flight keep the outcome they drew). ``seed`` needs a restart: it fixes the random draw from
    the simulator's start, which only a restart replays.
    """

    enabled: bool = Field(True, json_schema_extra=reload(Reload.HOT, "sim-faults"))
    """Master switch: false ignores ``script`` and ``faultRate`` (keeps a prepared script in the
    file without running it). Default true; nothing fails unless a script or rate is set."""

    script: FaultScript = Field(default_factory=list, json_schema_extra=reload(Reload.HOT, "sim-faults"))
    """Outcomes of successive generation requests (all models and both APIs share one counter),
    as a list of tokens or one comma-separated string (``"429,ok,529"``); after the list every
    request is ``ok`` apart from ``faultRate``. A change applies live and the new script starts
    from its first token. ``clawtop sim --script`` replaces it. Default []."""

    fault_rate: float = Field(0.0, ge=0, le=1, json_schema_extra=reload(Reload.HOT, "sim-faults"))
    """Probability that a request after the script fails with a token drawn from
    ``randomFaults``. ``clawtop sim --fault-rate`` replaces it. Default 0 (no random faults)."""

    random_faults: FaultScript = Field(default_factory=lambda: list(DEFAULT_RANDOM_FAULTS),
                                       json_schema_extra=reload(Reload.HOT, "sim-faults"))
    """Tokens drawn uniformly for random faults. Default ``["429", "529", "500", "502", "503"]``
    (the transient ones retries are meant for)."""

    seed: int = Field(0, ge=0, le=2**63 - 1)
    """Seed of the random fault draw, so a faulty run replays exactly. ``clawtop sim --seed``
    replaces it (and every model's reply seed). Default 0."""

    @model_validator(mode="after")
    def _tokens_when_random(self) -> Self:
        if self.fault_rate > 0 and not self.random_faults:
            raise_at(
                "SimFaults",
                [(("randomFaults",), "empty_faults",
                  "randomFaults must list at least one token when faultRate > 0", [])],
            )
        return self


class SimRateLimits(StrictModel):
    """Per-model rate limits, enforced as continuously refilling token buckets (Anthropic's
    model, docs/design/retry.md#rate-limit-headers); a request over a limit gets a 429 with Retry-After and the limit
    headers of both APIs. 0 = unlimited (and that limit's headers are left out)."""

    rpm: int = Field(0, ge=0, le=10_000_000)
    """Requests per minute per model. Default 0 (unlimited)."""

    input_tpm: int = Field(0, ge=0, le=10_000_000_000)
    """Input tokens per minute per model; uncached input and cache writes count, cache reads do
    not (as on Anthropic). Default 0 (unlimited)."""

    output_tpm: int = Field(0, ge=0, le=10_000_000_000)
    """Output tokens per minute per model, charged as max tokens at the start and corrected to
    the real count at the end. Default 0 (unlimited)."""


class SimCache(StrictModel):
    """The simulated prompt cache: exact prefixes keyed by content hash, per model."""

    min_cacheable_tokens: int = Field(1024, ge=0, le=1_000_000)
    """Shortest prefix that is cached, in tokens; shorter ones are silently not cached (as on
    the real APIs, docs/design/pruning.md#prompt-cache-facts). Default 1024."""

    default_ttl: CacheTtl = "5m"
    """Lifetime of an entry, counted from the start of the request that wrote or last read it,
    when a ``cache_control`` breakpoint names no TTL (and always for OpenAI's automatic
    caching). ``"5m"`` and ``"1h"`` are the real values; other durations help tests. Default
    ``"5m"``."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals; any other name or address (and ``""``,
    which binds every interface) may reach the network."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class SimulatorConfig(StrictModel):
    """Root ``simulator`` section."""

    enabled: bool = True
    """Run the simulator and offer provider ``sim``. Default true (the default model is
    ``sim/fast``); turning it off while a ref still points at ``sim/…`` is a validation error."""

    host: str = "127.0.0.1"
    """Interface the simulator listens on. Default ``127.0.0.1`` (loopback only). The simulator
    has no authentication, so a non-loopback address (``0.0.0.0``, a LAN address, a host name
    other than ``localhost``) is refused unless ``allowNonLoopback`` is true."""

    allow_non_loopback: bool = False
    """Allow ``host`` to be a non-loopback address, exposing the unauthenticated simulator to the
    network (a warning is logged each time it starts so). Default false."""

    port: int = Field(0, ge=0, le=65_535)
    """TCP port; 0 picks a free port at start (shown in the dashboard). Default 0."""

    models: dict[str, SimModel] = Field(
        default_factory=lambda: {k: SimModel.model_validate(v) for k, v in BUILTIN_SIM_MODELS.items()}
    )
    """Simulated models by name. ``fast`` and ``slow`` always exist; keys given here override
    their built-in values field by field, and new names add models (unset fields then take the
    ``fast`` values)."""

    faults: SimFaults = Field(default_factory=SimFaults)
    """Fault injection."""

    rate_limits: SimRateLimits = Field(default_factory=SimRateLimits)
    """Requests and tokens per minute, per model. Default: all unlimited."""

    cache: SimCache = Field(default_factory=SimCache)
    """Prompt-cache model."""

    @model_validator(mode="after")
    def _loopback_only(self) -> Self:
        if not self.allow_non_loopback and not is_loopback_host(self.host):
            raise_at("SimulatorConfig", [(
                ("host",), "non_loopback_host",
                f"{self.host!r} is not a loopback address: the simulator has no authentication; "
                "use 127.0.0.1 / ::1 / localhost, or set simulator.allowNonLoopback: true to expose it",
                self.host,
            )])
        return self

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
