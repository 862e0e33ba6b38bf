"""A JSON5 parser that remembers where every key and value sits in the source text.

The PyPI ``json5`` package gives values but no positions and drops comments. Error messages need
"line 12, column 5" and the writer must replace exactly one value's bytes, so this module parses
the text a second time into a small syntax tree of offsets (``start``/``end`` of each value, the
key span and the comma of each member). It follows the JSON5 grammar closely enough to agree with
``json5`` on real config files: comments, unquoted (identifier) keys, single/double quotes,
line continuations in strings, trailing commas, hex, ``+``/``-``, leading/trailing dots,
``Infinity``/``NaN``.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import unicodedata
from collections.abc import Sequence
from typing import Any, Literal

NodeKind = Literal["object", "array", "string", "number", "literal"]
PathPart = str | int

_WHITESPACE = frozenset("\t\n\v\f\r \u00a0\u2028\u2029\ufeff")
_LINE_TERMINATORS = frozenset("\n\r\u2028\u2029")
_SIMPLE_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "'": "'",
    '"': '"',
    "\\": "\\",
}
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")


MAX_NESTING = 64
"""Deepest nesting of objects/arrays accepted (a real config nests fewer than 10 levels)."""
MAX_ITEMS = 10_000
"""Most members of one object or items of one array."""
MAX_NODES = 50_000
"""Most values in one document (a 2 MiB file of ``[0,0,…]`` would otherwise hold a million)."""
MAX_NUMBER_CHARS = 400
"""Longest number literal: Python refuses to convert integers of more than 4,300 digits, and no
setting needs more than a few dozen."""


class Json5SyntaxError(ValueError):
    """The text is not JSON5; ``offset`` points at the offending character (0-based)."""

    def __init__(self, message: str, offset: int, line: int, column: int) -> None:
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
        super().__init__(f"{message} at line {line}, column {column}")


class Json5LimitError(Json5SyntaxError):
    """The text may be JSON5 but exceeds a size limit (nesting, items, number length): final,
    no other parser is asked (docs/design/config.md#limits). ``path`` is where it happened."""

    def __init__(self, message: str, offset: int, line: int, column: int, path: tuple[PathPart, ...]) -> None:
        super().__init__(message, offset, line, column)
        self.path = path


@dataclasses.dataclass(slots=True, eq=False)
class Node:
    """One JSON5 value: ``text[start:end]`` is its exact source (for strings, with quotes)."""

    kind: NodeKind
    start: int
    end: int
    value: Any = None
    quote: str | None = None
    members: list[Member] = dataclasses.field(default_factory=list)
    items: list[Node] = dataclasses.field(default_factory=list)
    item_commas: list[int | None] = dataclasses.field(default_factory=list)

    _index: dict[str, Member] | None = dataclasses.field(default=None, repr=False)
    _indexed: int = dataclasses.field(default=-1, repr=False)

    def member(self, key: str) -> Member | None:
        """The member named ``key``; with duplicate keys the last one wins, as in ``json5``.

        Looked up in a dict (rebuilt when ``members`` changed length): a scan per lookup made
        locating every key of a 10,000-key object quadratic."""
        if self._index is None or self._indexed != len(self.members):
            self._index = {m.key: m for m in self.members}
            self._indexed = len(self.members)
        return self._index.get(key)


@dataclasses.dataclass(slots=True, eq=False)
class Member:
    """``key: value`` inside an object; ``comma`` is the offset of the ``,`` after it, if any."""

    key: str
    key_start: int
    key_end: int
    key_quote: str | None
    value: Node
    comma: int | None = None


class LineIndex:
    """Maps 0-based offsets to 1-based (line, column), counting ``\\n`` as the line break."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        find = text.find
        pos = find("\n")
        while pos >= 0:
            self._starts.append(pos + 1)
            pos = find("\n", pos + 1)

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def line_start(self, offset: int) -> int:
        return self._starts[bisect.bisect_right(self._starts, offset) - 1]


def _is_id_start(ch: str) -> bool:
    return ch in "$_" or unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nl")


def _is_id_part(ch: str) -> bool:
    return (
        _is_id_start(ch)
        or unicodedata.category(ch) in ("Mn", "Mc", "Nd", "Pc")
        or ch in "\u200c\u200d"
    )


def is_identifier(key: str) -> bool:
    """True when ``key`` can be written unquoted (an ECMAScript IdentifierName, no escapes)."""
    return bool(key) and _is_id_start(key[0]) and all(_is_id_part(c) for c in key[1:])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)
        self.lines = LineIndex(text)
        self.depth = 0
        self.nodes = 0
        self.path: list[PathPart] = []  # keys/indexes down to the value being parsed

    def error(self, message: str, offset: int | None = None) -> Json5SyntaxError:
        offset = self.pos if offset is None else offset
        line, col = self.lines.line_col(min(offset, self.n))
        return Json5SyntaxError(message, offset, line, col)

    def limit(self, message: str, offset: int | None = None) -> Json5LimitError:
        offset = self.pos if offset is None else offset
        line, col = self.lines.line_col(min(offset, self.n))
        return Json5LimitError(message, offset, line, col, tuple(self.path))

    def _count(self, items: int) -> None:
        """Account for one more value (``items`` in its container so far)."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.limit(f"too many values: the limit is {MAX_NODES:,} in one file")
        if items > MAX_ITEMS:
            raise self.limit(f"too many items in one object or array: the limit is {MAX_ITEMS:,}")

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.limit(f"nested too deeply: the limit is {MAX_NESTING} levels of objects/arrays")

    def unexpected(self) -> Json5SyntaxError:
        if self.pos >= self.n:
            return self.error("unexpected end of input")
        return self.error(f"unexpected character {self.text[self.pos]!r}")

    def skip(self) -> None:
        """Skip whitespace and comments; they carry no value but must keep their bytes."""
        text, n = self.text, self.n
        while self.pos < n:
            ch = text[self.pos]
            if ch in _WHITESPACE or unicodedata.category(ch) == "Zs":
                self.pos += 1
            elif text.startswith("//", self.pos):
                while self.pos < n and text[self.pos] not in _LINE_TERMINATORS:
                    self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self.pos = end + 2
            else:
                return

    def parse_document(self) -> Node:
        self.skip()
        node = self.value()
        self.skip()
        if self.pos < self.n:
            raise self.error(f"unexpected character {self.text[self.pos]!r} after the document")
        return node

    def value(self) -> Node:
        if self.pos >= self.n:
            raise self.unexpected()
        ch = self.text[self.pos]
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch in "\"'":
            start = self.pos
            quote, text = ch, self.string()
            return Node("string", start, self.pos, text, quote=quote)
        if ch in "+-.0123456789IN":
            return self.number()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos) and not self._id_continues(self.pos + len(word)):
                start = self.pos
                self.pos += len(word)
                return Node("literal", start, self.pos, val)
        raise self.unexpected()

    def _id_continues(self, offset: int) -> bool:
        return offset < self.n and _is_id_part(self.text[offset])

    def obj(self) -> Node:
        self._enter()
        node = Node("object", self.pos, -1, {})
        self.pos += 1
        while True:
            self.skip()
            if self.pos < self.n and self.text[self.pos] == "}":
                break
            key_start = self.pos
            key, key_quote = self.key()
            key_end = self.pos
            self.skip()
            if self.pos >= self.n or self.text[self.pos] != ":":
                raise self.error(f"expected ':' after key {key!r}")
            self.pos += 1
            self.skip()
            self.path.append(key)
            value = self.value()
            self.path.pop()
            member = Member(key, key_start, key_end, key_quote, value)
            node.members.append(member)
            self._count(len(node.members))
            node.value[key] = value.value
            member.comma = self._separator("}", "object", f"the value of {key!r}")
            if member.comma is None:
                break
        self.pos += 1
        node.end = self.pos
        self.depth -= 1
        return node

    def key(self) -> tuple[str, str | None]:
        if self.pos >= self.n:
            raise self.error("unexpected end of input: object is not closed with '}'")
        ch = self.text[self.pos]
        if ch in "\"'":
            return self.string(), ch
        if ch == "\\" or _is_id_start(ch):
            return self.identifier(), None
        raise self.error(f"expected a key or '}}', found {ch!r}")

    def identifier(self) -> str:
        out: list[str] = []
        first = True
        while self.pos < self.n:
            ch = self.text[self.pos]
            if ch == "\\":
                if not self.text.startswith("\\u", self.pos):
                    raise self.error("invalid escape in key")
                ch = self._hex_escape(self.pos + 2, 4)
                self.pos += 6
            elif (first and _is_id_start(ch)) or (not first and _is_id_part(ch)):
                self.pos += 1
            else:
                break
            out.append(ch)
            first = False
        return "".join(out)

    def _hex_escape(self, offset: int, width: int) -> str:
        digits = self.text[offset : offset + width]
        if len(digits) != width or not all(c in _HEX for c in digits):
            raise self.error("invalid hex escape", offset)
        return chr(int(digits, 16))

    def string(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text, n = self.text, self.n
        while True:
            if self.pos >= n:
                raise self.error("unterminated string", start)
            ch = text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(out)
            if ch in "\n\r":
                raise self.error("unterminated string (a line break needs a '\\' before it)")
            if ch != "\\":
                out.append(ch)
                self.pos += 1
                continue
            self.pos += 1
            if self.pos >= n:
                raise self.error("unterminated string", start)
            esc = text[self.pos]
            if esc in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[esc])
                self.pos += 1
            elif esc == "x":
                out.append(self._hex_escape(self.pos + 1, 2))
                self.pos += 3
            elif esc == "u":
                out.append(self._hex_escape(self.pos + 1, 4))
                self.pos += 5
            elif esc == "0" and not (self.pos + 1 < n and text[self.pos + 1] in _DIGITS):
                out.append("\0")
                self.pos += 1
            elif esc in _DIGITS:
                raise self.error("invalid escape: digits cannot be escaped")
            elif esc == "\r":
                self.pos += 2 if text.startswith("\r\n", self.pos) else 1
            elif esc in _LINE_TERMINATORS:
                self.pos += 1  # line continuation: the break is not part of the value
            else:
                out.append(esc)
                self.pos += 1

    def number(self) -> Node:
        start = self.pos
        text = self.text
        sign = 1.0
        if text[self.pos] in "+-":
            sign = -1.0 if text[self.pos] == "-" else 1.0
            self.pos += 1
        for word, val in (("Infinity", math.inf), ("NaN", math.nan)):
            if text.startswith(word, self.pos):
                self.pos += len(word)
                if self._id_continues(self.pos):
                    raise self.unexpected()
                return Node("number", start, self.pos, sign * val)
        if text.startswith(("0x", "0X"), self.pos):
            self.pos += 2
            digits_start = self.pos
            while self.pos < self.n and text[self.pos] in _HEX:
                self.pos += 1
            if self.pos == digits_start:
                raise self.error("invalid hex number", start)
            if self.pos - start > MAX_NUMBER_CHARS:
                raise self.limit(f"number too long: the limit is {MAX_NUMBER_CHARS} characters", start)
            value: int | float = int(text[digits_start : self.pos], 16)
            return Node("number", start, self.pos, -value if sign < 0 else value)
        int_start = self.pos
        self._digits()
        int_digits = text[int_start : self.pos]
        if len(int_digits) > 1 and int_digits[0] == "0":
            raise self.error("invalid number: leading zero", start)
        is_float = False
        if self.pos < self.n and text[self.pos] == ".":
            is_float = True
            self.pos += 1
            frac_start = self.pos
            self._digits()
            if not int_digits and self.pos == frac_start:
                raise self.error("invalid number", start)
        elif not int_digits:
            raise self.unexpected()
        if self.pos < self.n and text[self.pos] in "eE":
            is_float = True
            self.pos += 1
            if self.pos < self.n and text[self.pos] in "+-":
                self.pos += 1
            exp_start = self.pos
            self._digits()
            if self.pos == exp_start:
                raise self.error("invalid number: exponent has no digits", start)
        if self._id_continues(self.pos):
            raise self.unexpected()
        if self.pos - start > MAX_NUMBER_CHARS:
            raise self.limit(f"number too long: the limit is {MAX_NUMBER_CHARS} characters", start)
        literal = text[start : self.pos].lstrip("+")
        value = float(literal) if is_float else int(literal)
        return Node("number", start, self.pos, value)

    def _digits(self) -> None:
        while self.pos < self.n and self.text[self.pos] in _DIGITS:
            self.pos += 1

    def arr(self) -> Node:
        self._enter()
        node = Node("array", self.pos, -1, [])
        self.pos += 1
        while True:
            self.skip()
            if self.pos < self.n and self.text[self.pos] == "]":
                break
            self.path.append(len(node.items))
            item = self.value()
            self.path.pop()
            node.items.append(item)
            node.value.append(item.value)
            self._count(len(node.items))
            comma = self._separator("]", "array", "an array item")
            node.item_commas.append(comma)
            if comma is None:
                break
        self.pos += 1
        node.end = self.pos
        self.depth -= 1
        return node

    def _separator(self, close: str, container: str, after: str) -> int | None:
        """After an item: consume its ``,`` and return the comma's offset, or return None at
        ``close`` (left for the caller, which records where the container ends)."""
        self.skip()
        if self.pos >= self.n:
            raise self.error(f"unexpected end of input: {container} is not closed with '{close}'")
        ch = self.text[self.pos]
        if ch == ",":
            self.pos += 1
            return self.pos - 1
        if ch == close:
            return None
        raise self.error(f"expected ',' or '{close}' after {after}, found {ch!r}")


