"""``models``: model providers (OpenClaw's ``models.providers.<id>``) and their model entries.

A provider is one HTTP endpoint speaking one wire API. Model entries carry the facts the gateway
cannot learn from the wire: the context window (docs/design/context.md#context-window-resolution resolution order) and
prices used for cost accounting. The provider id ``sim`` is reserved for the built-in simulator
(``simulator`` section).
"""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from core.config.schema.base import SECRET, NonEmptyStr, ProviderId, StrictModel, raise_at, redact_url_userinfo
from core.config.schema.reload import Reload, reload
from core.config.schema.retry import ProviderRetryOverride

__all__ = [
    "DEFAULT_CONTEXT_TOKENS",
    "DEFAULT_MODEL_MAX_TOKENS",
    "ModelCost",
    "ModelDefinition",
    "ModelsConfig",
    "ProviderApi",
    "ProviderConfig",
]

DEFAULT_CONTEXT_TOKENS = 200_000
"""OpenClaw's ``DEFAULT_CONTEXT_TOKENS``: the window assumed when nothing says otherwise
(docs/design/context.md#context-window-resolution)."""

DEFAULT_MODEL_MAX_TOKENS = 8192
"""Output-token limit assumed for a model entry that does not give one (OpenClaw's model default)."""

ProviderApi = Literal["anthropic-messages", "openai-completions"]
"""Wire API of a provider: Anthropic Messages (``POST /v1/messages``) or OpenAI Chat Completions
(``POST /chat/completions``, also spoken by Ollama, llama.cpp and vLLM, docs/design/bench.md#local-servers)."""


class ModelCost(StrictModel):
    """Prices in USD per million tokens (OpenClaw's unit), used for the dashboard's cost figures
    and the prune cost estimate (docs/design/pruning.md#prompt-cache-cost-of-a-prune). All zero = free or unknown (local
    models)."""

    input: float = Field(0.0, ge=0, le=10_000)
    """USD per 1M uncached input tokens. Default 0."""

    output: float = Field(0.0, ge=0, le=10_000)
    """USD per 1M output tokens (thinking included). Default 0."""

    cache_read: float = Field(0.0, ge=0, le=10_000)
    """USD per 1M input tokens read from the prompt cache (Anthropic: 0.1× input). Default 0."""

    cache_write: float = Field(0.0, ge=0, le=10_000)
    """USD per 1M input tokens written to the prompt cache (Anthropic: 1.25× input for 5 min,
    2× for 1 h). Default 0."""


class ModelDefinition(StrictModel):
    """One model offered by a provider (an item of ``models.providers.<id>.models``)."""

    id: NonEmptyStr
    """Model id sent to the provider and used after the ``/`` in model refs
    (``<provider>/<id>``). Required."""

    name: str | None = None
    """Human-readable name shown in the dashboard and bench output; unset = the id."""

    context_window: int = Field(DEFAULT_CONTEXT_TOKENS, ge=1_000, le=100_000_000)
    """The model's native context window in tokens: the budget for pruning ratios, compaction
    thresholds and the window guard (runs below 16000 are blocked). Default 200000."""

    context_tokens: int | None = Field(None, ge=1_000, le=100_000_000)
    """Optional runtime budget in tokens below the native window (OpenClaw reads it before
    ``contextWindow``, docs/design/context.md#context-window-resolution); unset = use ``contextWindow``."""

    max_tokens: int = Field(DEFAULT_MODEL_MAX_TOKENS, ge=1, le=10_000_000)
    """Largest output, in tokens, requested from this model per call. Default 8192."""

    cost: ModelCost = Field(default_factory=ModelCost)
    """Token prices for cost accounting."""

    @model_validator(mode="after")
    def _budget_within_window(self) -> Self:
        if self.context_tokens is not None and self.context_tokens > self.context_window:
            raise_at(
                "ModelDefinition",
                [(
                    ("contextTokens",),
                    "context_tokens_over_window",
                    f"contextTokens ({self.context_tokens}) must not exceed contextWindow ({self.context_window})",
                    self.context_tokens,
                )],
            )
        return self


