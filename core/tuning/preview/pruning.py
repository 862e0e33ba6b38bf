"""Pruning what-if: the real pruner on the focused session, current vs candidate settings.

Both ``clawtop prune --dry-run`` and the preview call :func:`run_pruning`, which runs the pruner
through :func:`core.pruning.whatif.dry_run` (the function the agent loop runs, on the transcript
as the next call would send it), so the figures of the two are the same by construction and a
test holds them to it through the CLI. Like the CLI, the run assumes ``mode: cache-ttl`` so a
user can tune before enabling pruning; the section says when the configured mode is off.

Twice per setting: "now" (the transcript's TTL markers against the clock) and "as if the TTL had
just expired" (the last touch placed exactly one TTL ago). The next call's prompt-cache cost is
split into tokens read from the cache and tokens written to it, priced with the model entry's
``cost.cacheRead`` / ``cost.cacheWrite`` when configured (never invented).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.config.schema import ClawtopConfig
from core.config.schema.providers import ModelCost
from core.context.window import resolve_context_window
from core.pruning import settings_from_config
from core.pruning.cost import CACHE_TTL_MS
from core.pruning.estimate import CHARS_PER_TOKEN, estimate_message_chars
from core.pruning.pruner import PruneResult
from core.pruning.whatif import dry_run, session_model
from core.sessions.model import Session
from core.tuning.preview.format import money, table, tokens

__all__ = ["NextCallCost", "PruneFigures", "PruneRun", "PruningPreview", "ToolRef", "model_prices",
           "preview_pruning", "run_pruning"]

_MAX_LISTED = 4


@dataclass(frozen=True, slots=True)
class ToolRef:
    """One tool result the call sends pruned: tool name and call id."""

    tool: str
    call_id: str
    index: int

    def label(self) -> str:
        return f"{self.tool}#{self.call_id}"

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "toolCallId": self.call_id, "index": self.index}


@dataclass(frozen=True, slots=True)
class NextCallCost:
    """The next call's prompt split into cache reads and cache writes (tokens), and their price
    in USD when the model entry has cache prices (else None: "no prices configured")."""

    warm: bool
    read_tokens: int
    write_tokens: int
    read_usd: float | None
    write_usd: float | None

    @property
    def total_usd(self) -> float | None:
        if self.read_usd is None or self.write_usd is None:
            return None
        return round(self.read_usd + self.write_usd, 6)

    def to_json(self) -> dict[str, Any]:
        return {"warm": self.warm, "readTokens": self.read_tokens, "writeTokens": self.write_tokens,
                "readUsd": self.read_usd, "writeUsd": self.write_usd, "totalUsd": self.total_usd}


@dataclass(frozen=True, slots=True)
class PruneFigures:
    """What one pruner run sends: its decision, the size of the prompt, which results go out
    soft-trimmed or hard-cleared (replayed earlier decisions included) and the cache cost."""

    reason: str
    skipped: bool
    explanation: str
    ttl_ms: int
    ms_since_touch: int | None
    chars_sent: int
    tokens_sent: int
    soft_trimmed: tuple[ToolRef, ...]
    hard_cleared: tuple[ToolRef, ...]
    replayed: int
    cost: NextCallCost

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "skipped": self.skipped, "explanation": self.explanation,
                "ttlMs": self.ttl_ms, "msSinceTouch": self.ms_since_touch, "charsSent": self.chars_sent,
                "tokensSent": self.tokens_sent, "softTrimmed": [t.to_json() for t in self.soft_trimmed],
                "hardCleared": [t.to_json() for t in self.hard_cleared], "replayed": self.replayed,
                "nextCall": self.cost.to_json()}


@dataclass(frozen=True, slots=True)
class PruneRun:
    """One run of the pruner with what the CLI prints besides the figures."""

    result: PruneResult
    figures: PruneFigures
    window_tokens: int
    provider: str
    model: str


def model_prices(config: ClawtopConfig, provider: str, model: str) -> ModelCost | None:
    """The model entry's prices when it has cache prices, else None."""
    provider_cfg = config.models.providers.get(provider)
    entry = provider_cfg.model(model) if provider_cfg is not None else None
    if entry is None or (entry.cost.cache_read <= 0 and entry.cost.cache_write <= 0):
        return None
    return entry.cost


