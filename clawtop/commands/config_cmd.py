"""``clawtop config …``: validate, read, change and explain the config file.

Exit codes: 0 success; 78 (``EX_CONFIG``) invalid config *or* a key the schema does not know
(raised as :class:`ConfigError`, printed by ``clawtop.cli``); 75 (``EX_TEMPFAIL``) the file
changed on disk while ``set`` was writing (re-run it); 1 for ``get`` of a valid key that has no
value in this config (e.g. an optional map entry that is not there), so scripts can tell "unset"
from "bad key".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from core.config.document import text_hash
from core.config.errors import EXIT_CONFIG, EXIT_CONFLICT, ConfigConflictError, ConfigError, ConfigIssue
from core.config.loader import NO_FILE_SOURCE, LoadedConfig, load_config
from core.config.locking import config_write_lock, write_target
from core.config.paths import resolve_config_location
from core.config.reading import NotReadable, read_regular_file
from core.config.reload_plan import rule_for
from core.config.schema import ClawtopConfig, json_schema, redacted_dump
from core.config.spans import Json5LimitError, Json5SyntaxError, PathPart, join_path, parse_tree, split_path
from core.config.validate import lookup_schema_path
from core.config.writer import apply_patch, set_value, value_at

_MISSING = object()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="validate, read and change the config file",
        description="Validate, read and change the config file (JSON5). Edits keep your "
        "comments and formatting. Exit codes: 0 ok, 78 invalid config or unknown key, "
        "75 file changed during a write, 1 key not set.",
    )
    parser.set_defaults(handler=lambda _args: _usage(parser))
    sub = parser.add_subparsers(title="config commands", metavar="COMMAND")

    validate = sub.add_parser("validate", help="check the config without starting anything")
    validate.add_argument(
        "path", nargs="?",
        help="config file (default: --config / $CLAWTOP_CONFIG / ~/.clawtop/config.json5)",
    )
    validate.add_argument("--json", action="store_true", help="machine-readable result")
    validate.set_defaults(handler=run_validate)

    get = sub.add_parser("get", help="print a resolved value as JSON (secrets redacted)")
    get.add_argument("key", help="dotted key, e.g. agents.defaults.contextPruning.ttl")
    get.set_defaults(handler=_keyed(run_get))

    set_ = sub.add_parser("set", help="set a value in the file (validated; comments kept)")
    set_.add_argument("key", help="dotted key, e.g. agents.defaults.contextPruning.ttl")
    set_.add_argument("value", help="a JSON5 literal (5, true, [1,2], {a:1}) or else a plain string (10m)")
    set_.set_defaults(handler=_keyed(run_set))

    unset = sub.add_parser("unset", help="remove a key from the file (its default applies again)")
    unset.add_argument("key", help="dotted key")
    unset.set_defaults(handler=_keyed(run_unset))

    schema = sub.add_parser("schema", help="print the JSON Schema of the config file")
    schema.set_defaults(handler=run_schema)

    show = sub.add_parser("show", help="every resolved value with where it came from")
    show.add_argument("prefix", nargs="?", default="", help="only keys under this dotted prefix")
    show.set_defaults(handler=_keyed(run_show))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# --- validate ----------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    explicit = args.path or args.config
    if not args.json:
        loaded = load_config(explicit)
        if loaded.exists:
            print(f"Config valid: {loaded.path}")
        else:
            print(f"Config valid: no file at {loaded.path}; {NO_FILE_SOURCE}")
        return 0
    try:
        loaded = load_config(explicit)
    except ConfigError as exc:
        print(json.dumps({"valid": False, "path": exc.file,
                          "issues": [dataclasses.asdict(i) for i in exc.issues]}, indent=2))
        return EXIT_CONFIG
    print(json.dumps({"valid": True, "path": str(loaded.path), "exists": loaded.exists,
                      "source": loaded.source, "hash": loaded.raw_hash, "issues": []}, indent=2))
    return 0


# --- get / show --------------------------------------------------------------------------------


class _UnknownKey(Exception):
    """A dotted key the schema does not know; reported as an issue, exit 78."""


def _check_key(key: str) -> list[PathPart]:
    """Parse a dotted key and make sure the schema knows it (else exit 78 with a suggestion)."""
    parts = split_path(key)
    lookup = lookup_schema_path(ClawtopConfig, parts)
    if not lookup.valid:
        assert lookup.bad_index is not None
        bad = parts[lookup.bad_index]
        where = join_path(parts[: lookup.bad_index]) or "the top level"
        issue = ConfigIssue(key, f"unknown key `{bad}` (not a key of {where})", suggestion=lookup.suggestion)
        raise _UnknownKey(f"Unknown config key:\n- {issue.format()}")
    return parts


def _keyed(handler: Any) -> Any:
    """Turn an unknown key into its message on stderr and exit code 78 (no traceback)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except _UnknownKey as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_CONFIG

    run.__doc__ = handler.__doc__
    return run


