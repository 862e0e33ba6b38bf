"""The agent's prune step: cache-TTL pruning before every model call, the TTL clock it runs on
and the cache-touch marker after each run attempt (docs/design/pruning.md#when-the-hook-runs,
docs/design/pruning.md#the-ttl-clock).

The transcript keeps the original content (docs/design/pruning.md#sticky-decisions): the pruner returns new dicts for
what it trims, the transcript's own dicts for the rest, and the step only changes what is *sent*. The
before/after text of what a decision touched is kept in memory (events never carry content) for
the dashboard's prune detail, bounded to the most recent decisions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.agent.session_state import SessionStates, TouchClock
from core.agent.transcripts import Transcripts
from core.config.schema.root import ClawtopConfig
from core.context.window import resolve_context_window
from core.events.base import Event
from core.pruning import (
    CACHE_TTL_CUSTOM_TYPE,
    PruneDecision,
    cache_ttl_data,
    is_cache_ttl_eligible,
    prune,
    read_last_cache_touch,
    settings_from_config,
    should_append_cache_ttl,
)
from core.sessions.messages import AgentMessage
from core.sessions.model import CustomEntry, Session

__all__ = ["MAX_REMEMBERED", "PruneStep", "TouchedText", "cache_ttl_eligible", "now_ms"]

MAX_REMEMBERED = 200
"""Prune decisions whose before/after text is kept for the dashboard's detail screen."""

TouchedText = dict[str, Any]
"""One touched result of a decision: the decision's ``touched`` entry plus ``before`` and
``after`` (the message text sent without and with the pruning)."""


def now_ms() -> int:
    """Wall clock in epoch ms (the unit of the transcript's cache-touch markers)."""
    return int(time.time() * 1000)


def _api(config: ClawtopConfig, provider: str) -> str | None:
    if provider == "sim":
        return "anthropic-messages"  # the built-in simulator speaks the Anthropic dialect
    cfg = config.models.providers.get(provider)
    return cfg.api if cfg is not None else None


def cache_ttl_eligible(config: ClawtopConfig, ref: str) -> bool:
    """Whether ``provider/model`` caches prompts so that TTL pruning applies (docs/design/pruning.md#eligible-providers
    gate 2)."""
    provider, _, model_id = ref.partition("/")
    return is_cache_ttl_eligible(provider, model_id, api=_api(config, provider))


def _message(raw: Mapping[str, Any]) -> AgentMessage:
    # The pruner never mutates: unchanged messages are the transcript's own dicts, replaced ones
    # are new dicts (the stored transcript keeps the original content, docs/design/pruning.md#sticky-decisions).
    return AgentMessage(raw if isinstance(raw, dict) else dict(raw))


def _decision_key(decision: PruneDecision) -> tuple[float, str | None]:
    return (decision.mono, decision.session_id)


class PruneStep:
    """Runs the prune hook and keeps each session's TTL clock (in :class:`SessionStates`)."""

    def __init__(self, config: Callable[[], ClawtopConfig], publish: Callable[[Event], None],
                 transcripts: Transcripts, states: SessionStates,
                 settings_version: Callable[[], str | None] = lambda: None) -> None:
        self._config = config
        self._settings_version = settings_version
        self._publish = publish
        self._transcripts = transcripts
        self._states = states
        self._details: dict[tuple[float, str | None], list[TouchedText]] = {}

    def begin_run(self, session: Session, ref: str) -> TouchClock:
        """Run start (docs/design/pruning.md#the-ttl-clock): ``lastCacheTouchAt`` and the sticky decisions from the
        latest marker of this provider/model in the transcript."""
        provider, _, model_id = ref.partition("/")
        touch = read_last_cache_touch(session.entries, provider, model_id)
        clock = TouchClock(ref, touch.timestamp_ms, dict(touch.sticky))
        self._states[session.id].clock = clock
        return clock

    def forget_clock(self, session: Session) -> None:
        """After a compaction: the next call re-reads the clock from the transcript."""
        state = self._states.get(session.id)
        if state is not None:
            state.clock = None

    async def prune(self, session: Session, messages: list[AgentMessage], *, ref: str) -> list[AgentMessage]:
        """The prune hook, before every model call; publishes its :class:`PruneDecision`."""
        state = self._states[session.id]
        clock = state.clock
        if clock is None or clock.ref != ref:
            clock = self.begin_run(session, ref)
        provider, _, model_id = ref.partition("/")
        config = self._config()
        settings = settings_from_config(config.agents.defaults.context_pruning)
        now = now_ms()
        result = prune([m.raw for m in messages], settings=settings,
                       context_window_tokens=resolve_context_window(config, ref).tokens, now_ms=now,
                       last_cache_touch_ms=clock.touched_ms, sticky=clock.sticky,
                       eligible=cache_ttl_eligible(config, ref), session_id=session.id, provider=provider,
                       model=model_id)
        after = [_message(m) for m in result.messages]
        self._remember(result.decision, messages, after)
        self._publish(dataclasses.replace(result.decision, settings_version=self._settings_version()))
        state.clock = TouchClock(ref, now if result.touch_clock else clock.touched_ms, dict(result.sticky))
        return after

    def _remember(self, decision: PruneDecision, before: Sequence[AgentMessage],
                  after: Sequence[AgentMessage]) -> None:
        touched = []
        for t in decision.touched:
            i = t.get("index")
            if isinstance(i, int) and 0 <= i < len(before) and i < len(after):
                touched.append({**t, "before": before[i].text(), "after": after[i].text()})
        self._details[_decision_key(decision)] = touched
        while len(self._details) > MAX_REMEMBERED:
            del self._details[next(iter(self._details))]

    def detail(self, decision: PruneDecision) -> list[TouchedText] | None:
        """Before/after text per touched result of a decision this gateway made, else None
        (a decision replayed from the store, or one evicted from memory)."""
        return self._details.get(_decision_key(decision))

    async def after_attempt(self, session: Session, ref: str, *, compacted: bool = False) -> None:
        """Append the cache-touch marker after a run attempt (docs/design/pruning.md#the-ttl-clock), with the sticky
        decisions, unless a compaction happened during it."""
        provider, _, model_id = ref.partition("/")
        config = self._config()
        mode = config.agents.defaults.context_pruning.mode
        if not should_append_cache_ttl(mode=mode, eligible=cache_ttl_eligible(config, ref),
                                       compacted_during_attempt=compacted):
            return
        now = now_ms()
        state = self._states[session.id]
        sticky = state.clock.sticky if state.clock is not None else {}
        state.clock = TouchClock(ref, now, sticky)
        entry = CustomEntry(CACHE_TTL_CUSTOM_TYPE, cache_ttl_data(now, provider, model_id, sticky))
        await self._transcripts.append_entries(session, [entry])

    def ms_since_touch(self, session: Session) -> int | None:
        """Time since the session's last cache touch, None before the first one."""
        state = self._states.get(session.id)
        if state is None or state.clock is None or state.clock.touched_ms is None:
            return None
        return now_ms() - state.clock.touched_ms
