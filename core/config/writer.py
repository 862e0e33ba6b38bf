"""Write config changes back to the user's file: validated, atomic, comment-preserving.

Every write is a merge-patch against a ``baseHash`` (docs/design/config.md#merge-patch-with-a-base-hash,
docs/design/config.md#clawtop-goes-further): if the file on disk no longer hashes to what the caller read, nothing is
written (:class:`ConfigConflictError`). The would-be file is resolved and validated exactly like a load before it
replaces the old one, so an invalid write leaves the file untouched. Values that came from ``${VAR}`` stay references
when the caller writes back their resolved (or redacted) form, so secrets never land in the file.
Five rotating backups are kept (``.bak``, ``.bak.1`` … ``.bak.4``, docs/design/config.md#backups-and-write-safety);
a read-only or immutable file is refused with no backup left behind (:mod:`core.config.safe_write`). A key that
lives in an ``$include``d file is written in that file (:class:`IncludeTarget`). Writers are serialised across
processes (:mod:`core.config.locking`), and a symlinked file is written through to its target.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.config.diff import changed_paths, same
from core.config.document import decode, parse_document, text_hash
from core.config.envsubst import substitute_string
from core.config.errors import ConfigConflictError, ConfigError, ConfigIssue
from core.config.includes import Reader
from core.config.loader import effective_env, resolve_text, validate_resolved
from core.config.locking import config_write_lock, write_target
from core.config.paths import state_dir
from core.config.reading import NotReadable, read_regular_file
from core.config.reload_plan import ReloadPlan, plan_reload
from core.config.safe_write import BACKUPS, ConfigNotWritableError, replace_with_backups, write_new
from core.config.spans import PathPart, is_blank, join_path, split_path
from core.config.textedit import render_changes

__all__ = [
    "BACKUPS", "NEW_FILE_TEXT", "ConfigNotWritableError", "IncludeTarget", "WriteResult", "apply_patch",
    "merge_patch", "restore_refs", "set_value", "set_values", "value_at",
]

NEW_FILE_TEXT = (
    "// clawtop config (JSON5). clawtop keeps your comments and formatting when it edits this\n"
    "// file. All keys: `clawtop config schema`.\n"
    "{\n}\n"
)
_DELETE = object()

try:  # the schema's placeholder for redacted secrets; a round-tripped redacted view restores it
    from core.config.schema.base import REDACTED
except ImportError:  # pragma: no cover - schema without redaction
    REDACTED = "__REDACTED__"


@dataclasses.dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did: the changed dot-paths (of the validated config), hash, reload plan."""

    path: Path
    changed_paths: tuple[str, ...]
    new_hash: str | None
    noop: bool = False
    created: bool = False
    backup: Path | None = None
    plan: ReloadPlan = dataclasses.field(default_factory=ReloadPlan)
    text: str = ""


# --- building the new raw document --------------------------------------------------------------


def _resolve_value(raw: Any, env: Mapping[str, str]) -> Any:
    if isinstance(raw, str):
        return substitute_string(raw, env)[0]
    if isinstance(raw, dict):
        return {k: _resolve_value(v, env) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_resolve_value(v, env) for v in raw]
    return raw


def restore_refs(raw: Any, new: Any, env: Mapping[str, str]) -> Any:
    """``new``, except where it equals what ``raw`` resolves to (or is the redaction marker):
    there ``raw`` is kept, so ``${VAR}`` templates and secrets survive a round trip."""
    if raw is _DELETE:
        return new
    if new == REDACTED and raw is not None:
        return raw
    if same(_resolve_value(raw, env), new):
        return raw
    if isinstance(raw, dict) and isinstance(new, dict):
        return {k: restore_refs(raw.get(k, _DELETE), v, env) for k, v in new.items()}
    if isinstance(raw, list) and isinstance(new, list) and len(raw) == len(new):
        return [restore_refs(r, n, env) for r, n in zip(raw, new, strict=True)]
    return new