def run_get(args: argparse.Namespace) -> int:
    parts = _check_key(args.key)
    loaded = load_config(args.config)
    value = value_at(redacted_dump(loaded.config), parts, _MISSING)
    if value is _MISSING:
        print(f"{args.key} is not set in {loaded.source}", file=sys.stderr)
        return 1
    print(json.dumps(value, indent=2, ensure_ascii=False))
    return 0


def _leaves(value: Any, prefix: tuple[PathPart, ...]) -> list[tuple[tuple[PathPart, ...], Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*prefix, k))]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*prefix, i))]
    return [(prefix, value)]


def source_of(loaded: LoadedConfig, path: tuple[PathPart, ...]) -> str:
    """``default`` / ``file:line`` / ``include file:line`` / ``env $VAR (file:line)``."""
    dotted = join_path(path)
    origin = loaded.origins.get(path)
    if origin is None:
        return "default"
    label = origin.label()
    template = loaded.env_refs.get(dotted)
    return f"env {template} ({label})" if template is not None else label


def run_show(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    prefix = _check_key(args.prefix) if args.prefix else []
    value = value_at(redacted_dump(loaded.config), prefix, _MISSING)
    if value is _MISSING:
        print(f"{args.prefix} is not set in {loaded.source}", file=sys.stderr)
        return 1
    print(f"# config: {loaded.source}")
    rows = [(join_path(p), json.dumps(v, ensure_ascii=False), source_of(loaded, p))
            for p, v in _leaves(value, tuple(prefix))]
    width = max((len(k) + len(v) for k, v, _ in rows), default=0) + 3
    for key, shown, source in rows:
        print(f"{key} = {shown}".ljust(width) + f"  # {source}")
    return 0


# --- set / unset / schema ----------------------------------------------------------------------


def parse_cli_value(text: str) -> Any:
    """A JSON5 literal if it parses (``5``, ``true``, ``null``, ``[1,2]``), else the string.

    Parsed with the config's own parser and its limits: a value nested 80 deep or a number of
    5,000 digits is refused with exit 78 instead of a RecursionError or ValueError traceback."""
    try:
        return parse_tree(text).value
    except Json5LimitError as exc:
        where = f" at {join_path(exc.path)}" if exc.path else ""
        raise ConfigError([ConfigIssue("", f"the value given{where}: {exc.message}")]) from None
    except Json5SyntaxError:
        return text


def _snapshot(explicit: str | None) -> dict[str, Any] | None:
    try:
        return redacted_dump(load_config(explicit).config)
    except ConfigError:
        return None


def _write(args: argparse.Namespace, action: Any) -> int:
    path, _ = resolve_config_location(args.config, os.environ)
    try:
        # The lock covers this read too, so concurrent ``config set`` runs queue instead of
        # refusing each other with exit 75 (each one's base is the file the previous one wrote).
        with config_write_lock(path):
            current = _read_for_write(path)
            before = _snapshot(str(path)) if current is not None else redacted_dump(ClawtopConfig.model_validate({}))
            base = text_hash(current) if current is not None else None
            result = action(path, base)
    except ConfigConflictError as exc:
        print(f"config write refused: {exc}", file=sys.stderr)
        return EXIT_CONFLICT
    if result.noop:
        print(f"No change: {path} already has that value.")
        return 0
    after = _snapshot(str(path))
    verb = "Created" if result.created else "Updated"
    print(f"{verb} {path}" + (f" (backup: {result.backup.name})" if result.backup else ""))
    for changed in result.changed_paths:
        parts = split_path(changed) if changed != "<root>" else []
        old = _shown(value_at(before, parts, _MISSING) if before is not None else _MISSING)
        new = _shown(value_at(after, parts, _MISSING) if after is not None else _MISSING)
        rule = rule_for(changed)
        print(f"  {changed}: {old} → {new}  (reload: {rule.kind}, {rule.action})")
    return 0


def _read_for_write(path: Path) -> bytes | None:
    try:
        return read_regular_file(write_target(path))
    except FileNotFoundError:
        return None
    except NotReadable as exc:
        raise ConfigError([ConfigIssue("", f"cannot read config: the path {exc}", file=str(path))],
                          file=str(path)) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue("", f"cannot read config: {exc.strerror or exc}", file=str(path))],
                          file=str(path)) from None


def _shown(value: Any) -> str:
    return "(unset)" if value is _MISSING else json.dumps(value, ensure_ascii=False)


def run_set(args: argparse.Namespace) -> int:
    _check_key(args.key)
    value = parse_cli_value(args.value)
    return _write(args, lambda path, base: set_value(path, args.key, value, base_hash=base))


def run_unset(args: argparse.Namespace) -> int:
    parts = _check_key(args.key)
    patch: Any = None
    for part in reversed(parts):
        patch = {str(part): patch}
    return _write(args, lambda path, base: apply_patch(path, patch, base_hash=base))


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


__all__ = ["EXIT_CONFLICT", "parse_cli_value", "register", "source_of"]
