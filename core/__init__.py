"""clawtop's gateway core.

Nothing in this package may import the UI (``tui``, ``textual``) or the CLI (``clawtop``):
an import-linter contract run by the test suite enforces it, so the core runs headless.
"""
