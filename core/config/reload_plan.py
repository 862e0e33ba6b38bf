"""What a config change needs: apply live (hot), restart the core, or nothing (spec §7.2 table).

First matching prefix wins; ``*`` matches one path segment; anything unmatched restarts the core
(the safe default for a key nobody declared hot). ``gateway.reload`` is taken from OpenClaw's
plan (§3.6: ``none``) ahead of clawtop's ``gateway`` → restart row: the watcher re-reads its own
settings, and restarting the core because the debounce changed would be absurd.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

ReloadKind = Literal["hot", "restart", "none"]
ReloadMode = Literal["off", "hot", "restart", "hybrid"]


@dataclasses.dataclass(frozen=True, slots=True)
class ReloadRule:
    """``prefix`` (dot-path, ``*`` = any one segment) → kind and the effect shown to the user."""

    prefix: tuple[str, ...]
    kind: ReloadKind
    action: str

    def matches(self, parts: tuple[str, ...]) -> bool:
        if len(parts) < len(self.prefix):
            return False
        return all(want in ("*", got) for want, got in zip(self.prefix, parts, strict=False))


def _rules(kind: ReloadKind, action: str, *prefixes: str) -> list[ReloadRule]:
    return [ReloadRule(tuple(p.split(".")), kind, action) for p in prefixes]


RULES: tuple[ReloadRule, ...] = (
    *_rules("hot", "retry-policy", "retry", "channels.*.retry", "channels.*.accounts.*.retry",
            "models.providers.*.retry", "auth.cooldowns"),
    *_rules("hot", "next-llm-call", "agents.defaults.contextPruning",
            "agents.defaults.compaction", "contextAccounting"),
    *_rules("hot", "docker-update", *(f"agents.defaults.sandbox.docker.{k}"
                                      for k in ("cpus", "memory", "memorySwap", "pidsLimit"))),
    *_rules("hot", "sandbox-drift", "agents.defaults.sandbox"),
    *_rules("none", "next-bench-run", "bench"),
    *_rules("hot", "ui", "ui"),
    *_rules("none", "reload-settings", "gateway.reload"),
    *_rules("restart", "restart-core", "gateway", "plugins"),
)
UNMATCHED = ReloadRule((), "restart", "restart-core")


def rule_for(path: str) -> ReloadRule:
    """The first rule whose prefix matches ``path`` (or the unmatched → restart rule)."""
    parts = tuple(path.split(".")) if path else ()
    for rule in RULES:
        if rule.matches(parts):
            return rule
    return UNMATCHED


def reload_kind(path: str) -> ReloadKind:
    """``hot`` / ``restart`` / ``none`` for one changed dot-path."""
    return rule_for(path).kind


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
    """Spec §3.6 step 6: ``off`` ignores, ``restart`` always restarts, ``hot`` never restarts
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
