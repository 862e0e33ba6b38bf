"""The agent loop's seams to the context-management packages: sessions, context, pruning,
compaction.

Why one adapter module: the loop reads as the spec's order of steps, while every call into a
sibling package (its exact signature, what to publish, which config to pass) lives here, in one
place to adapt when those packages change.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.providers.types import ToolSpec, Usage
from core.sessions.messages import AgentMessage

if TYPE_CHECKING:
    from core.gateway import Gateway
    from core.sessions.model import Session

__all__ = ["ContextHooks"]

log = logging.getLogger("clawtop.agent")

MAX_REMEMBERED = 200
"""Prune decisions whose before/after text is kept for the dashboard's detail screen."""


def _decision_key(decision: Any) -> tuple[float, str | None]:
    return (decision.mono, decision.session_id)


class ContextHooks:
    """Per-gateway state the loop needs between turns: the session store, calibration, the
    in-memory TTL clock per session (§1.6) and the last context report per session."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._store: Any = None
        self._memory: dict[str, Session] = {}
        self.last_touch: dict[str, int | None] = {}
        """In-memory ``lastCacheTouchAt`` (epoch ms) per session id, refreshed at run start."""
        self.reports: dict[str, Any] = {}
        """The last context report per session key (for ``/context``)."""
        self.touch: dict[str, tuple[str, int | None, dict[str, str]]] = {}
        """Per session id: (model ref, in-memory ``lastCacheTouchAt`` ms, sticky decisions)."""
        self.prompts: dict[str, Any] = {}
        """The last built :class:`~core.context.system_prompt.SystemPrompt` per session id."""
        self.actual: dict[str, tuple[int, int]] = {}
        """Per session id: (actual prompt tokens, estimated request chars) of the last call."""
        self.flush_states: dict[str, Any] = {}
        """Per session id: the last §3.7 flush state (``FlushState``), for store-less gateways."""
        self.decisions: dict[tuple[float, str | None], list[dict[str, Any]]] = {}
        """Before/after text of the touched results of recent prune decisions, by decision."""

    # -- paths ------------------------------------------------------------------------------

    def workspace_dir(self) -> Path:
        """``agents.defaults.workspace`` (``~`` expanded), else ``<state dir>/workspace``."""
        configured = self.gateway.config.agents.defaults.workspace
        if configured:
            home = (self.gateway._env or {}).get("HOME")
            text = str(configured)
            if home and (text == "~" or text.startswith("~/")):
                text = home + text[1:]
            return Path(text).expanduser().absolute()
        return Path(self.gateway.loaded.state_dir) / "workspace"

    # -- sessions ---------------------------------------------------------------------------

    @property
    def store(self) -> Any:
        return self.gateway.sessions

    def cached_session(self, key: str) -> Session | None:
        """The session last opened under ``key`` by a turn (no I/O: for views)."""
        return self._memory.get(key)

    async def open_session(self, key: str) -> Session:
        store = self.store
        if store is None:
            from core.sessions.model import Session
            session = self._memory.get(key) or Session.new()
        else:
            session = await self._open_or_create(store, key)
        self._memory[key] = session
        return session

    async def _open_or_create(self, store: Any, key: str) -> Session:
        """``key`` names a row of ``sessions.json`` (e.g. ``main``) or an existing session id;
        anything else becomes a new session stored under that key."""
        from core.sessions.store import SessionNotFound

        rows = await asyncio.to_thread(store.entries)
        row = rows.get(key)
        session_id = row.session_id if row is not None else None
        if session_id is None:
            found = next((r for r in rows.values() if r.session_id.lower() == key.lower()), None)
            session_id = found.session_id if found is not None else None
        if session_id is not None:
            try:
                return await store.open_async(session_id)
            except SessionNotFound:
                log.warning("session %s of key %s has no transcript; starting a new one", session_id, key)
        return await asyncio.to_thread(lambda: store.create(key, cwd=str(self.workspace_dir())))

    async def new_session(self, key: str) -> str:
        """``/new``: a fresh session under ``key`` (the old transcript stays on disk)."""
        store = self.store
        if store is None:
            from core.sessions.model import Session
            session = Session.new()
        else:
            session = await asyncio.to_thread(lambda: store.create(key, cwd=str(self.workspace_dir())))
        self._memory[key] = session
        self.reports.pop(key, None)
        return session.id

    async def append(self, session: Session, messages: Sequence[AgentMessage]) -> None:
        from core.sessions.model import MessageEntry
        await self._append_entries(session, [MessageEntry(m) for m in messages])

    async def _append_entries(self, session: Session, entries: list[Any]) -> None:
        """Durably append (write + fsync per the store's policy) before the loop goes on."""
        store = self.store
        if store is None:
            for entry in entries:
                session.add(entry)
            return
        for entry in entries:
            await store.append_async(session.id, entry)

    # -- system prompt ------------------------------------------------------------------------

    async def system_prompt(self, session: Session, key: str, tools: Sequence[ToolSpec]) -> str:
        """The system prompt with the workspace bootstrap files (core.context, spec §5); its
        parts are kept for calibration and the report."""
        from core.context import ToolSpec as PromptTool

        specs = [PromptTool(t.name, t.description, dict(t.input_schema)) for t in tools]
        prompt = await asyncio.to_thread(lambda: self.gateway.context.system_prompt(key, tools=specs))
        self.prompts[session.id] = prompt
        return prompt.text

    # -- pruning ------------------------------------------------------------------------------

    def _api(self, provider: str) -> str | None:
        if provider == "sim":
            return "anthropic-messages"  # the built-in simulator speaks the Anthropic dialect
        cfg = self.gateway.config.models.providers.get(provider)
        return getattr(cfg, "api", None)

    def window_tokens(self, ref: str) -> int:
        from core.context.window import resolve_context_window
        return resolve_context_window(self.gateway.config, ref).tokens

    def begin_run(self, session: Session, ref: str) -> None:
        """Run start (§1.6): ``lastCacheTouchAt`` and the sticky decisions from the latest
        marker of this provider/model in the transcript."""
        from core.pruning import read_last_cache_touch
        provider, _, model_id = ref.partition("/")
        touch = read_last_cache_touch(session.entries, provider, model_id)
        self.touch[session.id] = (ref, touch.timestamp_ms, dict(touch.sticky))

    async def prune(self, session: Session, messages: list[AgentMessage], *, ref: str) -> list[AgentMessage]:
        """The prune hook, before every model call; publishes its :class:`PruneDecision`."""
        from core.pruning import prune, settings_from_config
        from core.pruning.settings import is_cache_ttl_eligible

        state = self.touch.get(session.id)
        if state is None or state[0] != ref:
            self.begin_run(session, ref)
            state = self.touch[session.id]
        _, touch_ms, sticky = state
        provider, _, model_id = ref.partition("/")
        settings = settings_from_config(self.gateway.config.agents.defaults.context_pruning)
        now = self.now_ms()
        result = prune([m.raw for m in messages], settings=settings, context_window_tokens=self.window_tokens(ref),
                       now_ms=now, last_cache_touch_ms=touch_ms, sticky=sticky,
                       eligible=is_cache_ttl_eligible(provider, model_id, api=self._api(provider)),
                       session_id=session.id, provider=provider, model=model_id)
        self._remember(result.decision, messages, result.messages)
        self.gateway.bus.publish(result.decision)
        self.touch[session.id] = (ref, now if result.touch_clock else touch_ms, dict(result.sticky))
        # The pruner never mutates: unchanged messages are the transcript's own dicts, replaced
        # ones are new dicts (the stored transcript keeps the original content, §1.1).
        return [AgentMessage(m) for m in result.messages]  # type: ignore[arg-type]

    def _remember(self, decision: Any, before: Sequence[AgentMessage], after: Sequence[Any]) -> None:
        """Keep the before/after text of each touched result, in memory only (events never
        carry content); the Prunes pane's detail screen reads it via :meth:`prune_detail`."""
        touched = []
        for t in decision.touched:
            i = t.get("index")
            if isinstance(i, int) and 0 <= i < len(before) and i < len(after):
                touched.append({**t, "before": before[i].text(), "after": AgentMessage(after[i]).text()})  # type: ignore[arg-type]
        self.decisions[_decision_key(decision)] = touched
        while len(self.decisions) > MAX_REMEMBERED:
            del self.decisions[next(iter(self.decisions))]

    def prune_detail(self, decision: Any) -> list[dict[str, Any]] | None:
        """Before/after text per touched result of a decision this gateway made, else None
        (a decision replayed from the store, or one evicted from memory)."""
        return self.decisions.get(_decision_key(decision))

    async def after_attempt(self, session: Session, ref: str, *, compacted: bool = False) -> None:
        """Append the cache-touch marker after a run attempt (§1.6), with the sticky decisions,
        unless a compaction happened during it."""
        from core.pruning import CACHE_TTL_CUSTOM_TYPE, cache_ttl_data, should_append_cache_ttl
        from core.pruning.settings import is_cache_ttl_eligible
        from core.sessions.model import CustomEntry

        provider, _, model_id = ref.partition("/")
        mode = self.gateway.config.agents.defaults.context_pruning.mode
        eligible = is_cache_ttl_eligible(provider, model_id, api=self._api(provider))
        if not should_append_cache_ttl(mode=mode, eligible=eligible, compacted_during_attempt=compacted):
            return
        now = self.now_ms()
        sticky = self.touch.get(session.id, (ref, None, {}))[2]
        self.touch[session.id] = (ref, now, sticky)
        entry = CustomEntry(CACHE_TTL_CUSTOM_TYPE, cache_ttl_data(now, provider, model_id, sticky))
        await self._append_entries(session, [entry])

    # -- accounting -----------------------------------------------------------------------------

    def observe_usage(self, session: Session, ref: str, sent: Sequence[AgentMessage], usage: Usage) -> None:
        """Feed the response's real token count to calibration (§11.4): chars of the whole
        request (history §1.8 + system prompt + tool schemas) against the actual prompt tokens."""
        prompt = self.prompts.get(session.id)
        if prompt is None:
            return
        try:
            self.gateway.context.observe_usage(ref, prompt, session.id, [m.raw for m in sent], usage)
        except OSError:  # the calibration file could not be written: the average still applies
            log.warning("calibration state not saved", exc_info=True)

    async def after_turn(self, session: Session, key: str, ref: str, usage: Usage) -> Any:
        """After a finished turn: refresh the session row's token counters, build and publish
        the context report (``ContextReportUpdated``) with the actual input tokens."""
        from core.context import SessionUsage

        store = self.store
        fresh = await store.open_async(session.id) if store is not None else session
        self._memory[key] = fresh
        last = SessionUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                            cache_read=usage.cache_read_tokens, cache_write=usage.cache_write_tokens)
        window = self.window_tokens(ref)
        if store is not None:
            await asyncio.to_thread(lambda: store.update_entry(
                session.id, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                cache_read=usage.cache_read_tokens, cache_write=usage.cache_write_tokens,
                total_tokens=last.prompt_tokens, total_tokens_fresh=True, context_tokens=window,
                last_interaction_at=self.now_ms()))
        return self.report(fresh, key, ref, usage=last, source="run")

    def report(self, session: Session, key: str, ref: str, *, usage: Any = None, source: str = "estimate",
               publish: bool = True) -> Any:
        """Build (and by default publish) the session's context report; kept for ``/context``."""
        from core.context import PruneClock
        from core.pruning.settings import is_cache_ttl_eligible

        prompt = self.prompts.get(session.id) or self.gateway.context.system_prompt(key, tools=self._prompt_tools(key))
        self.prompts[session.id] = prompt
        pruning = self.gateway.config.agents.defaults.context_pruning
        provider, _, model_id = ref.partition("/")
        touch = self.touch.get(session.id)
        since = None if touch is None or touch[1] is None else self.now_ms() - touch[1]
        clock = PruneClock(mode=pruning.mode, ttl_ms=pruning.ttl_ms, ms_since_touch=since,
                           eligible=is_cache_ttl_eligible(provider, model_id, api=self._api(provider)))
        report = self.gateway.context.report(
            session.id, [m.raw for m in session.messages()], model_ref=ref, prompt=prompt, usage=usage,
            source=source, session_key=key, prune_clock=clock, publish=publish)  # type: ignore[arg-type]
        self.reports[key] = report
        return report

    def _prompt_tools(self, key: str) -> list[Any]:
        """The tools the agent offers session ``key`` (``exec`` too when it is sandboxed)."""
        from core.context import ToolSpec as PromptTool
        return [PromptTool(t.name, t.description, dict(t.input_schema)) for t in self.gateway.agent.tool_specs(key)]

    async def context_text(self, key: str, mode: str | None) -> str:
        """``/context [list|detail|json]`` for session ``key`` (core.context renders it): the
        last run's report, else an estimate built from the stored transcript."""
        from core.context import render

        report = self.reports.get(key)
        if report is None and (mode or "").strip().lower() not in ("", "help"):
            session = await self.open_session(key)
            ref = self._last_ref(session)
            report = await asyncio.to_thread(lambda: self.report(session, key, ref, publish=False))
        return render(report, mode)

    def _last_ref(self, session: Session) -> str:
        from core.context import session_model_ref
        return session_model_ref([m.raw for m in session.messages()], self.gateway.config)

    # -- compaction -----------------------------------------------------------------------------

    def summarizer(self, ref: str) -> Any:
        """The ``summarize`` callable for core.compaction: one model call through the same
        provider + retry + send-safety path as any turn (operation ``chat.send``)."""
        from core.chat.model_call import call_model

        async def summarize(request: Any) -> str:
            op_id = "compact-" + uuid.uuid4().hex[:8]
            call = await call_model(self.gateway, request.messages, refs=[ref], op_id=op_id, clock=time.monotonic,
                                    system=request.system, max_tokens=request.max_tokens)
            return call.text

        return summarize

    async def compact(self, key: str, *, trigger: str, instructions: str | None = None,
                      ref: str | None = None) -> Any:
        """Compact session ``key`` (the caller holds its turn lock) and append the compaction
        entry durably. The compactor works on a copy so the cached session only changes through
        the store's durable append."""
        from core.compaction import compact
        from core.sessions.model import Session

        session = await self.open_session(key)
        ref = ref or self._last_ref(session)
        scratch = Session(session.header, list(session.entries))
        result = await compact(scratch, config=self.gateway.config.agents.defaults.compaction,
                               summarize=self.summarizer(ref), model=ref.partition("/")[2], trigger=trigger,
                               instructions=instructions, publish=self.gateway.bus.publish)
        if result.entry is not None:
            await self._append_entries(session, [result.entry])
            self.touch.pop(session.id, None)
            if self.store is not None:
                row = await asyncio.to_thread(self.store.find, session.id)
                count = (row.compaction_count or 0) + 1 if row is not None else 1
                await asyncio.to_thread(lambda: self.store.update_entry(session.id, compaction_count=count))
            fresh = await self.open_session(key)
            self.report(fresh, key, ref)
        return result

    def needs_compaction(self, ref: str, usage: Usage) -> bool:
        """§3.2 trigger 1, after a completed turn: the turn's context tokens exceed window − reserve."""
        from core.agent.convert import pi_usage
        from core.compaction import check_threshold, context_tokens_from_usage

        cfg = self.gateway.config.agents.defaults.compaction
        return check_threshold(context_tokens_from_usage(pi_usage(usage)), self.window_tokens(ref), cfg).compact

    def can_compact(self, session: Session) -> bool:
        """Would :meth:`compact` cut anything? (the compactor's own abort rules, without the
        summary call) — so the memory flush is not spent on a compaction that would abort."""
        from core.compaction import find_cut_point
        from core.compaction.cut import start_after_compaction
        from core.sessions.model import CompactionEntry

        path = session.branch()
        if not path or isinstance(path[-1], CompactionEntry):
            return False
        start = start_after_compaction(path)
        cut = find_cut_point(path, self.gateway.config.agents.defaults.compaction.keep_recent_tokens, start)
        return cut.first_kept > start and path[cut.first_kept].id is not None

    async def maybe_compact(self, key: str, ref: str, usage: Usage) -> Any:
        """§3.2 trigger 1 without the memory flush (the runner's ``_maybe_compact`` adds it)."""
        if not self.needs_compaction(ref, usage):
            return None
        return await self.compact(key, trigger="threshold", ref=ref)

    def now_ms(self) -> int:
        return int(time.time() * 1000)
