"""The strict base model every config section derives from, plus small shared types.

Why strict: a typo in a config key must fail loudly (exit 78) instead of silently using the
default (docs/design/config.md#strict-validation, OpenClaw's strict schema). Keys in the file are camelCase exactly
as OpenClaw writes them; Python attributes are snake_case and mapped by ``alias_generator``.
``populate_by_name`` stays off, so a snake_case key in the file is an unknown key, and validation
errors carry the file's key names in ``loc`` (the loader turns ``loc`` into dotted paths, line
numbers and "did you mean" suggestions by walking these models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "SECRET",
    "REDACTED",
    "redact_url_userinfo",
    "ModelRef",
    "NonEmptyStr",
    "ProviderId",
    "StrictModel",
    "is_secret_field",
    "raise_at",
]

SECRET: dict[str, Any] = {"secret": True}
"""``json_schema_extra`` marker for a field holding a credential: redacted in dumps, hashes and the
dashboard, and flagged ``"secret": true`` in the exported JSON Schema."""

REDACTED = "__REDACTED__"
"""What a secret value is replaced with in redacted views (OpenClaw's ``config.get`` redacts too)."""

MAX_TIMER_MS = 2_147_000_000
"""Upper bound for any millisecond delay: OpenClaw clamps every delay to this
(docs/design/retry.md#settings-and-normalisation)."""


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#@\s]*)@")


def _redact_userinfo(match: re.Match[str]) -> str:
    user, sep, _password = match.group(2).partition(":")
    # ``user:password@`` keeps the user name; a lone ``token@`` is usually a credential itself.
    shown = f"{user}:{REDACTED}" if sep else REDACTED
    return f"{match.group(1)}{shown}@"


def redact_url_userinfo(text: str) -> str:
    """``text`` with the credentials of every URL's user-info replaced (``http://u:KEY@host`` →
    ``http://u:__REDACTED__@host``): a key can hide in a ``baseUrl`` as well as in ``apiKey``."""
    return _URL_USERINFO.sub(_redact_userinfo, text) if "@" in text else text


class StrictModel(BaseModel):
    """Base for every config model: unknown keys rejected, camelCase keys only, docstrings kept.

    Models are frozen: a loaded config is an immutable snapshot. Hot reload swaps the whole object,
    so an in-flight operation keeps the policy it started with (docs/design/retry.md#retry-settings), and a change is
    always a merge-patch that is validated again (docs/design/config.md#merge-patch-with-a-base-hash), never a stray
    assignment.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        validate_default=True,
        frozen=True,
        use_attribute_docstrings=True,
        loc_by_alias=True,
        serialize_by_alias=True,
        str_strip_whitespace=False,
        strict=True,
    )


NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
"""A string that is not blank (surrounding whitespace is stripped first)."""

ProviderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)]
"""A provider id as used before the ``/`` of a model ref: letters, digits, ``.``, ``_``, ``-``."""

ModelRef = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/\S+$", strip_whitespace=True),
]
"""A model reference ``provider/model`` (OpenClaw's form, e.g. ``sim/fast``,
``ollama/llama3.2``); everything after the first ``/`` is the model id, which may itself contain
``/`` (OpenRouter-style ids)."""


def is_secret_field(extra: Any) -> bool:
    """True when a field's ``json_schema_extra`` carries the :data:`SECRET` marker."""
    return isinstance(extra, dict) and extra.get("secret") is True


def raise_at(title: str, errors: Sequence[tuple[tuple[str | int, ...], str, str, Any]]) -> None:
    """Raise a ``ValidationError`` whose issues point at exact keys, from a model validator.

    Each error is ``(loc, error_type, message, input)`` with ``loc`` relative to the model being
    validated, using the file's key names. Pydantic prefixes the parent path when the model is
    nested, so a cross-field check (``memorySwap`` vs ``memory``, a model ref vs the provider list)
    is reported at the key the user has to edit rather than at the document root.
    """
    if not errors:
        return
    details = [
        InitErrorDetails(
            type=PydanticCustomError(error_type, "{detail}", {"detail": message}),
            loc=loc,
            input=value,
        )
        for loc, error_type, message, value in errors
    ]
    raise ValidationError.from_exception_data(title, details)