def merge_patch(
    raw: Any, patch: Any, env: Mapping[str, str], *, replace_paths: frozenset[str] = frozenset(),
    at: str = "",
) -> Any:
    """RFC 7396 merge of ``patch`` onto ``raw``: ``null`` deletes, objects merge.

    As OpenClaw's ``config.patch``: arrays of objects carrying a string ``id`` merge item by item
    (so a patch need not repeat every provider), other arrays replace; a path in ``replace_paths``
    always replaces.
    """
    if not isinstance(patch, dict) or at in replace_paths:
        if isinstance(patch, list) and isinstance(raw, list) and at not in replace_paths \
                and _id_list(raw) and _id_list(patch):
            return _merge_by_id(raw, patch, env, replace_paths, at)
        return restore_refs(raw, patch, env)
    out = dict(raw) if isinstance(raw, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            child = f"{at}.{key}" if at else key
            out[key] = merge_patch(out.get(key, _DELETE), value, env, replace_paths=replace_paths, at=child)
    return out


def _id_list(items: Any) -> bool:
    return isinstance(items, list) and bool(items) and all(
        isinstance(i, dict) and isinstance(i.get("id"), str) for i in items
    )


def _merge_by_id(raw: list[Any], patch: list[Any], env: Mapping[str, str],
                 replace_paths: frozenset[str], at: str) -> list[Any]:
    out = list(raw)
    index = {item["id"]: i for i, item in enumerate(out)}
    for item in patch:
        if item["id"] in index:
            i = index[item["id"]]
            out[i] = merge_patch(out[i], item, env, replace_paths=replace_paths, at=f"{at}.{i}")
        else:
            index[item["id"]] = len(out)
            out.append(merge_patch(_DELETE, item, env, replace_paths=replace_paths, at=f"{at}.{len(out)}"))
    return out


def _set_path(raw: Any, parts: list[PathPart], value: Any, env: Mapping[str, str], file: Path) -> Any:
    """``raw`` with ``parts`` set to ``value`` (intermediate objects created as needed)."""
    if not parts:
        return restore_refs(raw, value, env)
    head, rest = parts[0], parts[1:]
    if isinstance(raw, list) and isinstance(head, int):
        if not 0 <= head < len(raw):
            raise ConfigError(
                [ConfigIssue(str(head), f"list index {head} is out of range (the list has {len(raw)} items)",
                             file=str(file))],
                file=str(file),
            )
        out_list = list(raw)
        out_list[head] = _set_path(raw[head], rest, value, env, file)
        return out_list
    out = dict(raw) if isinstance(raw, dict) else {}
    key = str(head)
    out[key] = _set_path(out.get(key, _DELETE), rest, value, env, file)
    return out


def _leaves(patch: Any, prefix: tuple[PathPart, ...] = ()) -> Iterable[tuple[tuple[PathPart, ...], Any]]:
    if isinstance(patch, dict):
        for key, value in patch.items():  # an empty object merges nothing: no leaf to check
            yield from _leaves(value, (*prefix, key))
    else:
        yield prefix, patch


def value_at(data: Any, parts: Iterable[PathPart], missing: Any) -> Any:
    """The value at ``parts`` in plain JSON-like data, or ``missing`` where the path leads nowhere.

    ``missing`` is the caller's own sentinel, because ``None`` is a value a config can hold.
    """
    node = data
    for part in parts:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return missing
    return node


# --- the write itself ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class IncludeTarget:
    """The file being written is not the config itself but one that ``root`` includes, its object
    mounted at ``mount`` (the key path of the object whose ``$include`` names it). The would-be file
    is then validated as part of ``root``, and requested values are checked at ``mount`` + key."""

    root: Path
    mount: tuple[PathPart, ...] = ()


def _read_current(path: Path) -> bytes | None:
    try:
        return read_regular_file(path)
    except FileNotFoundError:
        return None
    except NotReadable as exc:
        raise ConfigError([ConfigIssue("", f"cannot edit this file: the path {exc}", file=str(path))],
                          file=str(path)) from None


def _editable_text(current: bytes | None, path: Path) -> str:
    """The text to edit: a new file's template for a missing or empty file; a file holding only
    comments (all defaults) gets an empty object after them, so the comments are kept."""
    if current is None:
        return NEW_FILE_TEXT
    text = decode(current, path)
    if not text.strip():
        return NEW_FILE_TEXT
    if is_blank(text):
        return text + ("" if text.endswith("\n") else "\n") + "{\n}\n"
    return text


def _check_base(path: Path, current: bytes | None, base_hash: str | None) -> None:
    if current is None:
        if base_hash is not None:
            raise ConfigConflictError(f"config file {path} was removed since it was read; re-read and retry")
        return
    if base_hash is None:
        raise ConfigConflictError(f"config base hash required for {path}; re-read the config and retry")
    if text_hash(current) != base_hash:
        raise ConfigConflictError(f"config {path} changed on disk since it was read; re-read and retry")


def _reader_with(path: Path, data: bytes) -> Reader:
    """Reads files from disk, except ``path``, which reads as ``data`` (the would-be include file)."""
    real = os.path.realpath(path)

    def read(candidate: Path) -> bytes:
        return data if os.path.realpath(candidate) == real else read_regular_file(candidate)

    return read


def _write(path: Path, base_hash: str | None, env: Mapping[str, str] | None,
           mutate: Any, expected: list[tuple[tuple[PathPart, ...], Any]],
           include: IncludeTarget | None = None) -> WriteResult:
    base_env: Mapping[str, str] = os.environ if env is None else env
    full_env = effective_env(base_env, state_dir(base_env))
    path = path.absolute()
    # Includes resolve from where the config is named (``path``); bytes go to the link's target.
    target = write_target(path)
    with config_write_lock(path):
        current = _read_current(target)
        _check_base(path, current, base_hash)
        text = _editable_text(current, path)
        doc = parse_document(text, path)
        if doc.tree is None or doc.tree.kind != "object":
            raise ConfigError([ConfigIssue("", "cannot edit this file: its top level is not a plain "
                                               "JSON5 object clawtop can follow", file=str(path))],
                              file=str(path))
        root = path if include is None else include.root.absolute()
        root_text = text if include is None else decode(read_regular_file(root), root)
        old_dump = _old_view(root_text, root, full_env)
        try:
            new_raw = mutate(copy.deepcopy(doc.value), full_env)
            new_text = render_changes(text, doc.tree, new_raw)
        except RecursionError:
            # A value from code (the CLI's is bounded by the parser) nested past Python's stack.
            raise ConfigError([ConfigIssue("", "the new value is nested too deeply", file=str(path))],
                              file=str(path)) from None
        data = new_text.encode("utf-8")
        try:
            if include is None:
                resolved = resolve_text(new_text, path, full_env)
            else:
                resolved = resolve_text(root_text, root, full_env, reader=_reader_with(path, data))
            config = validate_resolved(resolved, str(root))
        except ConfigError as exc:
            raise _unlocated(exc, path) from None
        mount = () if include is None else include.mount
        _check_expected(resolved, [((*mount, *p), v) for p, v in expected], full_env, path)
        if old_dump is None:
            changed: tuple[str, ...] = ("<root>",)
        else:
            new_dump = resolved.data if old_dump[1] else config.model_dump(mode="json", by_alias=True)
            changed = tuple(changed_paths(old_dump[0], new_dump))
        if current is not None and new_text == text:
            return WriteResult(path, (), text_hash(current), noop=True, plan=plan_reload(()), text=text)
        # Under the lock no other clawtop writer can replace the file now; this re-check catches
        # an editor that saved it while the new text was being validated.
        _check_base(path, _read_current(target), base_hash)
        if current is None:
            write_new(target, data)
            backup = None
        else:
            backup = replace_with_backups(target, data)
        return WriteResult(path, changed, text_hash(data), created=current is None, backup=backup,
                           plan=plan_reload(changed), text=new_text)


def _unlocated(exc: ConfigError, path: Path) -> ConfigError:
    """Line numbers of the would-be text point at lines that were never written: drop them."""
    issues = [
        dataclasses.replace(i, line=None, column=None) if i.file == str(path) else i for i in exc.issues
    ]
    return ConfigError(issues, file=exc.file)


def _old_view(text: str, path: Path, env: Mapping[str, str]) -> tuple[dict[str, Any], bool] | None:
    """The current file's validated dump (``raw=False``), or its merely resolved data
    (``raw=True``) when it is invalid: a write may be exactly what fixes it."""
    try:
        old = resolve_text(text, path, env)
    except ConfigError:
        return None
    try:
        return validate_resolved(old, str(path)).model_dump(mode="json", by_alias=True), False
    except ConfigError:
        return (old.data if isinstance(old.data, dict) else {}), True


def _check_expected(resolved: Any, expected: list[tuple[tuple[PathPart, ...], Any]],
                    env: Mapping[str, str], path: Path) -> None:
    """Each requested value must be what the resolved file now says; if an included file
    overrides it (or still defines a deleted key), say where to edit instead of writing."""
    issues: list[ConfigIssue] = []
    for parts, want in expected:
        got = value_at(resolved.data, parts, _DELETE)
        target = _DELETE if want is None else _resolve_value(want, env)
        if (target is _DELETE and got is _DELETE) or (target is not _DELETE and same(got, target)):
            continue
        origin = resolved.origins.get(tuple(str(p) if isinstance(p, str) else p for p in parts))
        where = f" in {origin.file}" if origin is not None and origin.included else ""
        action = "cannot be removed here: it is defined" if want is None else "is overridden"
        issues.append(ConfigIssue(join_path(parts), f"{action}{where} by an included file; edit that file",
                                  file=str(path)))
    if issues:
        raise ConfigError(issues, file=str(path))


def set_value(path: Path, dotted_key: str, value: Any, *, base_hash: str | None,
              env: Mapping[str, str] | None = None) -> WriteResult:
    """Set one key (replacing objects/arrays wholesale); creates the file if it is missing."""
    parts = split_path(dotted_key)
    if not parts:
        raise ConfigError([ConfigIssue("", "an empty key cannot be set", file=str(path))], file=str(path))
    return _write(
        Path(path), base_hash, env,
        lambda raw, env_: _set_path(raw, parts, value, env_, Path(path)),
        [] if value is None else [(tuple(parts), value)],
    )


def set_values(path: Path, values: Sequence[tuple[str, Any]], *, base_hash: str | None,
               env: Mapping[str, str] | None = None, include: IncludeTarget | None = None) -> WriteResult:
    """Set several keys in one write (each as :func:`set_value` would; ``None`` removes the key, so its
    default applies again). With ``include``, ``path`` is a file the config includes and the keys are
    relative to its top; the result is validated as part of the whole config (so a tuned key that lives
    in an included file is written there)."""
    sets = [(split_path(key), value) for key, value in values]
    if not sets or any(not parts for parts, _ in sets):
        raise ConfigError([ConfigIssue("", "an empty key cannot be set", file=str(path))], file=str(path))

    def mutate(raw: Any, env_: Mapping[str, str]) -> Any:
        for parts, value in sets:
            if value is None:
                patch: Any = None
                for part in reversed(parts):
                    patch = {str(part): patch}
                raw = merge_patch(raw, patch, env_)
            else:
                raw = _set_path(raw, parts, value, env_, Path(path))
        return raw

    expected = [(tuple(parts), value) for parts, value in sets]
    return _write(Path(path), base_hash, env, mutate, expected, include)


def apply_patch(path: Path, patch: dict[str, Any], *, base_hash: str | None,
                env: Mapping[str, str] | None = None,
                replace_paths: Iterable[str] = ()) -> WriteResult:
    """Apply an RFC 7396 merge-patch (``null`` deletes, objects merge); see :func:`merge_patch`."""
    if not isinstance(patch, dict):
        raise ConfigError([ConfigIssue("", "a config patch must be an object", file=str(path))],
                          file=str(path))
    replace = frozenset(replace_paths)
    expected = [(p, v) for p, v in _leaves(patch) if p and not isinstance(v, list) and v != REDACTED]
    return _write(
        Path(path), base_hash, env,
        lambda raw, env_: merge_patch(raw, patch, env_, replace_paths=replace),
        expected,
    )
