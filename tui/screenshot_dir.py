"""Where the palette's Screenshot goes: the user's Downloads folder, created when missing
(Textual's default fails with a bare "Failed to save screenshot" without it), else the
working directory. Textual's own toast then names the saved file's path."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_downloads_path

__all__ = ["screenshot_directory"]


def screenshot_directory() -> Path:
    """An existing, writable folder for a screenshot (creating ``~/Downloads`` if it can)."""
    downloads = user_downloads_path()
    try:
        downloads.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Path.cwd()
    return downloads
