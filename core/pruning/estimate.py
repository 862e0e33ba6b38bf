"""The pruner's character estimate (docs/design/pruning.md#character-estimate), shared with ``core.context``.

The ratios are defined over this exact measure (OpenClaw's ``estimateMessageChars``), and the
``/context`` report must show the same distances to them, so both use
:func:`core.context.estimate.estimate_message`; this module only adds what the pruner needs on
top: the fixed 4 chars/token of ``charWindow`` and dropping non-latest thinking blocks when the
provider drops thinking on replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.context.estimate import IMAGE_CHARS, OTHER_ROLE_CHARS, estimate_message, estimate_text_chars

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_CHARS",
    "OTHER_ROLE_CHARS",
    "estimate_message_chars",
    "estimate_text_chars",
    "estimate_total_chars",
]

CHARS_PER_TOKEN = 4
"""``charWindow = contextWindowTokens × 4`` (OpenClaw's ``CHARS_PER_TOKEN_ESTIMATE``)."""

Message = Mapping[str, Any]


def estimate_message_chars(message: Message, *, drop_thinking: bool = False) -> int:
    """Estimated chars of one message; ``drop_thinking`` ignores its thinking blocks (the
    provider drops them on replay, so they cost nothing)."""
    est = estimate_message(message)
    return est.chars - est.thinking if drop_thinking else est.chars


def estimate_total_chars(messages: Sequence[Message], *, drop_thinking: bool = False) -> list[int]:
    """Per-message estimates; with ``drop_thinking`` only the latest assistant keeps its thinking."""
    latest_assistant = -1
    if drop_thinking:
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].get("role") == "assistant":
                latest_assistant = i
                break
    return [
        estimate_message_chars(m, drop_thinking=drop_thinking and i != latest_assistant)
        for i, m in enumerate(messages)
    ]