class ProviderConfig(StrictModel):
    """One provider endpoint: ``models.providers.<id>``."""

    base_url: NonEmptyStr
    """Endpoint base URL, http or https, including any version prefix
    (``https://api.anthropic.com``, ``http://127.0.0.1:11434/v1``). Required."""

    api_key: str | None = Field(None, json_schema_extra=SECRET)
    """API key sent to the provider (``x-api-key`` or ``Authorization: Bearer``). Secret: redacted
    in every view and in the config hash. Use ``"${ENV_VAR}"`` to keep it out of the file (an unset
    variable is a load error). Unset = no auth header (local servers)."""

    api: ProviderApi = "openai-completions"
    """Wire API the endpoint speaks. Default ``openai-completions``."""

    models: list[ModelDefinition] = Field(default_factory=list)
    """Models offered by this provider; refs like ``<id>/<model id>`` select one. Default []."""

    retry: ProviderRetryOverride = Field(default_factory=ProviderRetryOverride,
                                         json_schema_extra=reload(Reload.HOT, "retry-policy"))
    """Per-provider override of ``retry.provider``, ``retry.budget`` and the global retry limits;
    unset keys inherit (docs/design/retry.md#retry-settings)."""

    timeout_ms: int = Field(600_000, ge=1_000, le=3_600_000)
    """Network timeout in ms for each read, write and connection-pool wait of a request (httpx
    read/write/pool); also clamped to the retry owner's remaining deadline. Default 600000
    (10 min, the official SDKs' default)."""

    connect_timeout_ms: int = Field(5_000, ge=100, le=600_000)
    """Timeout in ms to establish the TCP/TLS connection; a connect timeout is a pre-connect
    error, always safe to retry. Default 5000 (the official SDKs' default)."""

    first_byte_timeout_ms: int | None = Field(None, ge=1_000, le=3_600_000)
    """This provider's time-to-first-byte limit of a streamed call, in ms (see
    ``models.firstByteTimeoutMs``). Raise it for a local server that holds its response headers
    until prefill is done. Default null (= ``models.firstByteTimeoutMs``)."""

    idle_timeout_ms: int | None = Field(None, ge=1_000, le=3_600_000)
    """This provider's stream-idle limit, in ms (see ``models.idleTimeoutMs``). Default null
    (= ``models.idleTimeoutMs``)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        shown = redact_url_userinfo(value)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
            raise ValueError(f"{shown!r} is not an http(s) URL (e.g. http://127.0.0.1:11434/v1)")
        try:
            port = parts.port  # urllib checks the port's range only when it is read
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"{shown!r} has an invalid port: it must be a number from 1 to 65535")
        return value

    @model_validator(mode="after")
    def _unique_model_ids(self) -> Self:
        seen: dict[str, int] = {}
        errors = []
        for index, model in enumerate(self.models):
            if model.id in seen:
                errors.append((
                    ("models", index, "id"),
                    "duplicate_model_id",
                    f"model id {model.id!r} is already defined at models.{seen[model.id]}",
                    model.id,
                ))
            else:
                seen[model.id] = index
        raise_at("ProviderConfig", errors)
        return self

    def model(self, model_id: str) -> ModelDefinition | None:
        """The entry with this id, or None when the provider does not list it."""
        return next((m for m in self.models if m.id == model_id), None)


class ModelsConfig(StrictModel):
    """Root ``models`` section."""

    first_byte_timeout_ms: int = Field(30_000, ge=1_000, le=3_600_000)
    """Time-to-first-byte limit of a streamed model call, in ms: from sending the request (connect
    and upload included) to the first byte of the response (status and headers). Streaming APIs
    answer as soon as they accept a request and generate afterwards, so a server silent this long
    has hung; the call fails as a ``timeout`` and is retried per the retry policy
    (docs/design/retry.md#timeouts). Per provider: ``models.providers.<id>.firstByteTimeoutMs``.
    Default 30000."""

    idle_timeout_ms: int = Field(120_000, ge=1_000, le=3_600_000)
    """Stream-idle limit, in ms: the longest silence allowed while reading a response body, from
    the headers to the first event and between two reads (keep-alive pings count as traffic).
    The call then fails as a ``timeout``, retried only when no output had been delivered yet.
    OpenClaw's LLM idle timeout (its ``idleTimeoutSeconds``, 120 s). Per provider:
    ``models.providers.<id>.idleTimeoutMs``. Default 120000."""

    providers: dict[ProviderId, ProviderConfig] = Field(default_factory=dict)
    """Provider endpoints by id; the id is the part before ``/`` in model refs. ``sim`` is
    reserved for the built-in simulator. Default {} (only the simulator)."""

    def stream_timeouts(self, provider: ProviderConfig | None) -> tuple[int, int]:
        """``(firstByteTimeoutMs, idleTimeoutMs)`` in force for a provider entry: its own values,
        else this section's (None: the simulator, which has no entry)."""
        first_byte = provider.first_byte_timeout_ms if provider is not None else None
        idle = provider.idle_timeout_ms if provider is not None else None
        return (first_byte if first_byte is not None else self.first_byte_timeout_ms,
                idle if idle is not None else self.idle_timeout_ms)
