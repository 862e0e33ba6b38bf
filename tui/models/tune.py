"""Tune screen state, without Textual: the tunables in scope, what the user typed for each, the
schema's verdict on it, the what-if preview and the outcome of the last apply or undo.

The screen feeds it the gateway's answers (``tunables``, ``propose_tuning``, ``preview_tuning``,
``apply_tuning``, ``undo_tuning``) and renders what it holds; everything here is plain data so
it is tested without an app. A value is typed as text and read like ``clawtop config set``
reads one: a JSON5 literal, else the bare text (so ``10s`` and ``cache-ttl`` need no quotes).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Sequence
from typing import Any

from core.config.schema.reload import Reload
from core.tuning import (
    PRUNING,
    SANDBOX,
    Change,
    Proposal,
    TunableValue,
    in_scope,
    parse_value as parse_cli_value,
    retry_scope as catalogue_retry_scope,
)

__all__ = [
    "PreviewState",
    "Scope",
    "TuneModel",
    "TuneRow",
    "effect_line",
    "format_value",
    "input_text",
    "short_source",
    "shown_value",
    "parse_value",
    "pruning_scope",
    "retry_scope",
    "sandbox_scope",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """Which keys a Tune screen edits: every tunable at or under one of ``prefixes``, under the
    title ``title``."""

    title: str
    prefixes: tuple[str, ...]
    session: str | None = None
    """The session the previews read (the one the pane showed), else the gateway's latest."""

    def holds(self, path: str) -> bool:
        return in_scope(path, self.prefixes)


def pruning_scope(session: str | None = None) -> Scope:
    """``t`` on the Context or Prunes pane: pruning and compaction, previewed on ``session``."""
    return Scope("pruning + compaction", PRUNING, session=session)


def retry_scope(provider: str | None = None) -> Scope:
    """``t`` on the Retries pane: the global policy and the focused row's provider overrides."""
    title = f"retry policy ({provider})" if provider else "retry policy"
    return Scope(title, catalogue_retry_scope(provider=provider))


def sandbox_scope() -> Scope:
    """``t`` on the Sandbox pane: the docker limits a running container takes live."""
    return Scope("sandbox limits", SANDBOX)


def parse_value(text: str) -> Any:
    """The typed text as a config value, read like ``clawtop tune set`` reads one."""
    return parse_cli_value(text.strip())


def format_value(value: Any) -> str:
    """A config value as the user types it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def input_text(value: Any) -> str:
    """What an input starts with: the value as typed, or empty for an unset key."""
    return "" if value is None else format_value(value)


def shown_value(value: Any) -> str:
    return "unset" if value is None else format_value(value)


_WHY_NOT_LIVE: dict[str, str] = {
    Reload.RESTART: "the running core read it at start and keeps {old} until it restarts",
    Reload.RECREATE_CONTAINER: "a busy container keeps {old}; an idle one is recreated with the new value",
    Reload.NONE: "nothing running holds it; the next use reads the new value",
}
"""Why a change is not simply live, per reload kind, said before ``ctrl+s``."""


def effect_line(reload: str, effect: str, old: Any) -> str:
    """``applies live``, or the effect with why: ``needs a core restart (the running core …)``."""
    why = _WHY_NOT_LIVE.get(reload)
    return f"{effect} ({why.format(old=shown_value(old))})" if why else effect


def short_source(source: str) -> str:
    """``config.json5:9`` for ``/home/me/.clawtop/config.json5:9``: a row has one line for it."""
    return " ".join(word.rsplit("/", 1)[-1] if "/" in word else word for word in source.split(" "))


def _blank(value: Any) -> bool:
    return value is None or value == ""


@dataclasses.dataclass(slots=True)
class TuneRow:
    """One tunable on screen: the catalogue entry, the value in force and what is typed."""

    entry: TunableValue
    text: str
    error: str | None = None
    """The schema's message for the typed value (from the last proposal), else None."""

    @property
    def path(self) -> str:
        return self.entry.tunable.path

    @property
    def current(self) -> Any:
        return self.entry.value

    @property
    def edited(self) -> bool:
        """The typed text reads as a value other than the one in force."""
        if not self.text.strip():
            # An emptied input of an unset key (an override that inherits) is no change.
            return not _blank(self.current)
        return parse_value(self.text) != self.current

    def change(self) -> Change | None:
        if not self.edited:
            return None
        value = None if not self.text.strip() else parse_value(self.text)
        return Change(self.path, value)

    def meta_line(self) -> str:
        """``duration · now 5m (file:3) · default 5m · applies live``."""
        tunable = self.entry.tunable
        kind = tunable.type
        if tunable.unit:
            kind += f" in {tunable.unit}"
        bounds = ""
        if tunable.minimum is not None or tunable.maximum is not None:
            low = "" if tunable.minimum is None else format_value(tunable.minimum)
            high = "" if tunable.maximum is None else format_value(tunable.maximum)
            bounds = f" [{low}…{high}]"
        choices = f" ({' | '.join(tunable.choices)})" if tunable.choices else ""
        return (f"{kind}{bounds}{choices} · now {shown_value(self.current)} ({short_source(self.entry.source)})"
                f" · default {shown_value(tunable.default)} · {tunable.effect}")

    @property
    def doc(self) -> str:
        """The field's docstring on one line (the screen cuts it to the width until the row
        has focus, then wraps it in full)."""
        return " ".join(self.entry.tunable.doc.split()).replace("``", "`")


