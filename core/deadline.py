"""The deadline of the running operation, for every layer that does I/O on its behalf.

The retry engine runs each attempt inside a scope (its ``AttemptContext``); the provider clients
clamp their own timeouts to the scope's ``remaining()``, so no HTTP call outlives the attempt that
owns it. The scope lives in this leaf module because its owner (``core.retry``) sits above its
readers (``core.providers``) in the layers, and the readers must not import their owner.
"""

from __future__ import annotations

import contextvars
import time
from typing import Protocol

__all__ = ["DeadlineScope", "current_scope", "scope_deadline", "scope_var"]


class DeadlineScope(Protocol):
    """What a reader needs from the running scope: the seconds it has left (None: unbounded)."""

    def remaining(self) -> float | None: ...


scope_var: contextvars.ContextVar[DeadlineScope | None] = contextvars.ContextVar(
    "clawtop_retry_scope", default=None
)
"""Set by the owner around each attempt (``token = scope_var.set(ctx)`` … ``scope_var.reset(token)``)."""


def current_scope() -> DeadlineScope | None:
    """The running scope, if any."""
    return scope_var.get()


def scope_deadline() -> float | None:
    """The running scope's deadline as absolute ``time.monotonic()`` seconds, or None
    (docs/design/retry.md#one-retry-owner: inner layers clamp their timeouts to the owner's ``remaining()``)."""
    scope = scope_var.get()
    left = scope.remaining() if scope is not None else None
    return None if left is None else time.monotonic() + left
