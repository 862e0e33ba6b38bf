"""Provider-neutral request, response and stream-event types.

Everything here is a frozen dataclass: a request can be shared between a retry attempt and a
fallback model without anyone mutating it, and a stream event handed to the dashboard can never
be changed by another consumer. Both wire clients translate to and from these types, so the
agent loop, the bench and the retry engine never see a provider's JSON.

Stop reasons use one vocabulary, Anthropic's (``end_turn``, ``max_tokens``, ``tool_use``,
``stop_sequence``, ``refusal``, …): the OpenAI-compatible client maps ``stop`` → ``end_turn``,
``length`` → ``max_tokens``, ``tool_calls``/``function_call`` → ``tool_use`` and passes any
other value through unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from core.providers.ratelimits import RateLimitSnapshot

__all__ = [
    "ChatMessage",
    "ContentBlock",
    "ModelRequest",
    "ModelResponse",
    "RateLimits",
    "StreamEnd",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ThinkingDelta",
    "ToolCall",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "Usage",
    "UsageUpdate",
]

@dataclasses.dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call; ``input_schema`` is a JSON Schema object."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class TextBlock:
    """Plain text inside a message."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """An assistant's tool call, replayed in the history of a later request."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolResultBlock:
    """The result of a tool call, sent back to the model (Anthropic: in a user turn; OpenAI: as
    a ``role: tool`` message)."""

    tool_use_id: str
    content: str
    is_error: bool = False


ContentBlock: TypeAlias = TextBlock | ToolUseBlock | ToolResultBlock


@dataclasses.dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn. ``role="tool"`` carries :class:`ToolResultBlock` content only."""

    role: Literal["user", "assistant", "tool"]
    content: str | tuple[ContentBlock, ...]


CacheRetention = Literal["none", "short", "long"]


@dataclasses.dataclass(frozen=True, slots=True)
class ModelRequest:
    """What to ask a model. ``stream`` only matters to :meth:`ProviderClient.call`, which picks
    streaming or not; :meth:`~ProviderClient.stream` and :meth:`~ProviderClient.complete` are
    explicit."""

    model: str
    messages: tuple[ChatMessage, ...]
    system: str | None = None
    max_tokens: int = 1024
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    stream: bool = True
    cache_retention: CacheRetention | None = None
    """Prompt caching (docs/design/pruning.md#provider-prompt-caching): ``none``, ``short`` (5 min) or ``long`` (1 h).
    None means the provider's default: ``short`` for the Anthropic Messages API, as OpenClaw;
    OpenAI-compatible servers cache prefixes automatically and ignore it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, as four *disjoint* parts so costs can be priced part by part.

    Anthropic reports them disjoint already (``input_tokens`` excludes cache reads and writes).
    OpenAI's ``prompt_tokens`` *includes* ``prompt_tokens_details.cached_tokens`` (and, on some
    routers, ``cache_write_tokens``), so the OpenAI-compatible client stores
    ``input_tokens = prompt_tokens − cached − cache_write`` to keep the parts disjoint.
    ``output_tokens`` includes reasoning tokens. ``estimated`` is True when the server sent no
    usage at all and ``output_tokens`` is the client's count of streamed content chunks.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """All tokens of the call: the four disjoint parts added."""
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply text, in arrival order."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's reasoning (Anthropic ``thinking_delta``; OpenAI-compatible
    ``reasoning_content`` / ``reasoning``). Never part of :attr:`ModelResponse.text`."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call, emitted once its block has ended and its input JSON parsed."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class UsageUpdate:
    """Usage so far. Cumulative: each one replaces the previous, never add them up."""

    usage: Usage


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimits:
    """Rate-limit headers of the response, emitted once right after the headers arrive."""

    snapshot: RateLimitSnapshot


@dataclasses.dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of a successful stream. The fields after ``usage`` describe the call, so
    :func:`~core.providers.base.collect` can build a :class:`ModelResponse` from events alone."""

    stop_reason: str | None
    usage: Usage
    model: str | None = None
    request_id: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None


StreamEvent: TypeAlias = TextDelta | ThinkingDelta | ToolCall | UsageUpdate | RateLimits | StreamEnd


@dataclasses.dataclass(frozen=True, slots=True)
class ModelResponse:
    """A whole reply. ``ttft_ms`` is None for a non-streamed call; ``request_id`` is the
    provider's request id header (``request-id`` / ``x-request-id``) when sent."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    stop_reason: str | None
    model: str | None
    request_id: str | None
    rate_limits: RateLimitSnapshot | None
    ttft_ms: float | None
    latency_ms: float
    thinking: str = ""