class PreviewState(enum.Enum):
    NONE = "none"
    """Nothing edited: there is nothing to preview."""
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class TuneModel:
    """The rows of one Tune screen, in catalogue order, and where the edit stands."""

    def __init__(self, scope: Scope, entries: Iterable[TunableValue], *, base_hash: str | None) -> None:
        self.scope = scope
        self.rows: dict[str, TuneRow] = {}
        self.base_hash = base_hash
        """Hash of the config text when the values were read: a different one means the file
        changed on disk since (a conflict, never overwritten)."""
        self.proposal: Proposal | None = None
        self.proposal_for: tuple[Change, ...] | None = None
        """The changes the proposal answered; a stale one is never applied."""
        self.preview_state = PreviewState.NONE
        self.preview_lines: list[str] = []
        self.status: str = ""
        """The last apply / undo outcome (or why nothing happened), one or more lines."""
        self.conflict = False
        """The file changed since the values were read; apply stays off until they are reloaded."""
        self.reload(entries, base_hash=base_hash)

    # -- the values -----------------------------------------------------------------------

    def reload(self, entries: Iterable[TunableValue], *, base_hash: str | None) -> None:
        """Replace every row with the values in force now; typed edits are dropped."""
        self.rows = {e.tunable.path: TuneRow(e, input_text(e.value))
                     for e in entries if self.scope.holds(e.tunable.path)}
        self.base_hash = base_hash
        self.conflict = False
        self.proposal = None
        self.proposal_for = None
        self.preview_state = PreviewState.NONE
        self.preview_lines = []

    def set_text(self, path: str, text: str) -> None:
        row = self.rows[path]
        row.text = text
        row.error = None

    def changes(self) -> tuple[Change, ...]:
        return tuple(change for row in self.rows.values() if (change := row.change()) is not None)

    # -- the schema's verdict -------------------------------------------------------------

    def take_proposal(self, changes: Sequence[Change], proposal: Proposal) -> bool:
        """Record ``proposal`` if it answers the edits as they stand; False if they moved on."""
        if tuple(changes) != self.changes():
            return False
        self.proposal = proposal
        self.proposal_for = tuple(changes)
        for path, row in self.rows.items():
            row.error = proposal.errors.get(path)
        return True

    @property
    def errors(self) -> dict[str, str]:
        """The schema's messages for the current edits (paths outside the rows included)."""
        if self.proposal is None or self.proposal_for != self.changes():
            return {}
        return dict(self.proposal.errors)

    def can_apply(self) -> str | None:
        """None when ``ctrl+s`` may write, else why not. Edits whose verdict has not come back
        yet may write: the write validates them again and refuses invalid ones."""
        if self.conflict:
            return "the file changed on disk since this screen opened: reload the values first"
        if not self.changes():
            return "nothing changed"
        errors = self.errors
        if errors:
            return "fix the invalid value(s) first: " + "; ".join(
                f"{path}: {message}" for path, message in errors.items())
        return None

    def pending_lines(self) -> list[str]:
        """Old → new for every edit, with what applying it does, before ``ctrl+s``."""
        effects = self.proposal.effects if self.proposal is not None and self.proposal_for == self.changes() else {}
        lines = []
        for change in self.changes():
            row = self.rows[change.path]
            tunable = row.entry.tunable
            effect = effect_line(tunable.reload, effects.get(change.path, tunable.effect), row.current)
            lines.append(f"{change.path}: {shown_value(row.current)} → {shown_value(change.value)}"
                         f" · {effect}")
        return lines

    # -- the preview ----------------------------------------------------------------------

    def preview_started(self) -> None:
        self.preview_state = PreviewState.RUNNING

    def preview_done(self, changes: Sequence[Change], lines: list[str] | None, error: str | None = None) -> bool:
        """Record a preview if it is for the edits as they stand; False if they moved on."""
        if tuple(changes) != self.changes():
            return False
        if error is not None:
            self.preview_state = PreviewState.FAILED
            self.preview_lines = [f"preview failed: {error}"]
        else:
            self.preview_state = PreviewState.READY
            self.preview_lines = list(lines or [])
        return True

    def preview_cleared(self) -> None:
        self.preview_state = PreviewState.NONE
        self.preview_lines = []
