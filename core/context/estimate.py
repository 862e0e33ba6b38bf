"""Characters → tokens, and per-message character estimates by category (docs/design/pruning.md#character-estimate,
docs/design/context.md#token-estimates).

Why characters and not a tokenizer: OpenClaw estimates everything as ``chars / 4`` with a CJK
weighting, and the pruner's ratios are defined in those units; clawtop keeps the same unit and
only replaces the divisor with a per-model learned ratio (docs/design/context.md#chars-per-token-calibration,
``calibration.py``).

Messages may be plain dicts (JSONL / OpenClaw wire shape) or objects with the same attribute
names (``core.sessions.model``); :func:`field` reads either.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.sessions.messages import (
    BRANCH_SUMMARY_PREFIX,
    BRANCH_SUMMARY_SUFFIX,
    COMPACTION_SUMMARY_PREFIX,
    COMPACTION_SUMMARY_SUFFIX,
)

__all__ = [
    "CATEGORIES",
    "CHARS_PER_TOKEN_ESTIMATE",
    "IMAGE_CHARS",
    "OTHER_ROLE_CHARS",
    "MessageEstimate",
    "estimate_message",
    "estimate_text_chars",
    "field",
    "tokens_from_chars",
]

CHARS_PER_TOKEN_ESTIMATE = 4
"""OpenClaw's ``CHARS_PER_TOKEN_ESTIMATE`` (``src/utils/cjk-chars.ts``)."""

IMAGE_CHARS = 8000
"""Estimated chars of one image block (docs/design/pruning.md#character-estimate)."""

OTHER_ROLE_CHARS = 256
"""Flat estimate for any role the pruner does not look into (custom, compactionSummary, …)."""

TOOL_CALL_FALLBACK_CHARS = 128
"""Counted for a tool call whose arguments cannot be JSON-serialised."""

_CJK = re.compile("[\u2e80-\u9fff\ua000-\ua4ff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]+")
"""Runs of CJK characters: removing whole runs and comparing lengths counts them without
building a list of single-character matches (about 4x faster on CJK-heavy text)."""


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for mappings (and for wrappers exposing the JSON dict as ``raw``, like
    ``core.sessions.messages.AgentMessage``), ``obj.name`` otherwise."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    raw = getattr(obj, "raw", None)
    if isinstance(raw, dict):
        return raw.get(name, default)
    return getattr(obj, name, default)


def estimate_text_chars(text: str) -> int:
    """Code-point length plus 3 per CJK/Hangul/Kana char, so ``chars / 4`` ≈ 1 token per CJK char.

    Python strings are code points, so an Ext-B character counts once, as
    docs/design/context.md#token-estimates requires. ASCII text (the common case) skips the regex.
    """
    if text.isascii():
        return len(text)
    cjk = len(text) - len(_CJK.sub("", text))
    return len(text) + 3 * cjk


def tokens_from_chars(chars: int | float, chars_per_token: float = CHARS_PER_TOKEN_ESTIMATE) -> int:
    """``ceil(chars / ratio)`` — OpenClaw's ``estimateTokensFromChars`` with a settable ratio."""
    if chars <= 0:
        return 0
    return math.ceil(chars / chars_per_token)


@dataclass(slots=True)
class MessageEstimate:
    """Estimated chars of one context message, split by report category.

    ``chars`` is the pruner's figure (docs/design/pruning.md#character-estimate); ``tool_name`` is set for tool results
    so the report can group them per tool.
    """

    chars: int = 0
    role: str = ""
    user: int = 0
    assistant_text: int = 0
    thinking: int = 0
    tool_calls: int = 0
    tool_results: int = 0
    images: int = 0
    image_count: int = 0
    compaction_summaries: int = 0
    other: int = 0
    tool_name: str | None = None

    @property
    def content_chars(self) -> int:
        """Sum of the categories: what is really sent (differs from ``chars`` for summaries
        and custom messages, which the pruner counts as a flat 256)."""
        return (
            self.user + self.assistant_text + self.thinking + self.tool_calls + self.tool_results
            + self.images + self.compaction_summaries + self.other
        )


def _json_len(value: Any) -> int:
    try:
        return estimate_text_chars(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    except (TypeError, ValueError):
        return TOOL_CALL_FALLBACK_CHARS


def _text_and_images(content: Any, est: MessageEstimate) -> int:
    """Text + image blocks of a user message or tool result; returns the text chars."""
    if isinstance(content, str):
        return estimate_text_chars(content)
    text = 0
    for block in content or ():
        kind = field(block, "type")
        if kind == "text":
            value = field(block, "text")
            text += estimate_text_chars(value) if isinstance(value, str) else _json_len(value)
        elif kind == "image":
            est.images += IMAGE_CHARS
            est.image_count += 1
    return text


def _assistant(content: Any, est: MessageEstimate) -> None:
    if isinstance(content, str):
        est.assistant_text += estimate_text_chars(content)
        return
    for block in content or ():
        if block is None:
            continue
        kind = field(block, "type")
        if kind == "text":
            value = field(block, "text")
            est.assistant_text += estimate_text_chars(value) if isinstance(value, str) else _json_len(value)
        elif kind in ("thinking", "redacted_thinking"):
            names = (("thinking", "data", "thinkingSignature") if kind == "redacted_thinking"
                     else ("thinking", "thinkingSignature"))
            for name in names:
                value = field(block, name)
                if isinstance(value, str):
                    est.thinking += estimate_text_chars(value)
        elif kind == "toolCall":
            est.tool_calls += _json_len(field(block, "arguments", {}))


def estimate_message(message: Any) -> MessageEstimate:
    """Estimate one context message as the pruner does (docs/design/pruning.md#character-estimate), keeping the
    categories.

    ``chars`` is exactly the pruner's figure — flat 256 for summaries and custom messages — so
    ratio distances match its decisions. The categories hold what is really sent (a summary's
    full text), so the report shows how big a compaction summary actually is.
    """
    role = field(message, "role") or ""
    est = MessageEstimate(role=role)
    content = field(message, "content")
    if role == "user":
        est.user = _text_and_images(content, est)
    elif role == "toolResult":
        est.tool_results = _text_and_images(content, est)
        est.tool_name = field(message, "toolName") or "unknown"
    elif role == "assistant":
        _assistant(content, est)
    elif role in _SUMMARY_WRAP:
        prefix, suffix = _SUMMARY_WRAP[role]
        summary = field(message, "summary") or ""
        text = summary if isinstance(summary, str) else ""
        est.compaction_summaries = len(prefix) + len(suffix) + estimate_text_chars(text)
    else:
        est.other = _text_and_images(content, est) if content is not None else 0
    if role in ("user", "toolResult", "assistant"):
        est.chars = est.content_chars
    else:
        est.chars = OTHER_ROLE_CHARS
    return est


_SUMMARY_WRAP = {
    "compactionSummary": (COMPACTION_SUMMARY_PREFIX, COMPACTION_SUMMARY_SUFFIX),
    "branchSummary": (BRANCH_SUMMARY_PREFIX, BRANCH_SUMMARY_SUFFIX),
}


CATEGORIES = (
    "user",
    "assistant_text",
    "thinking",
    "tool_calls",
    "tool_results",
    "images",
    "compaction_summaries",
    "other",
)
"""History categories of the report, in display order."""