def is_blank(text: str) -> bool:
    """True when ``text`` holds only whitespace and comments (no value at all)."""
    parser = _Parser(text)
    try:
        parser.skip()
    except Json5SyntaxError:
        return False
    return parser.pos >= parser.n


def parse_tree(text: str) -> Node:
    """Parse JSON5 ``text`` into a position-carrying tree; raises :class:`Json5SyntaxError`."""
    return _Parser(text).parse_document()


def find(root: Node, path: Sequence[PathPart]) -> tuple[Member | None, Node] | None:
    """The node at ``path`` (and the member holding it, for object keys), or None if absent."""
    node, member = root, None
    for part in path:
        if node.kind == "object":
            member = node.member(str(part))
            if member is None:
                return None
            node = member.value
        elif node.kind == "array" and isinstance(part, int) and 0 <= part < len(node.items):
            member, node = None, node.items[part]
        else:
            return None
    return member, node


def split_path(dotted: str) -> list[PathPart]:
    """``"a.models.0.id"`` → ``["a", "models", 0, "id"]``: all-digit parts index lists."""
    if not dotted:
        return []
    return [int(p) if p.isdigit() else p for p in dotted.split(".")]


def join_path(parts: Sequence[PathPart]) -> str:
    return ".".join(str(p) for p in parts)
