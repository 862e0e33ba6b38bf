"""A generation request reduced to what the simulator needs, whichever API it came in.

Both dialects parse their body into a :class:`SimRequest`: the prompt as an ordered list of
:class:`PromptBlock` (tools → system → messages, the order prompt caches key on), the cache
breakpoints, the tool calls asked for through the trigger, and a digest of the whole prompt that
seeds the reply text. Everything downstream (cache, rate limits, reply, pacing) is API-neutral.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Literal

from core.sim.textgen import count_tokens

__all__ = ["Api", "BlockBuilder", "ErrorKind", "PromptBlock", "RequestError", "SimRequest", "ToolCall", "canonical",
           "model_name"]

Api = Literal["anthropic", "openai"]


ErrorKind = Literal[
    "invalid_request", "not_found", "too_large", "rate_limit", "spend_cap",
    "overloaded", "server_error", "bad_gateway", "unavailable", "context_overflow",
]
"""An error in API-neutral terms; each dialect maps it to its own type, code and wording."""


class RequestError(Exception):
    """The request is malformed or names something unknown; rendered as the API's own error
    body (Anthropic ``invalid_request_error`` / ``not_found_error``, OpenAI equivalents)."""

    def __init__(self, status: int, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind: ErrorKind = kind
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class PromptBlock:
    """One cacheable unit of the prompt: a tool definition, a system block, a content block
    (Anthropic) or a whole message (OpenAI).

    ``chain`` is the hash of this block *and every block before it*, so equal chains mean an
    exactly equal prefix; ``ttl_ms`` is set when the block carries a cache breakpoint.
    """

    chain: bytes
    tokens: int
    ttl_ms: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the reply will make (from the ``[[tool:NAME {json}]]`` trigger)."""

    name: str
    input: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class SimRequest:
    """A parsed generation request."""

    api: Api
    model: str
    """The model id as sent (``fast`` or ``sim/fast``); echoed back in the response."""
    stream: bool
    max_tokens: int | None
    blocks: tuple[PromptBlock, ...]
    tool_calls: tuple[ToolCall, ...] = ()
    include_usage: bool = False
    """OpenAI ``stream_options.include_usage``: send the final usage chunk."""

    @property
    def input_tokens(self) -> int:
        """All prompt tokens (cached or not)."""
        return sum(block.tokens for block in self.blocks)

    @property
    def prompt_digest(self) -> bytes:
        """Hash of the whole prompt (seeds the reply text)."""
        return self.blocks[-1].chain if self.blocks else b""


def canonical(value: Any) -> str:
    """Stable JSON text of a value (sorted keys, no spaces): what block hashes are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class BlockBuilder:
    """Builds the hash chain of a prompt one block at a time.

    ``key`` is what identifies the block's content (the API's own JSON minus ``cache_control``,
    plus the role for message content); ``text`` is what its tokens are counted from.
    """

    def __init__(self, model: str) -> None:
        # Caches are per model: two models never share an entry, so the chain starts from it.
        self._chain = hashlib.sha256(b"sim-cache\0" + model.encode()).digest()
        self.blocks: list[PromptBlock] = []

    def add(self, key: Any, text: str, ttl_ms: int | None = None) -> None:
        """Append one block."""
        self._chain = hashlib.sha256(self._chain + canonical(key).encode()).digest()
        self.blocks.append(PromptBlock(chain=self._chain, tokens=count_tokens(text), ttl_ms=ttl_ms))

    def mark_last(self, ttl_ms: int) -> None:
        """Put a breakpoint on the last block (Anthropic's automatic caching)."""
        if self.blocks and self.blocks[-1].ttl_ms is None:
            self.blocks[-1] = dataclasses.replace(self.blocks[-1], ttl_ms=ttl_ms)


def model_name(raw: str) -> str:
    """The simulated model a request names: ``fast`` and ``sim/fast`` are the same model (a
    client may send the gateway's full ref)."""
    return raw.removeprefix("sim/")
