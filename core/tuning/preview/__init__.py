"""What-if previews of a tuning change, computed from real data before anything is written
(docs/design/tuning.md#previews).

:func:`preview` runs, for each area a changed path falls in, the same code the running gateway
runs: the pruner on the focused session (:mod:`.pruning`), the retry engine's delay math and a
replay of recorded operations (:mod:`.retry`, :mod:`.replay`), the compaction trigger
(:mod:`.compaction`) and the sandbox limits against stored container stats (:mod:`.sandbox`).
File reads and the CPU work run in worker threads, so a preview never blocks the gateway's loop.
Each section is a frozen dataclass with ``lines()`` (the text the CLI and the Tune screen show)
and ``to_json()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.config.loader import LoadedConfig
from core.config.schema import ClawtopConfig
from core.retry.events import RetryAttempt, RetryOperationFinished
from core.sandbox.events import SandboxStats
from core.tuning.preview.compaction import CompactionPreview, preview_compaction
from core.tuning.preview.pruning import PruningPreview, preview_pruning, run_pruning
from core.tuning.preview.replay import RecordedOp, ReplayedOp, recorded_ops, replay
from core.tuning.preview.retry import RetryPreview, RetryTarget, affected_targets, policy_for, schedule
from core.tuning.preview.sandbox import SandboxPreview, preview_sandbox
from core.tuning.preview.sources import FocusedSession, PreviewSources, QueryEvents, load_focused_session
from core.tuning.propose import Change, Proposal, propose

__all__ = [
    "AREAS",
    "CompactionPreview",
    "Preview",
    "PreviewSources",
    "PruningPreview",
    "QueryEvents",
    "RetryPreview",
    "SandboxPreview",
    "area_of",
    "preview",
    "preview_changes",
    "preview_proposal",
    "run_pruning",
]

SANDBOX_LIMIT_KEYS = ("cpus", "memory", "memorySwap", "pidsLimit")
AREAS = ("pruning", "retry", "compaction", "sandbox")
STORED_FINISHED = 500
"""``retry.finished`` rows searched for retried or failed operations (newest first)."""
STORED_ATTEMPTS = 5000
STORED_STATS = 5000


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


def area_of(path: str) -> str | None:
    """The preview area a dotted path falls in, or None."""
    parts = path.split(".")
    if _under(path, "agents.defaults.contextPruning"):
        return "pruning"
    if _under(path, "agents.defaults.compaction"):
        return "compaction"
    if any(_under(path, f"agents.defaults.sandbox.docker.{key}") for key in SANDBOX_LIMIT_KEYS):
        return "sandbox"
    if (parts[0] == "retry" or (parts[:2] == ["models", "providers"] and len(parts) > 3 and parts[3] == "retry")
            or (parts[0] == "channels" and "retry" in parts[2:5])):
        return "retry"
    return None


class Section(Protocol):
    def lines(self) -> list[str]: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Preview:
    """The preview of one candidate: a section per area the changes reach (None when not
    reached or not computable, with a note saying why), the schema errors when the candidate
    does not validate, and how long each section took."""

    changed: tuple[str, ...]
    session_id: str | None = None
    pruning: PruningPreview | None = None
    retry: RetryPreview | None = None
    compaction: CompactionPreview | None = None
    sandbox: SandboxPreview | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    def sections(self) -> list[Section]:
        found: list[Section | None] = [self.pruning, self.retry, self.compaction, self.sandbox]
        return [s for s in found if s is not None]

    def lines(self) -> list[str]:
        out = [f"invalid: {path}: {message}" for path, message in self.errors.items()]
        for section in self.sections():
            out += section.lines()
        out += [f"note: {note}" for note in self.notes]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"changed": list(self.changed), "sessionId": self.session_id, "errors": dict(self.errors),
                "pruning": None if self.pruning is None else self.pruning.to_json(),
                "retry": None if self.retry is None else self.retry.to_json(),
                "compaction": None if self.compaction is None else self.compaction.to_json(),
                "sandbox": None if self.sandbox is None else self.sandbox.to_json(),
                "notes": list(self.notes), "timingsMs": dict(self.timings_ms)}


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        self.timings[self.name] = round((time.perf_counter() - self.start) * 1000, 3)


async def _retry(current: ClawtopConfig, candidate: ClawtopConfig, changed: tuple[str, ...],
                 sources: PreviewSources) -> RetryPreview:
    retry_paths = [p for p in changed if area_of(p) == "retry"]
    targets = affected_targets(current, candidate, retry_paths)
    schedules = tuple(schedule(t, policy_for(current, t), policy_for(candidate, t), sources.hint_ms)
                      for t in targets)
    if sources.query_events is None:
        return RetryPreview(schedules, (), "no event store: nothing to replay")
    finished = await sources.query_events([RetryOperationFinished.kind], limit=STORED_FINISHED)
    attempts = await sources.query_events([RetryAttempt.kind], limit=STORED_ATTEMPTS)
    primary = candidate.agents.defaults.model.primary.partition("/")[0]

    def target_of(op: RecordedOp) -> RetryTarget:
        provider = op.finished.get("provider")
        return RetryTarget(provider=str(provider) if provider else primary)

    changed_targets = {t for t in targets if t.provider is not None}
    ops = [op for op in recorded_ops(finished, attempts, STORED_FINISHED) if target_of(op) in changed_targets]
    ops = ops[:sources.replay_limit]
    replays: list[ReplayedOp] = await asyncio.to_thread(replay, ops, lambda op: policy_for(candidate, target_of(op)))
    note = ("replayed with the retry budget full" if replays
            else "no retried or failed operation of these providers is stored yet")
    return RetryPreview(schedules, tuple(replays), note)


async def preview(current: ClawtopConfig, candidate: ClawtopConfig, changed: Iterable[str],
                  sources: PreviewSources) -> Preview:
    """Preview ``candidate`` against ``current`` for the ``changed`` dotted paths."""
    paths = tuple(changed)
    areas = {area_of(p) for p in paths}
    notes = [f"no preview for {p}" for p in paths if area_of(p) is None]
    timings: dict[str, float] = {}
    focused: FocusedSession | None = None
    if areas & {"pruning", "compaction"}:
        with _Timer(timings, "session"):
            focused = await asyncio.to_thread(load_focused_session, sources)
        if focused is None:
            notes.append("no session to preview on yet (chat first, or pass a session)")
    now_ms = sources.now_ms()
    pruning = compaction = None
    retry = sandbox = None
    if "pruning" in areas and focused is not None:
        with _Timer(timings, "pruning"):
            pruning = await asyncio.to_thread(preview_pruning, current, candidate, focused.session, now_ms)
    if "compaction" in areas and focused is not None:
        with _Timer(timings, "compaction"):
            compaction = await asyncio.to_thread(preview_compaction, current, candidate, focused)
    if "retry" in areas:
        with _Timer(timings, "retry"):
            retry = await _retry(current, candidate, paths, sources)
    if "sandbox" in areas:
        with _Timer(timings, "sandbox"):
            stats = (await sources.query_events([SandboxStats.kind], limit=STORED_STATS)
                     if sources.query_events is not None else [])
            sandbox = await asyncio.to_thread(preview_sandbox, current, candidate, stats, now_ms / 1000)
    return Preview(paths, focused.id if focused is not None else None, pruning, retry, compaction, sandbox,
                   notes=tuple(notes), timings_ms=timings)


async def preview_proposal(current: ClawtopConfig, proposal: Proposal, sources: PreviewSources) -> Preview:
    """Preview a proposal's candidate; an invalid one gives a preview with only its ``errors``."""
    paths = tuple(change.path for change in proposal.changes)
    if proposal.candidate is None or proposal.errors:
        return Preview(paths, errors=dict(proposal.errors))
    return await preview(current, proposal.candidate, paths, sources)


async def preview_changes(loaded: LoadedConfig, changes: Iterable[Change], sources: PreviewSources) -> Preview:
    """Propose ``changes`` on ``loaded`` (validated against the whole schema, nothing written) and
    preview the candidate."""
    proposal = await asyncio.to_thread(propose, loaded, tuple(changes))
    return await preview_proposal(loaded.config, proposal, sources)
