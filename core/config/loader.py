"""Load the config: find it, parse JSON5, resolve ``$include`` and ``${VAR}``, validate strictly.

The pipeline follows docs/design/config.md#load-pipeline with clawtop's names
(docs/design/config.md#clawtop-goes-further). It fails closed: any issue raises :class:`ConfigError` (exit 78 at the
CLI) and there is never a silent fallback to defaults, except that the *default* location may be absent (no file at all
= built-in defaults).
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.config.document import Json5Document, decode, parse_document, text_hash
from core.config.envsubst import config_env_vars, layered_env, read_dotenv, substitute
from core.config.errors import ConfigError, ConfigIssue
from core.config.includes import Reader, resolve_includes
from core.config.paths import resolve_config_location, resolve_db_path, state_dir as _state_dir
from core.config.provenance import Origin, Origins, PathKey
from core.config.reading import NotReadable, file_kind, read_regular_file
from core.config.schema import ClawtopConfig
from core.config.validate import validate_data

NO_FILE_SOURCE = "defaults (no config file)"


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class LoadedConfig:
    """A validated config plus everything needed to explain it and to write it back.

    ``raw_hash`` is the ``baseHash`` writers must present; ``env_refs`` maps dot-paths to their
    ``${VAR}`` templates; ``origins`` gives file/line per value (provenance); ``include_files``
    lets the watcher notice edits to included files.
    """

    config: ClawtopConfig
    path: Path
    exists: bool
    source: str
    raw_text: str | None
    raw_hash: str | None
    data: dict[str, Any]
    state_dir: Path
    db_path: Path
    env_refs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    origins: Mapping[PathKey, Origin] = dataclasses.field(default_factory=dict)
    include_files: tuple[Path, ...] = ()
    explicit: bool = False

    def dump(self) -> dict[str, Any]:
        """The full resolved config (defaults materialised) with file key names."""
        return self.config.model_dump(mode="json", by_alias=True)


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedDocument:
    """A config text taken through parse → includes → env, not yet validated."""

    doc: Json5Document
    data: Any
    origins: Origins
    include_files: tuple[Path, ...]
    env_refs: dict[str, str]


def effective_env(env: Mapping[str, str], state: Path, *, dotenv: bool = True) -> dict[str, str]:
    """``env`` plus ``.env`` in the working dir, then in the state dir; set variables always win."""
    if not dotenv:
        return dict(env)
    return layered_env(env, read_dotenv(Path.cwd() / ".env"), read_dotenv(state / ".env"))


def resolve_text(
    text: str, path: Path, env: Mapping[str, str], *, reader: Reader | None = None
) -> ResolvedDocument:
    """Parse ``text`` as the content of ``path`` and resolve includes and variables.

    Shared by the loader and the writer (which validates the would-be file before writing it).
    """
    doc = parse_document(text, path)
    included = resolve_includes(doc, env=env) if reader is None else resolve_includes(doc, env=env, reader=reader)
    sub_env = layered_env(env, config_env_vars(included.data))
    result = substitute(included.data, sub_env, origins=included.origins, file=str(path))
    return ResolvedDocument(doc, result.data, included.origins, included.files, result.env_refs)


def validate_resolved(resolved: ResolvedDocument, file: str) -> ClawtopConfig:
    config = validate_data(resolved.data, model=ClawtopConfig, origins=resolved.origins, file=file)
    assert isinstance(config, ClawtopConfig)
    return config


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv: bool = True,
) -> LoadedConfig:
    """Load and validate the config; raises :class:`ConfigError` with every issue located.

    ``env`` defaults to ``os.environ`` and is never modified; ``.env`` files only fill in
    variables that are unset (they are used for substitution, not exported to the process).
    """
    base_env: Mapping[str, str] = os.environ if env is None else env
    path, explicit_given = resolve_config_location(explicit, base_env)
    state = _state_dir(base_env)
    full_env = effective_env(base_env, state, dotenv=dotenv)
    try:
        data_bytes = read_regular_file(path)
    except FileNotFoundError:
        if explicit_given:
            raise ConfigError(
                [ConfigIssue("", "config file not found (named by --config or $CLAWTOP_CONFIG)",
                             file=str(path))],
                file=str(path),
            ) from None
        return _defaults(path, state, base_env)
    except NotReadable as exc:
        raise ConfigError([ConfigIssue("", f"cannot read config: the path {exc}", file=str(path))],
                          file=str(path)) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue("", f"cannot read config: {exc.strerror or exc}",
                                       file=str(path))], file=str(path)) from None
    text = decode(data_bytes, path)
    resolved = resolve_text(text, path, full_env)
    config = validate_resolved(resolved, str(path))
    db_path = _db_path(config, state, base_env)
    _check_db_path(config, db_path, resolved.origins, str(path))
    return LoadedConfig(
        config=config,
        path=path,
        exists=True,
        source=str(path),
        raw_text=text,
        raw_hash=text_hash(data_bytes),
        data=resolved.data,
        state_dir=state,
        db_path=db_path,
        env_refs=resolved.env_refs,
        origins=resolved.origins,
        include_files=resolved.include_files,
        explicit=explicit_given,
    )


def _defaults(path: Path, state: Path, env: Mapping[str, str]) -> LoadedConfig:
    config = validate_data({}, model=ClawtopConfig, origins={}, file=None)
    assert isinstance(config, ClawtopConfig)
    return LoadedConfig(
        config=config, path=path, exists=False, source=NO_FILE_SOURCE, raw_text=None,
        raw_hash=None, data={}, state_dir=state, db_path=_db_path(config, state, env),
    )


def _check_db_path(config: ClawtopConfig, db_path: Path, origins: Origins, file: str) -> None:
    """A configured ``telemetry.dbPath`` naming a device, FIFO or directory validates as a string
    but fails at the first turn ("database is locked" on ``/dev/null``): refuse it at load."""
    if not config.telemetry.db_path:
        return
    try:
        mode = os.stat(db_path).st_mode
    except OSError:
        return  # absent (created on first use) or unreachable: the telemetry store reports it
    if stat.S_ISREG(mode):
        return
    origin = origins.get(("telemetry", "dbPath"))
    raise ConfigError([ConfigIssue(
        "telemetry.dbPath", f"{db_path} is {file_kind(mode)}: telemetry needs a SQLite file there",
        file=origin.file if origin else file, line=origin.line if origin else None,
        column=origin.column if origin else None,
        expected="a path to a regular file (or to nothing yet)",
    )], file=file)


def _db_path(config: ClawtopConfig, state: Path, env: Mapping[str, str]) -> Path:
    telemetry = config.model_dump(by_alias=True).get("telemetry")
    configured = telemetry.get("dbPath") if isinstance(telemetry, dict) else None
    return resolve_db_path(configured if isinstance(configured, str) else None, state, env)
