"""Soft trim and hard clear of one tool result (docs/design/pruning.md#soft-trim, docs/design/pruning.md#hard-clear).

The output strings are byte-identical to OpenClaw's, because a replayed decision must produce the
same prompt prefix on every later request or the provider cache never re-forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IMAGE_REMOVED_TEXT",
    "SoftTrimOutcome",
    "hard_clear_message",
    "soft_trim_message",
    "trim_notice",
]

IMAGE_REMOVED_TEXT = "[image removed during context pruning]"


def trim_notice(head: int, tail: int, raw_len: int) -> str:
    """The marker line appended to a trimmed result."""
    return f"[Tool result trimmed: kept first {head} chars and last {tail} chars of {raw_len} chars.]"


@dataclass(frozen=True, slots=True)
class SoftTrimOutcome:
    """A replacement message, and whether it was a real trim or only image stripping."""

    message: dict[str, Any]
    trimmed: bool
    images_removed: int


def _segments(content: Any) -> tuple[list[str], int]:
    if isinstance(content, str):
        return [content], 0
    segments: list[str] = []
    images = 0
    for block in content or ():
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            segments.append(block["text"])
        elif block.get("type") == "image":
            images += 1
            segments.append(IMAGE_REMOVED_TEXT)
    return segments, images


def _with_text(message: Mapping[str, Any], text: str) -> dict[str, Any]:
    # Only the content changes: toolCallId, toolName, isError (and anything else) are kept, so
    # the tool-call / tool-result pairing can never break.
    replaced = dict(message)
    replaced["content"] = [{"type": "text", "text": text}]
    return replaced


def soft_trim_message(message: Mapping[str, Any], *, max_chars: int, head_chars: int,
                      tail_chars: int) -> SoftTrimOutcome | None:
    """Head + ``...`` + tail with a notice, or image stripping only, or None (unchanged)."""
    segments, images = _segments(message.get("content"))
    raw_len = sum(len(s) for s in segments) + max(len(segments) - 1, 0)
    if raw_len <= max_chars or head_chars + tail_chars >= raw_len:
        if images:
            return SoftTrimOutcome(_with_text(message, "\n".join(segments)), False, images)
        return None
    joined = "\n".join(segments)
    head = joined[:head_chars]
    tail = joined[raw_len - tail_chars:] if tail_chars > 0 else ""
    text = f"{head}\n...\n{tail}\n\n{trim_notice(head_chars, tail_chars, raw_len)}"
    return SoftTrimOutcome(_with_text(message, text), True, images)


def hard_clear_message(message: Mapping[str, Any], placeholder: str) -> dict[str, Any]:
    """The whole content becomes one text block holding the placeholder."""
    return _with_text(message, placeholder)
