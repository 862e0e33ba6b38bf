"""Where each resolved config value came from (docs/design/config.md#clawtop-goes-further "Provenance").

The resolved document is built from several files ($include) and environment variables; error
messages need the file and line of the offending value, and ``clawtop config show`` prints
``default`` / ``file:line`` / ``include`` / ``env`` per value. Origins are kept in a flat map from
path tuples (relative to the node being built) to :class:`Origin`, which is cheap to re-prefix
while includes are merged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from core.config.document import Json5Document
from core.config.spans import PathPart

PathKey = tuple[PathPart, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """A value written at ``file:line:column``; ``key_*`` is where its key is (if it has one)."""

    file: str
    line: int | None
    column: int | None
    key_line: int | None = None
    key_column: int | None = None
    included: bool = False

    def label(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"include {where}" if self.included else where


Origins = dict[PathKey, Origin]


def origin_in(doc: Json5Document, path: PathKey, *, included: bool) -> Origin:
    """The origin of ``path`` inside ``doc`` (line numbers only when the span parser knows it)."""
    value = doc.position(path)
    key = doc.position(path, key=True) if path and isinstance(path[-1], str) else None
    return Origin(
        str(doc.file),
        value.line if value else None,
        value.column if value else None,
        key.line if key else None,
        key.column if key else None,
        included,
    )


def sub(origins: Mapping[PathKey, Origin], key: PathPart) -> Origins:
    """The origins below ``key``, re-rooted there."""
    return {p[1:]: o for p, o in origins.items() if p and p[0] == key}


def prefixed(origins: Mapping[PathKey, Origin], *keys: PathPart) -> Origins:
    return {(*keys, *p): o for p, o in origins.items()}


def nearest(origins: Mapping[PathKey, Origin], path: PathKey) -> Origin | None:
    """The origin of ``path`` or of its closest written ancestor (a missing key's object)."""
    for end in range(len(path), -1, -1):
        found = origins.get(path[:end])
        if found is not None:
            return found
    return None

