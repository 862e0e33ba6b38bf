"""``$include`` resolution (docs/design/config.md#includes).

``"$include": "file"`` replaces the containing object with that file's content; a list of files
is deep-merged in order; sibling keys are deep-merged on top. Deep merge: arrays concatenate,
objects recurse, later scalars win. Paths are relative to the including file and must stay
inside the top-level config's folder (lexically and after symlinks), unless a root listed in
``$CLAWTOP_INCLUDE_ROOTS`` allows it. Limits (docs/design/config.md#limits): depth 10, 2 MiB per
file, regular files only, 256 include loads per config; a cycle is reported with the whole chain.
Every problem becomes a :class:`ConfigIssue`; resolution goes on after one so the user sees all of
them at once.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.config.document import Json5Document, decode, parse_document
from core.config.errors import ConfigError, ConfigIssue
from core.config.provenance import Origins, PathKey, origin_in, prefixed, sub
from core.config.reading import NotReadable, file_kind, read_regular_file
from core.config.spans import join_path

INCLUDE_KEY = "$include"
INCLUDE_ROOTS_ENV = "CLAWTOP_INCLUDE_ROOTS"
MAX_DEPTH = 10
MAX_BYTES = 2 * 1024 * 1024
MAX_PATH_CHARS = 4096
MAX_FILES = 256
"""Most include loads in one config: an include fan-out of 10⁵ files fails fast instead of
taking seconds (a real config includes a handful)."""
BLOCKED_KEYS = frozenset({"__proto__", "constructor", "prototype"})
"""Keys that would poison a JavaScript object: OpenClaw drops them silently; clawtop reports
them as unknown keys wherever they appear (exit 78), so a file means the same to both."""

Reader = Callable[[Path], bytes]


@dataclasses.dataclass(frozen=True, slots=True)
class IncludeResult:
    """The merged document, the origin of each value and every included file (for the watcher)."""

    data: Any
    origins: Origins
    files: tuple[Path, ...]


def _read_bytes(path: Path) -> bytes:
    return read_regular_file(path, max_bytes=MAX_BYTES)


def include_roots(config_file: Path, env: Mapping[str, str]) -> tuple[Path, ...]:
    """The config's own folder plus any extra roots the user allowed."""
    roots = [config_file.parent]
    for item in env.get(INCLUDE_ROOTS_ENV, "").split(os.pathsep):
        if item.strip():
            roots.append(Path(os.path.expanduser(item.strip())).absolute())
    return tuple(roots)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


