"""``ui``: the Textual dashboard's saved preferences (docs/design/dashboard.md#keys)."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.config.schema.base import NonEmptyStr, StrictModel

__all__ = ["UiConfig"]


class UiConfig(StrictModel):
    """Root ``ui`` section; changes apply live (reload kind ``hot``)."""

    theme: NonEmptyStr = "clawtop-dark"
    """Theme name: a built-in (``clawtop-dark``, ``ansi-dark``, ``ansi-light``, Textual's) or a
    user theme from the themes directory; the palette's theme picker saves here. Default
    ``clawtop-dark``."""

    refresh_ms: int = Field(1000, ge=250, le=10_000)
    """How often panes redraw, in ms (``+`` / ``-`` change it by 100). Data keeps arriving in
    between; this only bounds the redraw cost. Default 1000, range 250–10000."""

    keymap: dict[str, str] = Field(default_factory=dict)
    """Key overrides by binding id (``{"pause": "space"}``); ``?`` lists every id with its key.
    Default {} (built-in keys)."""

    @field_validator("keymap")
    @classmethod
    def _non_blank(cls, value: dict[str, str]) -> dict[str, str]:
        for binding, key in value.items():
            if not binding.strip() or not key.strip():
                raise ValueError(f"keymap entry {binding!r}: {key!r} needs a binding id and a key")
        return value
