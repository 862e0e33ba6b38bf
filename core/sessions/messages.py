"""``AgentMessage``: one model-context message, exactly as OpenClaw/pi store it in a transcript.

Why a thin wrapper over the parsed JSON dict instead of a tree of typed block objects: a 50 MB
transcript must load in < 1 s and stay ≤ 2× its size in memory. A wrapper costs one slot; content
blocks stay the plain dicts/lists ``json.loads`` produced, read through typed accessors. The dict
(``raw``) is the single source of truth, so unknown keys and key order round-trip unchanged.

Shapes (pi ``@mariozechner/pi-ai`` / pi-agent-core), keys as in the file:

- ``{"role": "user", "content": str | [text|image blocks], "timestamp": ms}``
- ``{"role": "assistant", "content": [text|thinking|toolCall blocks], "api", "provider",
  "model", "usage": {input, output, cacheRead, cacheWrite, totalTokens, cost: {…}},
  "stopReason": "stop"|"length"|"toolUse"|"error"|"aborted", "errorMessage"?, "timestamp"}``
- ``{"role": "toolResult", "toolCallId", "toolName", "content": [text|image blocks],
  "details"?, "isError": bool, "timestamp"}``
- synthetic roles built by :meth:`core.sessions.model.Session.messages`: ``compactionSummary``
  (``summary``, ``tokensBefore``), ``branchSummary`` (``summary``, ``fromId``) and ``custom``
  (``customType``, ``content``, ``display``, ``details``).

Blocks: ``{"type": "text", "text"}``, ``{"type": "thinking", "thinking", "thinkingSignature"?}``,
``{"type": "toolCall", "id", "name", "arguments": {…}}``, ``{"type": "image", "data",
"mimeType"}``.

Messages are treated as immutable: the pruner derives new ones with :meth:`AgentMessage.replace`
(shallow copy) so a transcript's stored message is never altered behind the session's back.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = [
    "COMPACTION_SUMMARY_PREFIX",
    "COMPACTION_SUMMARY_SUFFIX",
    "BRANCH_SUMMARY_PREFIX",
    "BRANCH_SUMMARY_SUFFIX",
    "AgentMessage",
    "Block",
    "now_ms",
]

Block = dict[str, Any]
"""A content block as parsed from JSON (``{"type": "text", "text": …}`` …)."""

COMPACTION_SUMMARY_PREFIX = (
    "The conversation history before this point was compacted into the following summary:"
    "\n\n<summary>\n"
)
COMPACTION_SUMMARY_SUFFIX = "\n</summary>"
BRANCH_SUMMARY_PREFIX = (
    "The following is a summary of a branch that this conversation came back from:\n\n<summary>\n"
)
BRANCH_SUMMARY_SUFFIX = "\n</summary>"


def now_ms() -> int:
    """Wall clock in epoch milliseconds — pi's message ``timestamp`` unit."""
    return int(time.time() * 1000)


