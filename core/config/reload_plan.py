"""What a config change needs: apply live (hot), restart the core, or nothing
(docs/design/config.md#clawtop-goes-further).

The answer for a key is declared once, on the schema field that owns it
(:mod:`core.config.schema.reload`): the nearest declaration on the key's path wins, and a key
under none restarts the core (the safe default for a key nobody declared hot). ``gateway.reload``
is declared ``none`` (OpenClaw's plan, docs/design/config.md#hot-reload) inside the ``restart`` ``gateway`` section: the
watcher re-reads its own settings, and restarting the core because the debounce changed would be
absurd.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Literal

from core.config.schema.introspect import fields_along
from core.config.schema.reload import RESTART_DEFAULT, PlanKind, Reload, ReloadDeclaration, declaration_of

__all__ = [
    "ReloadDecision",
    "ReloadKind",
    "ReloadMode",
    "ReloadPlan",
    "ReloadRule",
    "decide",
    "plan_reload",
    "reload_effect",
    "reload_kind",
    "rule_for",
]

ReloadKind = PlanKind
ReloadMode = Literal["off", "hot", "restart", "hybrid"]


@dataclasses.dataclass(frozen=True, slots=True)
class ReloadRule:
    """How one changed key takes effect: the declaration found for it and where it was declared
    (``declared_at``, a schema path with ``*`` for dict keys; empty = the restart default)."""

    declaration: ReloadDeclaration
    declared_at: str = ""

    @property
    def reload(self) -> Reload:
        """The declared kind (``docker-update``, ``recreate-container`` …)."""
        return self.declaration.kind

    @property
    def kind(self) -> ReloadKind:
        """The plan bucket: ``hot``, ``restart`` or ``none``."""
        return self.declaration.kind.plan_kind

    @property
    def action(self) -> str:
        """Which running components apply it (``retry-policy``, ``docker-update`` …)."""
        return self.declaration.action

    @property
    def effect(self) -> str:
        """What the user is told: "applies live", "needs a core restart", …"""
        return self.declaration.kind.effect


UNMATCHED = ReloadRule(RESTART_DEFAULT)


@functools.lru_cache(maxsize=4096)  # the schema is fixed at import: a path's rule never changes
def rule_for(path: str) -> ReloadRule:
    """The declaration nearest to ``path`` on its way down the schema (or the restart default)."""
    rule = UNMATCHED
    for field in fields_along(path.split(".") if path else []):
        declaration = declaration_of(field.info.json_schema_extra)
        if declaration is not None:
            rule = ReloadRule(declaration, field.dotted)
    return rule


def reload_kind(path: str) -> ReloadKind:
    """``hot`` / ``restart`` / ``none`` for one changed dot-path."""
    return rule_for(path).kind


def reload_effect(path: str) -> str:
    """The effect of changing ``path`` in words, e.g. ``applies on container recreate``."""
    return rule_for(path).effect


@dataclasses.dataclass(frozen=True, slots=True)
class ReloadPlan:
    """Changed paths split by kind; ``actions`` maps each hot action to its paths."""

    hot: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    actions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def needs_restart(self) -> bool:
        return bool(self.restart)

    @property
    def changed(self) -> tuple[str, ...]:
        return (*self.hot, *self.restart, *self.none)


def plan_reload(paths: Iterable[str]) -> ReloadPlan:
    """Classify changed dot-paths with the clawtop reload table."""
    buckets: dict[ReloadKind, list[str]] = {"hot": [], "restart": [], "none": []}
    actions: dict[str, list[str]] = {}
    for path in paths:
        rule = rule_for(path)
        buckets[rule.kind].append(path)
        if rule.kind == "hot":
            actions.setdefault(rule.action, []).append(path)
    return ReloadPlan(
        tuple(buckets["hot"]), tuple(buckets["restart"]), tuple(buckets["none"]),
        tuple((a, tuple(p)) for a, p in actions.items()),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ReloadDecision:
    """What the gateway does with a plan under a ``gateway.reload.mode``."""

    apply_hot: bool
    restart: bool
    skipped_restart: bool
    note: str


def decide(plan: ReloadPlan, mode: ReloadMode) -> ReloadDecision:
    """Spec docs/design/config.md#hot-reload: ``off`` ignores, ``restart`` always restarts, ``hot`` never restarts
    (it warns instead), ``hybrid`` applies hot changes live and restarts only when needed."""
    if not plan.changed:
        return ReloadDecision(False, False, False, "no changes")
    if mode == "off":
        return ReloadDecision(False, False, False, "reload mode is off; change ignored")
    if mode == "restart":
        return ReloadDecision(False, True, False, "reload mode is restart")
    if mode == "hot":
        skipped = plan.needs_restart
        note = "restart needed but reload mode is hot: " + ", ".join(plan.restart) if skipped \
            else "applied live"
        return ReloadDecision(bool(plan.hot), False, skipped, note)
    if plan.needs_restart:
        return ReloadDecision(False, True, False, "restart needed: " + ", ".join(plan.restart))
    return ReloadDecision(bool(plan.hot), False, False, "applied live")
