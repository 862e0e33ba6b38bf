"""Load the dashboard's themes from TOML files in the ``themes`` package (posting style).

Themes are files, not code, so a user can copy one, change a colour and drop it next to the
others. Every field maps 1:1 onto :class:`textual.theme.Theme`; a typo in a field name is
reported with the file and the nearest valid name instead of a bare ``TypeError``.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from pathlib import Path

from textual.theme import Theme

import themes as _themes_package

THEMES_DIR = Path(_themes_package.__file__).parent
"""Where the theme files and the app stylesheet live (found relative to the package)."""

APP_CSS = THEMES_DIR / "clawtop.tcss"
DEFAULT_THEME = "clawtop-dark"
BUILTIN_THEME_NAMES = ("clawtop-dark", "clawtop-light")

_FIELDS = {f.name for f in dataclasses.fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file that cannot become a Theme; the message names the file and the problem."""


def load_theme_file(path: Path) -> Theme:
    """Parse one ``*.toml`` theme file into a Textual Theme."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: {exc}") from exc
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(_FIELDS), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ThemeFileError(f"{path.name}: unknown field(s) {', '.join(hints)}")
    for required in ("name", "primary"):
        if not isinstance(data.get(required), str):
            raise ThemeFileError(f"{path.name}: {required!r} must be a string")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(v, str) for v in variables.values()
    ):
        raise ThemeFileError(f"{path.name}: 'variables' must be a table of strings")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ThemeFileError(f"{path.name}: {exc}") from exc


def load_themes(directory: Path = THEMES_DIR) -> tuple[list[Theme], list[str]]:
    """Every theme file in ``directory`` (sorted by name), plus one message per broken file.

    Broken files are reported, not raised: one bad user theme must not stop the dashboard.
    """
    loaded: list[Theme] = []
    errors: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            loaded.append(load_theme_file(path))
        except ThemeFileError as exc:
            errors.append(str(exc))
    return loaded, errors