def _next_call_cost(result: PruneResult, tokens_sent: int, prices: ModelCost | None) -> NextCallCost:
    decision = result.decision
    cost = decision.cache_cost
    if cost is not None:
        # A pruning round ran: the pruner's own split (cached prefix read, the rest rewritten).
        warm = bool(cost["warm"])
        read = int(cost["cached_prefix_tokens"]) if warm else 0
        write = tokens_sent - read
    else:
        # Nothing new was pruned: the prompt is the one the cache holds, read while warm.
        since = decision.ms_since_touch
        warm = since is not None and since < CACHE_TTL_MS["short"]
        read, write = (tokens_sent, 0) if warm else (0, tokens_sent)
    if prices is None:
        return NextCallCost(warm, read, write, None, None)
    return NextCallCost(warm, read, write, round(read * prices.cache_read / 1e6, 6),
                        round(write * prices.cache_write / 1e6, 6))


def _figures(result: PruneResult, ttl_ms: int, prices: ModelCost | None) -> PruneFigures:
    decision = result.decision
    chars = sum(estimate_message_chars(m) for m in result.messages)
    tokens_sent = chars // CHARS_PER_TOKEN
    tools: dict[str, tuple[str, int]] = {}
    for t in decision.touched:
        call_id = t.get("toolCallId")
        if isinstance(call_id, str):
            tools[call_id] = (str(t.get("tool") or "?"), int(t.get("index") or 0))

    def refs(mode: str) -> tuple[ToolRef, ...]:
        found = [ToolRef(tools[c][0], c, tools[c][1]) for c, m in result.sticky.items() if m == mode and c in tools]
        return tuple(sorted(found, key=lambda r: r.index))

    return PruneFigures(
        reason=decision.reason, skipped=decision.skipped, explanation=decision.explanation, ttl_ms=ttl_ms,
        ms_since_touch=decision.ms_since_touch, chars_sent=chars, tokens_sent=tokens_sent,
        soft_trimmed=refs("soft"), hard_cleared=refs("hard"),
        replayed=sum(1 for t in decision.touched if t.get("action") == "replayed"),
        cost=_next_call_cost(result, tokens_sent, prices),
    )


def run_pruning(config: ClawtopConfig, session: Session, *, respect_ttl: bool, now_ms: int,
                context_window: int | None = None) -> PruneRun:
    """Run the pruner on ``session`` with ``config``'s pruning settings (mode taken as
    ``cache-ttl``), the model that answered last (else the primary model) and its window.
    ``respect_ttl`` False places the last cache touch exactly one TTL ago. Pure CPU work on an
    in-memory session."""
    provider, model = session_model(session)
    if not model:
        provider, _, model = config.agents.defaults.model.primary.partition("/")
    window = context_window or resolve_context_window(config, f"{provider}/{model}").tokens
    pruning = config.agents.defaults.context_pruning.model_copy(update={"mode": "cache-ttl"})
    settings = settings_from_config(pruning)
    result = dry_run(session, settings, window, respect_ttl=respect_ttl, now_ms=now_ms, provider=provider,
                     model=model)
    return PruneRun(result, _figures(result, settings.ttl_ms, model_prices(config, provider, model)), window,
                    provider, model)


