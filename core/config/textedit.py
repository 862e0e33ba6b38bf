"""Format-preserving JSON5 edits: turn "old document → new document" into minimal text patches.

Only the bytes of values that actually change are rewritten; comments, key order, quoting,
blank lines and indentation everywhere else survive byte for byte (docs/design/config.md#clawtop-goes-further
"comment-preserving write-back"). New keys are inserted after the last sibling, indented like the siblings, in the
file's own style (quote character, quoted or bare keys, trailing commas). Deleted keys take their
whole line with them when they sit on a line of their own.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterable
from typing import Any, Literal

from core.config.diff import same
from core.config.spans import LineIndex, Member, Node, is_identifier

Edit = tuple[int, int, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Style:
    """How this file writes things, so inserted text looks like the user wrote it."""

    indent: str = "  "
    quote: str = '"'
    key_quote: str | None = None
    trailing_comma: bool = True


def detect_style(text: str, tree: Node) -> Style:
    """Read indentation unit, string quote, key quoting and trailing commas from the file."""
    lines = LineIndex(text)
    units: list[str] = []
    quotes = {'"': 0, "'": 0}
    key_quotes = {'"': 0, "'": 0, None: 0}
    trailing = {True: 0, False: 0}

    def walk(node: Node) -> None:
        if node.kind == "string" and node.quote:
            quotes[node.quote] += 1
        for item in node.items:
            walk(item)
        if node.kind != "object":
            return
        base = _indent_at(text, lines, node.start)
        for member in node.members:
            key_quotes[member.key_quote] += 1
            if _own_line(text, lines, member.key_start):
                own = _indent_at(text, lines, member.key_start)
                if own.startswith(base) and len(own) > len(base):
                    units.append(own[len(base) :])
            walk(member.value)
        if node.members and _own_line(text, lines, node.members[-1].key_start):
            trailing[node.members[-1].comma is not None] += 1

    walk(tree)
    unit = min(units, key=len) if units else "  "
    quoted = key_quotes['"'] + key_quotes["'"]
    key_quote = None
    if quoted and not key_quotes[None]:
        key_quote = '"' if key_quotes['"'] >= key_quotes["'"] else "'"
    return Style(
        indent=unit,
        quote="'" if quotes["'"] > quotes['"'] else '"',
        key_quote=key_quote,
        trailing_comma=trailing[True] >= trailing[False],
    )


def _indent_at(text: str, lines: LineIndex, offset: int) -> str:
    start = lines.line_start(offset)
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _own_line(text: str, lines: LineIndex, offset: int) -> bool:
    return text[lines.line_start(offset) : offset].strip() == ""


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def _tail_is_blank(text: str, offset: int) -> bool:
    """Only whitespace or a ``//`` comment follows ``offset`` on its line."""
    tail = text[offset : _line_end(text, offset)].strip()
    return tail == "" or tail.startswith("//")


# --- serialising new values --------------------------------------------------------------------


def quote_string(value: str, quote: str) -> str:
    if quote == '"':
        return json.dumps(value, ensure_ascii=False)
    body = json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


def format_key(key: str, style: Style, sibling_quote: str | Literal[False] | None) -> str:
    """Bare when possible, unless the siblings (or the whole file) quote their keys."""
    quote = style.key_quote if sibling_quote is False else sibling_quote
    if quote is None and is_identifier(key):
        return key
    return quote_string(key, quote or style.quote)


