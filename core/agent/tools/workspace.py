"""Confinement of tool paths to the agent workspace.

Why resolve symlinks: a lexical check (``normpath`` and a prefix test) lets ``link -> /etc``
through. Every path is resolved (``realpath``, following links, even for a file that does not
exist yet — its nearest existing parent is resolved) and must stay under the *resolved*
workspace root. Refusals raise :class:`PathRefused`, which the runner turns into a tool error
for the model and a :class:`~core.agent.events.ToolRefused` event.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PathRefused", "ToolError", "Workspace"]


class ToolError(Exception):
    """A tool failed in a way the model should read (returned as an ``is_error`` result)."""


class PathRefused(ToolError):
    """A path resolved outside the workspace."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"path refused: {path!r} is outside the workspace ({reason})")
        self.path = path
        self.reason = reason


class Workspace:
    """The directory the file tools may touch; ``resolve`` is the only way in."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(os.fspath(root)))

    def resolve(self, path: object) -> Path:
        """The real path of ``path`` (relative to the root, or absolute) if inside the root."""
        if not isinstance(path, str) or not path.strip():
            raise ToolError("the 'path' argument must be a non-empty string")
        if "\x00" in path:
            raise PathRefused(path, "NUL byte in path")
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = self.root / candidate
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            lexical = Path(os.path.normpath(candidate))
            inside_lexically = lexical == self.root or self.root in lexical.parents
            reason = "resolves through a symlink" if inside_lexically else "escapes the workspace root"
            raise PathRefused(path, reason)
        return real

    def relative(self, real: Path) -> str:
        """``real`` as shown to the model: relative to the root (``.`` for the root)."""
        rel = real.relative_to(self.root)
        return str(rel) if str(rel) != "." else "."
