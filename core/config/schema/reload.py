"""How a change to a config key takes effect, declared on the schema field that owns the key.

A field carries its declaration in ``json_schema_extra`` (so the exported JSON Schema shows it
too): ``Field(..., json_schema_extra=reload(Reload.HOT, "retry-policy"))``. Every key below a
declaring field inherits the declaration unless a deeper field declares its own; a key under no
declaration needs a core restart, the safe default for a key nobody has made live.

The *kind* says what the user sees (:attr:`Reload.effect`); the *action* names the group of
running components that pick the change up, so one reload plan can list what it will touch
(``docker-update``: running containers, ``retry-policy``: the next retried operation …).
:mod:`core.config.reload_plan` reads the declarations; nothing else should hard-code them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "RELOAD_ACTION_KEY",
    "RELOAD_KEY",
    "RESTART_DEFAULT",
    "PlanKind",
    "Reload",
    "ReloadDeclaration",
    "declaration_of",
    "reload",
]

RELOAD_KEY = "reload"
"""``json_schema_extra`` key (and JSON Schema property) holding the :class:`Reload` kind."""
RELOAD_ACTION_KEY = "reloadAction"
"""``json_schema_extra`` key holding the action label."""

PlanKind = Literal["hot", "restart", "none"]
"""What the gateway's reload decision needs to know: apply live, restart the core, or nothing."""


class Reload(enum.StrEnum):
    """When a changed key takes effect."""

    HOT = "hot"
    """Read by the running core on its next use (the next turn, retry, redraw …)."""
    RESTART = "restart"
    """Only a core restart picks it up."""
    NONE = "none"
    """Nothing running depends on it: read when next needed (a bench run, the watcher)."""
    RECREATE_CONTAINER = "recreate-container"
    """Changes a sandbox container's identity (config drift): an idle container is recreated
    with it at its next use; a busy one keeps running as it is."""
    DOCKER_UPDATE = "docker-update"
    """A resource limit applied to running sandbox containers in place (``docker update``)."""

    @property
    def plan_kind(self) -> PlanKind:
        """The reload plan's bucket: container recreation and in-place updates are done by the
        running gateway, so for the plan they are ``hot``."""
        if self in (Reload.RECREATE_CONTAINER, Reload.DOCKER_UPDATE):
            return "hot"
        return self.value  # type: ignore[return-value]  # HOT/RESTART/NONE values are PlanKind

    @property
    def effect(self) -> str:
        """What a user is told about a change of this kind."""
        return _EFFECTS[self]


_EFFECTS: dict[Reload, str] = {
    Reload.HOT: "applies live",
    Reload.RESTART: "needs a core restart",
    Reload.NONE: "applies when next used (nothing running is changed)",
    Reload.RECREATE_CONTAINER: "applies on container recreate",
    Reload.DOCKER_UPDATE: "applies live to running containers",
}


@dataclass(frozen=True, slots=True)
class ReloadDeclaration:
    """One field's declaration: its kind and the action that applies it."""

    kind: Reload
    action: str


RESTART_DEFAULT = ReloadDeclaration(Reload.RESTART, "restart-core")
"""What applies to a key with no declaration on its path."""


def reload(kind: Reload, action: str, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` for a field declaring ``kind`` (``extra`` keeps other markers such
    as :data:`~core.config.schema.base.SECRET`)."""
    return {**extra, RELOAD_KEY: kind.value, RELOAD_ACTION_KEY: action}


def declaration_of(json_schema_extra: Any) -> ReloadDeclaration | None:
    """The declaration a field's ``json_schema_extra`` carries, if any."""
    if not isinstance(json_schema_extra, dict) or RELOAD_KEY not in json_schema_extra:
        return None
    return ReloadDeclaration(Reload(json_schema_extra[RELOAD_KEY]), str(json_schema_extra[RELOAD_ACTION_KEY]))