def dump(value: Any, indent: str, style: Style, quote: str | None = None) -> str:
    """JSON5 text for ``value`` whose first line starts at a line indented by ``indent``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        return quote_string(value, quote or style.quote)
    inner = indent + style.indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        rows = [
            f"{inner}{format_key(str(k), style, False)}: {dump(v, inner, style)}"
            for k, v in value.items()
        ]
        return "{\n" + _join_rows(rows, style) + f"\n{indent}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            flat = "[" + ", ".join(dump(v, indent, style) for v in value) + "]"
            if len(flat) + len(indent) <= 80:
                return flat
        rows = [f"{inner}{dump(v, inner, style)}" for v in value]
        return "[\n" + _join_rows(rows, style) + f"\n{indent}]"
    raise TypeError(f"cannot write a {type(value).__name__} to a config file")


def _join_rows(rows: list[str], style: Style) -> str:
    return ",\n".join(rows) + ("," if style.trailing_comma else "")


# --- computing the edits -----------------------------------------------------------------------


class _Editor:
    def __init__(self, text: str, style: Style) -> None:
        self.text = text
        self.lines = LineIndex(text)
        self.style = style
        self.edits: list[Edit] = []

    def indent_of(self, offset: int) -> str:
        return _indent_at(self.text, self.lines, offset)

    def walk(self, node: Node, new: Any) -> None:
        if node.kind == "object" and isinstance(new, dict):
            self.walk_object(node, new)
        elif node.kind == "array" and isinstance(new, list) and len(new) == len(node.items):
            for item, value in zip(node.items, new, strict=True):
                self.walk(item, value)
        elif not same(node.value, new):
            text = dump(new, self.indent_of(node.start), self.style, node.quote)
            self.edits.append((node.start, node.end, text))

    def walk_object(self, node: Node, new: dict[str, Any]) -> None:
        old_keys = {m.key for m in node.members}
        added = [k for k in new if k not in old_keys]
        deleted = [m for m in node.members if m.key not in new]
        remaining = [m for m in node.members if m.key in new]
        for member in node.members:
            # Duplicate keys: json5 keeps the last one, so only that one is edited.
            if member.key in new and node.member(member.key) is member:
                self.walk(member.value, new[member.key])
        for member in deleted:
            self.delete_member(node, member, fix_comma=not added, remaining=remaining)
        if added:
            self.insert_members(node, remaining, {k: new[k] for k in added})

    def delete_member(self, node: Node, member: Member, *, fix_comma: bool, remaining: list[Member]) -> None:
        text = self.text
        start = member.key_start
        end = member.comma + 1 if member.comma is not None else member.value.end
        if _own_line(text, self.lines, start) and _tail_is_blank(text, end):
            line_end = _line_end(text, end)
            self.edits.append((self.lines.line_start(start), min(line_end + 1, len(text)), ""))
            is_last = member is node.members[-1]
            last_kept = remaining[-1] if remaining else None
            if fix_comma and is_last and member.comma is None and last_kept and last_kept.comma is not None:
                # Keep the file's "no trailing comma" style now that another member is last.
                self.edits.append((last_kept.comma, last_kept.comma + 1, ""))
            return
        if member.comma is not None:
            while end < len(text) and text[end] in " \t":
                end += 1
            self.edits.append((start, end, ""))
            return
        earlier = [m for m in node.members if m.key_start < start]
        if earlier and earlier[-1] in remaining:
            self.edits.append((earlier[-1].value.end, member.value.end, ""))
        else:
            self.edits.append((start, end, ""))

    def insert_members(self, node: Node, remaining: list[Member], values: dict[str, Any]) -> None:
        text, style = self.text, self.style
        siblings = remaining or node.members
        sibling_quote: str | Literal[False] | None = False
        if siblings:
            quoted: list[str] = [m.key_quote for m in siblings if m.key_quote]
            sibling_quote = None
            if len(quoted) == len(siblings):
                most_used: str = max(set(quoted), key=quoted.count)
                sibling_quote = most_used
        multiline = "\n" in text[node.start : node.end]
        if remaining and _own_line(text, self.lines, remaining[-1].key_start):
            last = remaining[-1]
            indent = self.indent_of(last.key_start)
            # The object's original last member says whether this file ends with a comma.
            trailing = node.members[-1].comma is not None
            rows = self._rows(values, indent, sibling_quote, trailing)
            if last.comma is None:
                self.edits.append((last.value.end, last.value.end, ","))
            after = last.comma + 1 if last.comma is not None else last.value.end
            where = _line_end(text, after) if _tail_is_blank(text, after) else after
            self.edits.append((where, where, "".join(f"\n{row}" for row in rows)))
            return
        if remaining:
            last = remaining[-1]
            inline = ", ".join(
                f"{format_key(k, style, sibling_quote)}: {_inline(v, style)}" for k, v in values.items()
            )
            if last.comma is not None:
                self.edits.append((last.comma + 1, last.comma + 1, f" {inline},"))
            else:
                self.edits.append((last.value.end, last.value.end, f", {inline}"))
            return
        close = node.end - 1
        base = self.indent_of(node.start)
        if multiline and _own_line(text, self.lines, close):
            indent = self.indent_of(close) + style.indent
            rows = self._rows(values, indent, sibling_quote, style.trailing_comma)
            at = self.lines.line_start(close)
            self.edits.append((at, at, "".join(f"{row}\n" for row in rows)))
            return
        indent = base + style.indent
        rows = self._rows(values, indent, sibling_quote, style.trailing_comma)
        body = "".join(f"\n{row}" for row in rows) + f"\n{base}"
        interior = text[node.start + 1 : close]
        start = node.start + 1 if interior.strip() == "" else close
        self.edits.append((start, close, body))

    def _rows(
        self, values: dict[str, Any], indent: str, sibling_quote: str | Literal[False] | None, trailing: bool
    ) -> list[str]:
        rows = []
        items = list(values.items())
        for i, (key, value) in enumerate(items):
            comma = "," if i < len(items) - 1 or trailing else ""
            key_text = format_key(key, self.style, sibling_quote)
            rows.append(f"{indent}{key_text}: {dump(value, indent, self.style)}{comma}")
        return rows


def _inline(value: Any, style: Style) -> str:
    """One-line JSON5 for values inserted into an inline object like ``{ a: 1 }``."""
    if isinstance(value, dict):
        body = ", ".join(f"{format_key(str(k), style, False)}: {_inline(v, style)}" for k, v in value.items())
        return "{ " + body + " }" if body else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v, style) for v in value) + "]"
    return dump(value, "", style)


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (back to front so earlier offsets stay valid)."""
    ordered = sorted(edits, key=lambda e: (e[0], e[1]))
    for (s1, e1, _), (s2, _, _) in itertools.pairwise(ordered):
        if s2 < e1:
            raise ValueError(f"overlapping edits at {s1}..{e1} and {s2}")
    out = text
    for start, end, replacement in reversed(ordered):
        out = out[:start] + replacement + out[end:]
    return out


def render_changes(text: str, tree: Node, new: Any, style: Style | None = None) -> str:
    """``text`` rewritten so it parses to ``new``, touching only what differs."""
    editor = _Editor(text, style or detect_style(text, tree))
    editor.walk(tree, new)
    return apply_edits(text, editor.edits)