@dataclass(frozen=True, slots=True)
class PruningPreview:
    """Current vs candidate pruning of the focused session, now and as if the TTL had expired."""

    session_id: str
    model_ref: str
    window_tokens: int
    mode_current: str
    mode_candidate: str
    prices_configured: bool
    now: tuple[PruneFigures, PruneFigures]
    expired: tuple[PruneFigures, PruneFigures]

    def lines(self) -> list[str]:
        window = tokens(self.window_tokens)
        out = [f"Pruning — session {self.session_id[:8]} ({self.model_ref}, window {window} tokens)"]
        if {self.mode_current, self.mode_candidate} != {"cache-ttl"}:
            modes = (self.mode_current if self.mode_current == self.mode_candidate
                     else f"{self.mode_current}, {self.mode_candidate} in the candidate")
            out.append(f"  contextPruning.mode is {modes}: the agent prunes only with cache-ttl; "
                       "figures assume cache-ttl (as clawtop prune --dry-run)")
        cur, cand = self.now
        head = ["", f"current (ttl {_ttl(cur.ttl_ms)})", f"candidate (ttl {_ttl(cand.ttl_ms)})"]
        rows: list[Sequence[str]] = [head]
        since = cur.ms_since_touch
        rows.append([f"now ({'no cache touch yet' if since is None else _ttl(since) + ' since the last call'})",
                     "", ""])
        rows += _rows(self.now, self.prices_configured)
        rows.append(["as if the TTL had just expired", "", ""])
        rows += _rows(self.expired, self.prices_configured)
        out += ["  " + line for line in table(rows)]
        if not self.prices_configured:
            out.append("  cost: no prices configured for this model (models.providers.<id>.models[].cost)")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "modelRef": self.model_ref, "windowTokens": self.window_tokens,
                "mode": {"current": self.mode_current, "candidate": self.mode_candidate},
                "pricesConfigured": self.prices_configured,
                "now": {"current": self.now[0].to_json(), "candidate": self.now[1].to_json()},
                "ttlExpired": {"current": self.expired[0].to_json(), "candidate": self.expired[1].to_json()}}


def _ttl(ms: int) -> str:
    return f"{ms / 1000:g} s" if ms < 120_000 else f"{ms / 60_000:g} min"


def _listed(refs: tuple[ToolRef, ...]) -> str:
    if not refs:
        return "0"
    names = ", ".join(r.label() for r in refs[:_MAX_LISTED])
    more = f" +{len(refs) - _MAX_LISTED}" if len(refs) > _MAX_LISTED else ""
    return f"{len(refs)}: {names}{more}"


def _rows(pair: tuple[PruneFigures, PruneFigures], priced: bool) -> list[list[str]]:
    cur, cand = pair

    def both(f: Callable[[PruneFigures], str]) -> list[str]:
        return [f(cur), f(cand)]

    rows = [
        ["  decision", *both(lambda f: f.reason)],
        ["  tokens sent", *both(lambda f: tokens(f.tokens_sent))],
        ["  soft-trimmed", *both(lambda f: _listed(f.soft_trimmed))],
        ["  hard-cleared", *both(lambda f: _listed(f.hard_cleared))],
        ["  cache read / write", *both(lambda f: f"{tokens(f.cost.read_tokens)} / {tokens(f.cost.write_tokens)}"
                                       + ("" if f.cost.warm else " (cold)"))],
    ]
    if priced:
        rows.append(["  next call cost", *both(_cost_text)])
    return rows


def _cost_text(f: PruneFigures) -> str:
    return f"{money(f.cost.read_usd)} read + {money(f.cost.write_usd)} write = {money(f.cost.total_usd)}"


def preview_pruning(current: ClawtopConfig, candidate: ClawtopConfig, session: Session,
                    now_ms: int) -> PruningPreview:
    """Four pruner runs (current/candidate × now/expired) on one session. Pure CPU work."""
    runs = [run_pruning(config, session, respect_ttl=respect, now_ms=now_ms)
            for respect in (True, False) for config in (current, candidate)]
    first = runs[1]
    return PruningPreview(
        session_id=session.id, model_ref=f"{first.provider}/{first.model}", window_tokens=first.window_tokens,
        mode_current=current.agents.defaults.context_pruning.mode,
        mode_candidate=candidate.agents.defaults.context_pruning.mode,
        prices_configured=model_prices(candidate, first.provider, first.model) is not None,
        now=(runs[0].figures, runs[1].figures), expired=(runs[2].figures, runs[3].figures),
    )
