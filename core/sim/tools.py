"""The tool trigger: how a prompt makes the simulator call a tool.

Rule (the same for both APIs):

* The **last message** must be a plain **user** message (not a tool result), the request must
  **offer tools**, and that message's text must contain one or more markers
  ``[[tool:NAME]]`` or ``[[tool:NAME {json object}]]``.
* Every marker whose NAME is among the offered tools becomes one tool call, in order, with the
  JSON object as its input (``{}`` when omitted). The reply then holds only those calls:
  Anthropic ``tool_use`` blocks with ``stop_reason: "tool_use"``, OpenAI ``tool_calls`` with
  ``finish_reason: "tool_calls"``. Markers naming tools that were not offered are ignored.
* When the last message carries tool results (Anthropic ``tool_result`` blocks, OpenAI
  ``role: "tool"``), the reply is ordinary text, so a tool loop ends after one round.
* A marker with invalid JSON, or JSON that is not an object, is a 400 ``invalid_request_error``
  naming the marker: a typo in a test prompt should fail loudly, not turn into a text reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from core.sim.request import RequestError, ToolCall

__all__ = ["find_tool_calls"]

_MARKER = re.compile(r"\[\[tool:(?P<name>[A-Za-z0-9_.\-]+)(?:\s+(?P<json>\{.*?\}))?\s*\]\]", re.DOTALL)


def find_tool_calls(text: str, offered: Collection[str]) -> tuple[ToolCall, ...]:
    """The tool calls requested by the markers in ``text`` (see the module rule)."""
    if not offered or "[[tool:" not in text:
        return ()
    calls: list[ToolCall] = []
    for match in _MARKER.finditer(text):
        name = match["name"]
        if name not in offered:
            continue
        raw = match["json"]
        try:
            value = json.loads(raw) if raw else {}
        except json.JSONDecodeError as exc:
            raise RequestError(400, "invalid_request",
                               f"simulator tool trigger {match[0]!r}: invalid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise RequestError(400, "invalid_request",
                               f"simulator tool trigger {match[0]!r}: the input must be a JSON object")
        calls.append(ToolCall(name=name, input=value))
    return tuple(calls)
