"""One parsed JSON5 file: its text, its value and where each key/value sits.

Values and positions come from :mod:`core.config.spans`; the ``json5`` package is the reference
it is tested against and the fallback if the two ever disagree on whether a text is valid (the
document then simply has no positions: errors lack a line number, nothing breaks).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import json5

from core.config.errors import ConfigError, ConfigIssue
from core.config.spans import (
    Json5LimitError,
    Json5SyntaxError,
    LineIndex,
    Node,
    PathPart,
    find,
    is_blank,
    join_path,
    parse_tree,
)

MAX_FALLBACK_CHARS = 64 * 1024
"""Largest text the ``json5`` package is asked about when the span parser rejects it: it needs
about 25 µs per character (50 s for a 2 MiB file), and a real config is a few KiB."""
_JSON5_ERROR = re.compile(r"^<string>:(\d+) (.*?) at column (\d+)$")


@dataclasses.dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line/column in ``file``."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Json5Document:
    """A parsed JSON5 file; ``tree`` is None only when the span parser could not follow it."""

    file: Path
    text: str
    value: Any
    tree: Node | None
    lines: LineIndex

    def position(self, path: Sequence[PathPart], *, key: bool = False) -> Position | None:
        """Where ``path`` is written: its value, or with ``key=True`` its key (if it has one)."""
        if self.tree is None:
            return None
        found = find(self.tree, path)
        if found is None:
            return None
        member, node = found
        offset = member.key_start if key and member is not None else node.start
        line, col = self.lines.line_col(offset)
        return Position(str(self.file), line, col)


def text_hash(data: bytes) -> str:
    """SHA-256 hex of the file's bytes: the ``baseHash`` a writer must present."""
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, file: Path) -> str:
    """UTF-8 (a leading BOM is tolerated as JSON5 treats it as whitespace)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [
                ConfigIssue(
                    "",
                    f"the file is not valid UTF-8 (byte {exc.start})",
                    file=str(file),
                )
            ],
            file=str(file),
        ) from None


def parse_document(text: str, file: Path) -> Json5Document:
    """Parse ``text`` (the content of ``file``); a syntax error becomes a located ConfigError.

    The span parser gives both values and positions and is ~50x faster than the ``json5``
    package (whose parse of a 500-line file takes half a second, too slow for hot reload). Only
    when it rejects a text is ``json5`` asked: if ``json5`` accepts it, its values are used
    without positions; otherwise our message (which names the key) is reported. Texts over
    :data:`MAX_FALLBACK_CHARS` get our message at once.
    """
    lines = LineIndex(text)
    if is_blank(text):
        # An empty file (or one with only comments) means "all defaults", as the schema docs say:
        # creating an empty config is a common first step (docs/design/config.md#limits).
        return Json5Document(file, text, {}, None, lines)
    try:
        tree = parse_tree(text)
        return Json5Document(file, text, tree.value, tree, lines)
    except Json5LimitError as exc:
        raise ConfigError([ConfigIssue(
            join_path(exc.path), exc.message, file=str(file), line=exc.line, column=exc.column,
        )], file=str(file)) from None
    except Json5SyntaxError as exc:
        span_error: Json5SyntaxError | None = exc
    except RecursionError:
        span_error = Json5SyntaxError("the document is nested too deeply", 0, 1, 1)
    if len(text) > MAX_FALLBACK_CHARS:
        raise _syntax_error(file, span_error, "") from None
    try:
        value = json5.loads(text)
    except (ValueError, OverflowError) as exc:
        raise _syntax_error(file, span_error, str(exc)) from None
    except RecursionError:
        raise _syntax_error(file, span_error, "the document is nested too deeply") from None
    return Json5Document(file, text, value, None, lines)


def _syntax_error(file: Path, span_error: Json5SyntaxError | None, json5_message: str) -> ConfigError:
    """Prefer our own message (it names the key and what was expected), else json5's."""
    if span_error is not None:
        issue = ConfigIssue(
            "",
            f"JSON5 syntax error: {span_error.message}",
            file=str(file),
            line=span_error.line,
            column=span_error.column,
        )
    else:
        match = _JSON5_ERROR.match(json5_message.strip())
        if match:
            issue = ConfigIssue(
                "",
                f"JSON5 syntax error: {match.group(2)}",
                file=str(file),
                line=int(match.group(1)),
                column=int(match.group(3)),
            )
        else:
            issue = ConfigIssue("", f"JSON5 syntax error: {json5_message}", file=str(file))
    return ConfigError([issue], file=str(file))
