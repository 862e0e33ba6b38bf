"""Model provider clients (Anthropic Messages, OpenAI-compatible Chat Completions) over httpx.

Clients never retry: the retry engine (``core.retry``) is the single retry owner. A client
raises a :class:`~core.provider_errors.ProviderError` carrying everything the engine needs to
classify the failure (status, headers, Retry-After, whether the request reached the server).
"""

from core.provider_errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderProtocolError,
    ProviderTimeoutError,
)
from core.providers.anthropic import AnthropicClient
from core.providers.base import ProviderClient, collect
from core.providers.events import ProviderCallFinished, ProviderRateLimits
from core.providers.openai_compat import OpenAICompatClient
from core.providers.ratelimits import RateLimitSnapshot, parse_rate_limits
from core.providers.registry import ProviderRegistry, build_client
from core.providers.types import (
    ChatMessage,
    ContentBlock,
    ModelRequest,
    ModelResponse,
    RateLimits,
    StreamEnd,
    StreamEvent,
    TextBlock,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
    UsageUpdate,
)

__all__ = [
    "AnthropicClient",
    "ChatMessage",
    "ContentBlock",
    "ModelRequest",
    "ModelResponse",
    "OpenAICompatClient",
    "ProviderCallFinished",
    "ProviderClient",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderProtocolError",
    "ProviderRateLimits",
    "ProviderRegistry",
    "ProviderTimeoutError",
    "RateLimitSnapshot",
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
    "build_client",
    "collect",
    "parse_rate_limits",
]
