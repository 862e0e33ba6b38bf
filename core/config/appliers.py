"""Who applies a reloaded config to the running core: a registry of prefix → applier.

Each subsystem registers, once, the config prefix it reads live and a callable that takes the
change (``old config, new config, the changed paths under the prefix``). The gateway runs the
registry after a valid reload instead of keeping its own list, so a new live setting is wired
where its subsystem is built and the reload code never grows a special case.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.config.schema.root import ClawtopConfig

__all__ = ["Applier", "ReloadAppliers"]

Applier = Callable[[ClawtopConfig, ClawtopConfig, tuple[str, ...]], Awaitable[None] | None]
"""``(old, new, paths)`` → None, or an awaitable; ``paths`` are the changed dot-paths under the
applier's prefix (never empty)."""


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + ".")


@dataclass(frozen=True, slots=True)
class _Entry:
    prefix: str
    name: str
    apply: Applier


class ReloadAppliers:
    """Appliers in registration order; :meth:`apply` runs those whose prefix saw a change."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def register(self, prefix: str, apply: Applier, *, name: str | None = None) -> None:
        """Run ``apply`` when a path at or under ``prefix`` changes (``""`` = any change).
        ``name`` labels it in :meth:`registered` (default: the prefix)."""
        self._entries.append(_Entry(prefix, name or prefix or "<any>", apply))

    def registered(self) -> list[tuple[str, str]]:
        """``(prefix, name)`` of every applier, in the order they run."""
        return [(e.prefix, e.name) for e in self._entries]

    async def apply(self, old: ClawtopConfig, new: ClawtopConfig, paths: Sequence[str]) -> list[str]:
        """Run, in registration order, every applier with a changed path under its prefix; an
        applier's exception propagates (the ones after it do not run). Returns the names run."""
        ran: list[str] = []
        for entry in self._entries:
            under = tuple(p for p in paths if _under(p, entry.prefix))
            if not under:
                continue
            result = entry.apply(old, new, under)
            if inspect.isawaitable(result):
                await result
            ran.append(entry.name)
        return ran
