"""Dry-run of the pruner over a stored transcript (docs/design/pruning.md#dry-run-over-a-transcript): the same pure
function the agent loop runs, never writing anything — how a user tunes settings before saving them."""

from __future__ import annotations

import time

from core.pruning.pruner import PruneResult, prune
from core.pruning.settings import PruneSettings
from core.pruning.ttl import read_last_cache_touch
from core.sessions.model import Session

__all__ = ["dry_run", "session_model"]


def session_model(session: Session) -> tuple[str, str]:
    """(provider, model id) of the latest assistant message, else ``("", "")``: the TTL markers
    are matched against it, as at run start."""
    for entry in reversed(session.branch()):
        message = getattr(entry, "message", None)
        if message is not None and message.role == "assistant":
            return message.provider or "", message.model or ""
    return "", ""


def dry_run(session: Session, settings: PruneSettings, context_window_tokens: int, *, respect_ttl: bool = False,
            now_ms: int | None = None, provider: str | None = None, model: str | None = None) -> PruneResult:
    """Prune the session's current context. Without ``respect_ttl`` the TTL is taken as expired
    (the last touch is placed exactly one TTL ago, ``no_cache_touch`` cannot occur); recorded
    sticky decisions are replayed either way."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    found_provider, found_model = session_model(session)
    provider, model = provider or found_provider, model or found_model
    touch = read_last_cache_touch(session.entries, provider, model)
    last = touch.timestamp_ms if respect_ttl else now - max(settings.ttl_ms, 0)
    messages = [m.raw for m in session.messages()]
    return prune(messages, settings=settings, context_window_tokens=context_window_tokens, now_ms=now,
                 last_cache_touch_ms=last, sticky=touch.sticky, session_id=session.id,
                 provider=provider or None, model=model or None)
