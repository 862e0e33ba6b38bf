"""One compaction of a session (docs/design/compaction.md#cut-point,
docs/design/compaction.md#persistence-in-the-transcript): cut, summarise, append a ``compaction`` entry — or abort with
a :class:`CompactionAborted` event and leave the transcript untouched.

Aborting instead of writing a useless entry is the loop guard of docs/design/compaction.md#loop-guards: a compaction
that does not shrink the context would re-trigger at once and burn the overflow-retry budget.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.compaction.cut import entry_tokens, find_cut_point, message_tokens, start_after_compaction
from core.compaction.events import (
    AbortReason,
    CompactionAborted,
    CompactionFinished,
    CompactionStarted,
    CompactionTrigger,
)
from core.compaction.summary import (
    FileOps,
    Summarize,
    assemble_summary,
    build_summary_request,
    collect_file_ops,
    fallback_summary,
    has_real_conversation,
)
from core.sessions.messages import COMPACTION_SUMMARY_PREFIX, COMPACTION_SUMMARY_SUFFIX
from core.sessions.model import CompactionEntry, Entry, Session

if TYPE_CHECKING:
    from core.config.schema.compaction import CompactionConfig
    from core.events.base import Event

__all__ = ["CompactionResult", "compact", "parse_compact_command"]

Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """``entry`` is the appended compaction entry, or None with ``aborted`` set to the reason."""

    entry: CompactionEntry | None
    aborted: str | None
    tokens_before: int
    tokens_after: int | None
    event: CompactionFinished | CompactionAborted

    @property
    def ok(self) -> bool:
        return self.entry is not None


def parse_compact_command(text: str) -> str | None:
    """``/compact [instructions]`` → the instructions ('' when none); None if not the command."""
    stripped = text.strip()
    if stripped == "/compact" or stripped.startswith(("/compact ", "/compact\n")):
        return stripped[len("/compact"):].strip()
    return None


def _messages(entries: Sequence[Entry]) -> list[Message]:
    out: list[Message] = []
    for e in entries:
        if (msg := getattr(e, "message", None)) is not None:
            out.append(msg.raw)
        elif hasattr(e, "as_message") and not isinstance(e, CompactionEntry):
            out.append(e.as_message().raw)
    return out


def _previously_kept(path: Sequence[Entry], start: int) -> list[Entry]:
    """Entries the previous compaction kept verbatim (still in the context, so they must be
    summarised now rather than silently dropped)."""
    if start == 0:
        return []
    prev = path[start - 1]
    assert isinstance(prev, CompactionEntry), "start_after_compaction() starts right after one"
    ids = [e.id for e in path[: start - 1]]
    if prev.first_kept_entry_id not in ids:
        return []
    return list(path[ids.index(prev.first_kept_entry_id): start - 1])


def _preserved_split(messages: list[Message], turns: int) -> tuple[list[Message], list[Message]]:
    """Take the last ``turns`` user-started turns out of the summariser input (safeguard)."""
    if turns <= 0:
        return messages, []
    starts = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if len(starts) <= turns:
        return messages, []
    cut = starts[-turns]
    return messages[:cut], messages[cut:]


async def compact(session: Session, *, config: CompactionConfig, summarize: Summarize, model: str,
                  trigger: CompactionTrigger = "threshold", instructions: str | None = None,
                  publish: Callable[[Event], None] | None = None) -> CompactionResult:
    """Compact ``session`` in place (appends one entry on success). ``model`` is the provider's
    model id the ``summarize`` callable is asked for; ``trigger`` is recorded in the events
    (``manual`` for ``/compact``, whose text arrives as ``instructions``)."""
    sid = session.id
    began = time.monotonic()
    path = session.branch()
    tokens_before = sum(message_tokens(m.raw) if m.role != "compactionSummary"
                        else math.ceil(len(m.llm_text() or "") / 4) for m in session.messages())

    def abort(reason: AbortReason, detail: str, tokens_after: int | None = None) -> CompactionResult:
        event = CompactionAborted(session_id=sid, trigger=trigger, reason=reason, detail=detail,
                                  tokens_before=tokens_before, tokens_after=tokens_after)
        if publish is not None:
            publish(event)
        return CompactionResult(None, reason, tokens_before, tokens_after, event)

    if path and isinstance(path[-1], CompactionEntry):
        return abort("already_compacted", "the last entry already is a compaction")
    start = start_after_compaction(path)
    cut = find_cut_point(path, config.keep_recent_tokens, start)
    if cut.first_kept <= start or path[cut.first_kept].id is None:
        return abort("nothing_to_summarize",
                     f"the history after the last compaction fits keepRecentTokens={config.keep_recent_tokens}")
    history_end = cut.turn_start if cut.turn_start is not None else cut.first_kept
    history = _messages(_previously_kept(path, start) + list(path[start:history_end]))
    prefix = _messages(path[history_end:cut.first_kept]) if cut.split_turn else []
    previous = path[start - 1] if start else None
    previous_summary = previous.summary if isinstance(previous, CompactionEntry) else None
    if publish is not None:
        publish(CompactionStarted(session_id=sid, trigger=trigger, mode=config.mode, tokens_before=tokens_before,
                                  messages_to_summarize=len(history) + len(prefix), split_turn=cut.split_turn))
    summarised, preserved = (_preserved_split(history, config.recent_turns_preserve)
                             if config.mode == "safeguard" else (history, []))
    try:
        body, prefix_summary = await asyncio.wait_for(
            _summaries(summarised, prefix, config, summarize, model, previous_summary, instructions),
            timeout=config.timeout_seconds)
    except TimeoutError:
        return abort("summary_failed", f"summary timed out after {config.timeout_seconds} s")
    except Exception as exc:  # noqa: BLE001 - any provider failure cancels the compaction; history is kept
        return abort("summary_failed", f"{type(exc).__name__}: {exc}")
    if not body.strip():
        return abort("empty_summary", "the summariser returned no text")
    ops = FileOps()
    if isinstance(previous, CompactionEntry) and isinstance(previous.details, Mapping):
        ops.read.update(previous.details.get("readFiles") or ())
        ops.modified.update(previous.details.get("modifiedFiles") or ())
    collect_file_ops(history + prefix, ops)
    summary = assemble_summary(body, prefix_summary=prefix_summary, preserved=preserved, summarised=history,
                               file_ops=ops, mode=config.mode)
    wrapped = len(COMPACTION_SUMMARY_PREFIX) + len(summary) + len(COMPACTION_SUMMARY_SUFFIX)
    tokens_after = math.ceil(wrapped / 4) + sum(entry_tokens(e) for e in path[cut.first_kept:])
    if tokens_after >= tokens_before:
        return abort("would_not_shrink", f"summary + kept tail ≈ {tokens_after} tokens ≥ {tokens_before} before",
                     tokens_after)
    first_kept_id = path[cut.first_kept].id
    assert first_kept_id is not None, "entries on a session path are linked by their ids"
    entry = CompactionEntry(summary, first_kept_id, tokens_before, ops.details())
    session.add(entry)
    event = CompactionFinished(session_id=sid, trigger=trigger, entry_id=entry.id or "",
                               first_kept_entry_id=first_kept_id, tokens_before=tokens_before,
                               tokens_after=tokens_after, summary_chars=len(summary),
                               duration_ms=int((time.monotonic() - began) * 1000))
    if publish is not None:
        publish(event)
    return CompactionResult(entry, None, tokens_before, tokens_after, event)


async def _summaries(history: list[Message], prefix: list[Message], config: CompactionConfig,
                     summarize: Summarize, model: str, previous_summary: str | None,
                     instructions: str | None) -> tuple[str, str | None]:
    """History summary (or the structured fallback) and, for a split turn, the prefix summary."""
    common: dict[str, Any] = {"model": model, "mode": config.mode, "identifier_policy": config.identifier_policy,
                              "identifier_instructions": config.identifier_instructions}
    if has_real_conversation(history) or previous_summary:
        request = build_summary_request(history, max_tokens=int(config.reserve_tokens * 0.8),
                                        previous_summary=previous_summary, instructions=instructions, **common)
        body = await summarize(request)
    elif has_real_conversation(prefix):
        body = fallback_summary(len(history))
    else:
        body = fallback_summary(len(history) + len(prefix))
    prefix_summary = None
    if prefix and has_real_conversation(prefix):
        request = build_summary_request(prefix, max_tokens=int(config.reserve_tokens * 0.5), turn_prefix=True, **common)
        prefix_summary = await summarize(request)
    return body, prefix_summary
