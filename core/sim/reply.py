"""What the simulated model answers, and when each piece of it is due.

:func:`build_reply` turns a parsed request into an API-neutral :class:`Reply` (text or tool calls,
stop reason, one piece per output token). :func:`pace` yields the pieces in small groups on an
absolute schedule: piece ``i`` is due at ``first_at + i / tokens_per_sec``. The first piece goes
out alone exactly at the time to first token, and every group is sent when its *last* piece is
due, so the measured TTFT and tokens/s match the config (no drift accumulates) while the event
loop wakes at most about every :data:`GROUP_INTERVAL_S` per stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from typing import Literal

from core.sim.request import SimRequest
from core.sim.textgen import pseudo_words, reply_rng, split_pieces

__all__ = ["GROUP_INTERVAL_S", "Reply", "ReplyBlock", "Usage", "build_reply", "pace"]

GROUP_INTERVAL_S = 0.025
"""Target spacing of stream writes: 200 tokens/s goes out as 5 pieces every 25 ms."""

StopReason = Literal["end_turn", "max_tokens", "tool_use"]


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyBlock:
    """One output block: text, or a tool call whose input JSON is streamed in pieces."""

    pieces: tuple[str, ...]
    tool_id: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, object] | None = None

    @property
    def is_tool(self) -> bool:
        return self.tool_name is not None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A whole reply; ``pieces`` flattens the blocks as ``(block index, piece)`` in send order
    (computed once: the pacer slices it on every tick)."""

    id: str
    blocks: tuple[ReplyBlock, ...]
    stop_reason: StopReason
    pieces: tuple[tuple[int, str], ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        flat = tuple((index, piece) for index, block in enumerate(self.blocks) for piece in block.pieces)
        object.__setattr__(self, "pieces", flat)

    @property
    def output_tokens(self) -> int:
        return len(self.pieces)


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one exchange. ``input`` is the uncached part; the three input parts are
    disjoint (Anthropic's convention; OpenAI's ``prompt_tokens`` is their sum)."""

    input: int
    cache_read: int
    cache_creation: int
    cache_creation_5m: int
    cache_creation_1h: int
    output: int

    @property
    def prompt_total(self) -> int:
        return self.input + self.cache_read + self.cache_creation


def build_reply(request: SimRequest, *, reply_tokens: int, seed: int) -> Reply:
    """The reply to ``request``: its tool calls if the trigger asked for some, else text of
    ``reply_tokens`` pieces (fewer, with stop reason ``max_tokens``, when the request caps it)."""
    rng = reply_rng(seed, request.prompt_digest)
    reply_id = secrets.token_hex(12)
    if request.tool_calls:
        blocks = tuple(
            ReplyBlock(
                pieces=tuple(split_pieces(json.dumps(call.input, separators=(",", ":")))),
                tool_id=f"{rng.getrandbits(96):024x}",
                tool_name=call.name,
                tool_input=call.input,
            )
            for call in request.tool_calls
        )
        return Reply(id=reply_id, blocks=blocks, stop_reason="tool_use")
    count = reply_tokens
    stop: StopReason = "end_turn"
    if request.max_tokens is not None and request.max_tokens < count:
        count, stop = request.max_tokens, "max_tokens"
    return Reply(id=reply_id, blocks=(ReplyBlock(pieces=tuple(pseudo_words(rng, count))),), stop_reason=stop)


def group_ends(count: int, tokens_per_sec: float) -> list[int]:
    """Indices of the pieces that close each send group: 0 alone, then every ``group`` pieces,
    and always the last one."""
    if count <= 0:
        return []
    group = max(1, int(tokens_per_sec * GROUP_INTERVAL_S))
    return sorted({0, *range(group, count - 1, group), count - 1})


async def pace(count: int, first_at: float, tokens_per_sec: float) -> AsyncIterator[tuple[int, int]]:
    """Yield ``(start, stop)`` slices of ``count`` pieces, each when its last piece is due
    (``first_at`` is on the event loop's clock)."""
    loop = asyncio.get_running_loop()
    start = 0
    for end in group_ends(count, tokens_per_sec):
        delay = first_at + end / tokens_per_sec - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        yield start, end + 1
        start = end + 1
