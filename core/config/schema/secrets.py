"""Secret redaction and the config hash (docs/design/config.md#merge-patch-with-a-base-hash,
docs/design/bench.md#clawtop-bench).

A field is secret when its ``json_schema_extra`` carries ``{"secret": True}`` (``apiKey``,
``gateway.token``); besides, the credentials in any URL's user-info (``http://u:KEY@host``) are
redacted wherever the URL appears. Redaction walks the model tree rather than matching key names, so a new
secret field is covered by marking it, and a harmless key that happens to be called ``token``
is not mangled.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from core.config.schema.base import REDACTED, is_secret_field, redact_url_userinfo

__all__ = ["REDACTED", "canonical_json", "config_hash", "redacted_dump", "secret_paths"]


def _redact(model: BaseModel, dumped: dict[str, Any], path: tuple[str, ...], found: list[str] | None) -> dict[str, Any]:
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        if key not in dumped:
            continue
        value = getattr(model, name)
        if is_secret_field(info.json_schema_extra):
            if value is not None:
                dumped[key] = REDACTED
                if found is not None:
                    found.append(".".join((*path, key)))
            continue
        dumped[key] = _redact_value(value, dumped[key], (*path, key), found)
    return dumped


def _redact_value(value: Any, dumped: Any, path: tuple[str, ...], found: list[str] | None) -> Any:
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        return _redact(value, dumped, path, found)
    if isinstance(value, dict) and isinstance(dumped, dict):
        return {k: _redact_value(value[k], dumped[k], (*path, str(k)), found) for k in dumped}
    if isinstance(value, (list, tuple)) and isinstance(dumped, list):
        return [_redact_value(v, d, (*path, str(i)), found) for i, (v, d) in enumerate(zip(value, dumped, strict=True))]
    if isinstance(dumped, str):
        redacted = redact_url_userinfo(dumped)
        if redacted != dumped and found is not None:
            found.append(".".join(path))
        return redacted
    return dumped


def redacted_dump(config: BaseModel) -> dict[str, Any]:
    """The resolved config as JSON-compatible data with the file's key names, every secret value
    replaced by ``"__REDACTED__"`` (unset secrets stay ``None``). Safe to log, display, store
    with a bench run, or send to the dashboard."""
    dumped = config.model_dump(mode="json", by_alias=True)
    return _redact(config, dumped, (), None)


def secret_paths(config: BaseModel) -> list[str]:
    """Dotted paths of the secrets that are set in this config (``models.providers.x.apiKey``)."""
    found: list[str] = []
    _redact(config, config.model_dump(mode="json", by_alias=True), (), found)
    return found


def canonical_json(data: Any) -> str:
    """Key-sorted, whitespace-free JSON (UTF-8 text, non-ASCII kept): the form that is hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(config: BaseModel) -> str:
    """SHA-256 hex of the canonical JSON of the redacted resolved config (docs/design/bench.md#clawtop-bench).

    Defaults are included (they are part of what ran), secrets are not (changing a key does not
    change what was measured, and the hash must not leak it), and the editor-only ``$schema`` key
    is left out. Equal configs give equal hashes whatever the key order in the file.
    """
    data = redacted_dump(config)
    data.pop("$schema", None)
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