class _Resolver:
    def __init__(self, main: Json5Document, roots: tuple[Path, ...], reader: Reader) -> None:
        self.main = main
        self.roots = tuple(Path(os.path.normpath(r)) for r in roots)
        self.real_roots = tuple(Path(os.path.realpath(r)) for r in roots)
        self.reader = reader
        self.issues: list[ConfigIssue] = []
        self.files: list[Path] = []
        self.loads = 0

    def issue(self, doc: Json5Document, path: PathKey, message: str) -> None:
        pos = doc.position(path, key=True) or doc.position(path)
        self.issues.append(
            ConfigIssue(
                join_path(path),
                message,
                file=str(doc.file),
                line=pos.line if pos else None,
                column=pos.column if pos else None,
            )
        )

    def resolve(
        self, value: Any, doc: Json5Document, at: PathKey, depth: int, chain: tuple[Path, ...]
    ) -> tuple[Any, Origins]:
        origins: Origins = {(): origin_in(doc, at, included=doc is not self.main)}
        if isinstance(value, dict):
            if INCLUDE_KEY in value:
                return self._include_object(value, doc, at, depth, chain)
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key in BLOCKED_KEYS:
                    self.issue(doc, (*at, key), f"unknown key `{key}` (reserved: it would poison a "
                                                "JavaScript object, so it is never a config key)")
                    continue
                out[key], child = self.resolve(item, doc, (*at, key), depth, chain)
                origins.update(prefixed(child, key))
            return out, origins
        if isinstance(value, list):
            items: list[Any] = []
            for index, item in enumerate(value):
                resolved, child = self.resolve(item, doc, (*at, index), depth, chain)
                items.append(resolved)
                origins.update(prefixed(child, index))
            return items, origins
        return value, origins

    def _include_object(
        self, value: dict[str, Any], doc: Json5Document, at: PathKey, depth: int,
        chain: tuple[Path, ...],
    ) -> tuple[Any, Origins]:
        spec = value[INCLUDE_KEY]
        key_path = (*at, INCLUDE_KEY)
        targets: list[tuple[str, PathKey]]
        if isinstance(spec, str):
            targets = [(spec, key_path)]
        elif isinstance(spec, list) and all(isinstance(s, str) for s in spec):
            targets = [(s, (*key_path, i)) for i, s in enumerate(spec)]
        else:
            self.issue(doc, key_path, "`$include` must be a file path or a list of file paths")
            targets = []
        merged: Any = None
        merged_origins: Origins = {}
        for target, where in targets:
            loaded = self._load(target, doc, where, depth, chain)
            if loaded is None:
                continue
            if merged is None:
                merged, merged_origins = loaded
            else:
                merged, merged_origins = deep_merge(merged, merged_origins, *loaded)
        siblings = {k: v for k, v in value.items() if k != INCLUDE_KEY}
        if merged is None:
            merged, merged_origins = {}, {(): origin_in(doc, at, included=doc is not self.main)}
        if siblings:
            if not isinstance(merged, dict):
                self.issue(
                    doc, key_path,
                    "an included file that is not an object cannot have sibling keys next to "
                    "`$include`",
                )
                return merged, merged_origins
            sib_value, sib_origins = self.resolve(siblings, doc, at, depth, chain)
            merged, merged_origins = deep_merge(merged, merged_origins, sib_value, sib_origins)
        # The object itself is "where the $include is written", not the included file's top.
        merged_origins[()] = origin_in(doc, at, included=doc is not self.main)
        return merged, merged_origins

    def _load(
        self, target: str, doc: Json5Document, where: PathKey, depth: int, chain: tuple[Path, ...]
    ) -> tuple[Any, Origins] | None:
        if not target or len(target) >= MAX_PATH_CHARS or "\0" in target:
            self.issue(doc, where, "invalid include path (empty, too long or containing NUL)")
            return None
        path = Path(os.path.normpath(doc.file.parent / os.path.expanduser(target)))
        if not _inside(path, self.roots):
            self.issue(doc, where, f"include {target!r} is outside the config folder {self.roots[0]}")
            return None
        if depth + 1 > MAX_DEPTH:
            names = " → ".join(p.name for p in (*chain, path))
            self.issue(doc, where, f"includes are nested deeper than {MAX_DEPTH} levels ({names})")
            return None
        real = Path(os.path.realpath(path))
        if real in chain:
            names = " → ".join(str(p) for p in (*chain, real))
            self.issue(doc, where, f"circular $include: {names}")
            return None
        if not _inside(real, self.real_roots):
            self.issue(doc, where, f"include {target!r} resolves (via a symlink) outside the config folder")
            return None
        if self.loads >= MAX_FILES:
            if self.loads == MAX_FILES:  # said once, not once per extra include
                self.loads += 1
                self.issue(doc, where, f"more than {MAX_FILES} includes in one config; the rest were not read")
            return None
        self.loads += 1
        try:
            # Checked here too, not only by the default reader: a writer's reader serves the
            # would-be text of the files it rewrites and reads the others from disk.
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                self.issue(doc, where, f"included file {path} is {file_kind(info.st_mode)}, not a regular file")
                return None
            if info.st_size > MAX_BYTES:
                self.issue(doc, where, f"included file {path} is {info.st_size} bytes; the limit is 2 MiB")
                return None
            data = self.reader(path)
        except NotReadable as exc:
            self.issue(doc, where, f"included file {path} {exc}")
            return None
        except FileNotFoundError:
            self.issue(doc, where, f"included file not found: {path}")
            return None
        except OSError as exc:
            self.issue(doc, where, f"cannot read included file {path}: {exc.strerror or exc}")
            return None
        self.files.append(path)
        try:
            sub_doc = parse_document(decode(data, path), path)
        except ConfigError as exc:
            self.issues.extend(exc.issues)
            return None
        return self.resolve(sub_doc.value, sub_doc, (), depth + 1, (*chain, real))


def deep_merge(a: Any, a_origins: Origins, b: Any, b_origins: Origins) -> tuple[Any, Origins]:
    """Merge ``b`` onto ``a``: objects recurse, arrays concatenate, otherwise ``b`` wins."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        origins: Origins = {}
        root = a_origins.get(()) or b_origins.get(())
        if root is not None:
            origins[()] = root
        for key in a:
            origins.update(prefixed(sub(a_origins, key), key))
        for key, value in b.items():
            if key in out:
                for stale in [p for p in origins if p and p[0] == key]:
                    del origins[stale]
                out[key], child = deep_merge(out[key], sub(a_origins, key), value, sub(b_origins, key))
            else:
                out[key], child = value, sub(b_origins, key)
            origins.update(prefixed(child, key))
        return out, origins
    if isinstance(a, list) and isinstance(b, list):
        origins = dict(a_origins)
        for path, origin in b_origins.items():
            if path:
                first = path[0]
                shifted = (first + len(a), *path[1:]) if isinstance(first, int) else path
                origins[shifted] = origin
        return [*a, *b], origins
    return b, b_origins


def resolve_includes(
    doc: Json5Document, *, env: Mapping[str, str], reader: Reader = _read_bytes
) -> IncludeResult:
    """Resolve every ``$include`` below ``doc`` (the top-level config); raises ConfigError."""
    resolver = _Resolver(doc, include_roots(doc.file, env), reader)
    data, origins = resolver.resolve(
        doc.value, doc, (), 0, (Path(os.path.realpath(doc.file)),)
    )
    if resolver.issues:
        raise ConfigError(resolver.issues, file=str(doc.file))
    return IncludeResult(data, origins, tuple(dict.fromkeys(resolver.files)))


__all__ = ["BLOCKED_KEYS", "INCLUDE_KEY", "IncludeResult", "deep_merge", "resolve_includes"]