class AgentMessage:
    """One message (``raw`` = its JSON object). Construct with :meth:`user`, :meth:`assistant`,
    :meth:`tool_result` or :meth:`from_json`."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AgentMessage:
        """Wrap a parsed message object (no copy: the wrapper shares it)."""
        return cls(raw)

    def to_json(self) -> dict[str, Any]:
        """The JSON object as it goes to the file (the shared dict itself; do not mutate)."""
        return self.raw

    @classmethod
    def user(cls, content: str | list[Block], *, timestamp: int | None = None) -> AgentMessage:
        return cls({"role": "user", "content": content, "timestamp": timestamp or now_ms()})

    @classmethod
    def assistant(
        cls,
        content: list[Block],
        *,
        provider: str = "",
        model: str = "",
        api: str = "",
        usage: dict[str, Any] | None = None,
        stop_reason: str = "stop",
        error_message: str | None = None,
        timestamp: int | None = None,
    ) -> AgentMessage:
        raw: dict[str, Any] = {
            "role": "assistant",
            "content": content,
            "api": api,
            "provider": provider,
            "model": model,
            "usage": usage if usage is not None else empty_usage(),
            "stopReason": stop_reason,
        }
        if error_message is not None:
            raw["errorMessage"] = error_message
        raw["timestamp"] = timestamp or now_ms()
        return cls(raw)

    @classmethod
    def tool_result(
        cls,
        tool_call_id: str,
        tool_name: str,
        content: list[Block] | str,
        *,
        is_error: bool = False,
        details: Any = None,
        timestamp: int | None = None,
    ) -> AgentMessage:
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        raw: dict[str, Any] = {
            "role": "toolResult",
            "toolCallId": tool_call_id,
            "toolName": tool_name,
            "content": blocks,
        }
        if details is not None:
            raw["details"] = details
        raw["isError"] = is_error
        raw["timestamp"] = timestamp or now_ms()
        return cls(raw)

    def replace(self, **json_fields: Any) -> AgentMessage:
        """A copy with some top-level JSON keys replaced (keys as in the file, e.g.
        ``content=[…]``); the original is untouched. Used by pruning to trim a tool result."""
        raw = dict(self.raw)
        raw.update(json_fields)
        return AgentMessage(raw)

    # -- typed accessors ------------------------------------------------------------------
    @property
    def role(self) -> str:
        role: str = self.raw.get("role", "")
        return role

    @property
    def content(self) -> str | list[Block]:
        """Raw content: a string (user shorthand) or a list of blocks."""
        content: str | list[Block] = self.raw.get("content", "")
        return content

    def blocks(self) -> list[Block]:
        """Content as blocks; a string content becomes one text block (not stored back)."""
        content = self.raw.get("content")
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return content if isinstance(content, list) else []

    def text(self) -> str:
        """All text blocks joined with newlines (string content returned as is)."""
        content = self.raw.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in self.blocks() if b.get("type") == "text")

    def tool_calls(self) -> list[Block]:
        """The ``toolCall`` blocks of an assistant message (``id``, ``name``, ``arguments``)."""
        return [b for b in self.blocks() if b.get("type") == "toolCall"]

    def thinking(self) -> list[Block]:
        return [b for b in self.blocks() if b.get("type") == "thinking"]

    def images(self) -> list[Block]:
        return [b for b in self.blocks() if b.get("type") == "image"]

    @property
    def timestamp(self) -> int | None:
        return self.raw.get("timestamp")

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.raw.get("usage")

    @property
    def stop_reason(self) -> str | None:
        return self.raw.get("stopReason")

    @property
    def model(self) -> str | None:
        return self.raw.get("model")

    @property
    def provider(self) -> str | None:
        return self.raw.get("provider")

    @property
    def tool_call_id(self) -> str | None:
        return self.raw.get("toolCallId")

    @property
    def tool_name(self) -> str | None:
        return self.raw.get("toolName")

    @property
    def is_error(self) -> bool:
        return bool(self.raw.get("isError", False))

    def llm_text(self) -> str | None:
        """For the synthetic summary roles, the user-message text the model sees
        (docs/design/compaction.md#persistence-in-the-transcript); ``None`` for ordinary roles."""
        role = self.role
        summary: str = self.raw.get("summary", "")
        if role == "compactionSummary":
            return COMPACTION_SUMMARY_PREFIX + summary + COMPACTION_SUMMARY_SUFFIX
        if role == "branchSummary":
            return BRANCH_SUMMARY_PREFIX + summary + BRANCH_SUMMARY_SUFFIX
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentMessage) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose (mutable dict); typeshed types it as a method

    def __repr__(self) -> str:
        return f"AgentMessage(role={self.role!r}, blocks={len(self.blocks())})"


def empty_usage() -> dict[str, Any]:
    """pi's zero ``usage`` object (assistant messages always carry one)."""
    return {
        "input": 0,
        "output": 0,
        "cacheRead": 0,
        "cacheWrite": 0,
        "totalTokens": 0,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0},
    }
