"""Tool allow/deny matching for pruning (docs/design/pruning.md#tool-allow-and-deny-lists).

Compiled once per settings object: the predicate runs for every tool result on every model call,
so patterns become one anchored regex per list instead of being re-parsed per name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["ToolPredicate", "compile_tool_predicate", "glob_matches"]

ToolPredicate = Callable[[str], bool]


def _clean(patterns: Iterable[str]) -> list[str]:
    # Trimmed, lower-cased, empty dropped — OpenClaw's normalisation.
    return [p.strip().lower() for p in patterns if p and p.strip()]


def _compile(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    # `*` is the only wildcard (any run of characters); everything else is literal.
    alternatives = ("".join(".*" if ch == "*" else re.escape(ch) for ch in p) for p in patterns)
    return re.compile("(?:" + "|".join(alternatives) + r")\Z", re.DOTALL)


def glob_matches(pattern: str, name: str) -> bool:
    """True when ``name`` matches the single glob ``pattern`` (case-insensitive, anchored)."""
    compiled = _compile(_clean([pattern]))
    return compiled is not None and compiled.match(name.strip().lower()) is not None


def compile_tool_predicate(allow: Iterable[str] = (), deny: Iterable[str] = ()) -> ToolPredicate:
    """``name -> prunable?``: deny wins; an empty allow list admits every non-denied tool."""
    allow_re = _compile(_clean(allow))
    deny_re = _compile(_clean(deny))

    def prunable(name: str) -> bool:
        key = (name or "").strip().lower()
        if deny_re is not None and deny_re.match(key):
            return False
        return allow_re is None or allow_re.match(key) is not None

    return prunable
