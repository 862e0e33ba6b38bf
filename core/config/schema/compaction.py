"""``agents.defaults.compaction``: summarising old history when the context fills up
(docs/design/compaction.md#compaction).

Keys and defaults are OpenClaw's, including the ones its current docs call "built in"
(``reserveTokens*``, ``keepRecentTokens``, ``maxHistoryShare``): clawtop keeps them settable with
bounds (docs/design/compaction.md#triggers, docs/design/pruning.md#where-clawtop-differs-from-openclaw). Keys of
features clawtop does not have (compaction-provider plugins registry, context engines) are not accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self, TypeAlias

from pydantic import Field, model_validator

from core.config.schema.base import ModelRef, NonEmptyStr, StrictModel, raise_at
from core.config.schema.sizes import byte_size_type

__all__ = [
    "CompactionConfig",
    "CompactionMode",
    "IdentifierPolicy",
    "MemoryFlushConfig",
    "MidTurnPrecheckConfig",
    "QualityGuardConfig",
]

CompactionMode = Literal["default", "safeguard"]
"""``default`` = pi's built-in summariser (docs/design/compaction.md#summary-in-default-mode); ``safeguard`` =
OpenClaw's structured, quality-checked summary (docs/design/compaction.md#summary-in-safeguard-mode)."""

IdentifierPolicy = Literal["strict", "off", "custom"]
"""How the summary treats opaque identifiers: ``strict`` keeps UUIDs, hashes, ids, hosts, ports,
URLs and file names literally; ``off`` gives no instruction; ``custom`` uses
``identifierInstructions`` (docs/design/compaction.md#summary-in-safeguard-mode)."""

if TYPE_CHECKING:
    # The validator builds an ``Annotated`` type at run time, which mypy cannot read as a type:
    # it checks the value type the field holds as written (``"5m"`` or a number).
    TranscriptSize: TypeAlias = str | int
else:
    TranscriptSize = byte_size_type(min_bytes=1024)


class QualityGuardConfig(StrictModel):
    """Safeguard-mode summary audit: required headings, recent identifiers and the latest ask
    must survive, else the summary is regenerated with feedback
    (docs/design/compaction.md#summary-in-safeguard-mode)."""

    enabled: bool = True
    """Audit each safeguard summary; when retries run out the compaction is cancelled rather
    than storing a known-bad summary. Default true."""

    max_retries: int = Field(1, ge=0, le=3)
    """Regenerations after a failed audit. Default 1, at most 3."""


class MidTurnPrecheckConfig(StrictModel):
    """Re-run the pre-prompt overflow precheck after each tool result inside a tool loop
    (docs/design/compaction.md#triggers)."""

    enabled: bool = False
    """Check after every tool result, not only before the prompt, so a long tool loop compacts or
    truncates before the provider rejects it. Default false."""


class MemoryFlushConfig(StrictModel):
    """Pre-compaction memory flush: a silent turn that stores durable notes in
    ``memory/<date>.md`` before history is summarised away (docs/design/compaction.md#memory-flush)."""

    enabled: bool = True
    """Run the flush when the projected prompt nears the compaction threshold. Default true."""

    soft_threshold_tokens: int = Field(4000, ge=0, le=10_000_000)
    """Flush when projected tokens ≥ window − ``reserveTokensFloor`` − this. Default 4000."""

    force_flush_transcript_bytes: TranscriptSize | None = None
    """Also flush once the transcript file reaches this size (``"2mb"`` or bytes); unset =
    size never forces a flush. Default unset."""

    model: ModelRef | None = None
    """Model ref for the flush turn; unset = the session's model."""


class CompactionConfig(StrictModel):
    """``agents.defaults.compaction`` (docs/design/compaction.md#compaction)."""

    mode: CompactionMode = "safeguard"
    """Summariser: ``safeguard`` (structured sections, identifier preservation, quality audit)
    or ``default``. Default ``safeguard`` (OpenClaw's ``applyCompactionDefaults``)."""

    enabled: bool = True
    """Proactive compaction after a turn once tokens exceed window − reserve; false disables
    only that path (overflow recovery and ``/compact`` still compact). Default true."""

    model: ModelRef | None = None
    """Model ref used to write summaries; unset = the session's model."""

    reserve_tokens: int = Field(16384, ge=0, le=10_000_000)
    """Tokens kept free for the reply and the summary call; the threshold is window −
    max(reserveTokens, reserveTokensFloor). Default 16384."""

    reserve_tokens_floor: int = Field(20000, ge=0, le=10_000_000)
    """Lower bound for the reserve (0 disables the floor). Default 20000, so the default
    threshold is window − 20000."""

    keep_recent_tokens: int = Field(20000, ge=0, le=10_000_000)
    """Recent history, in tokens, kept verbatim after the cut point; only older history is
    summarised. Default 20000."""

    max_history_share: float = Field(0.5, gt=0, le=1)
    """Largest share of the window the text fed to the summariser may take; older parts are
    summarised separately first (safeguard). Default 0.5."""

    recent_turns_preserve: int = Field(3, ge=0, le=12)
    """Last user-started turns appended nearly verbatim under ``## Recent turns preserved
    verbatim`` (safeguard). Default 3, at most 12."""

    identifier_policy: IdentifierPolicy = "strict"
    """Identifier handling in summaries. Default ``strict``."""

    identifier_instructions: NonEmptyStr | None = None
    """Instruction text used when ``identifierPolicy`` is ``custom`` (required then)."""

    quality_guard: QualityGuardConfig = Field(default_factory=QualityGuardConfig)
    """Summary audit (safeguard mode)."""

    timeout_seconds: int = Field(180, ge=1, le=3600)
    """Time limit for one compaction, in seconds (OpenClaw's unit for this key). Default 180."""

    mid_turn_precheck: MidTurnPrecheckConfig = Field(default_factory=MidTurnPrecheckConfig)
    """Overflow precheck inside tool loops."""

    max_active_transcript_bytes: TranscriptSize | None = None
    """Compact before a run once the active transcript file reaches this size (``"20mb"`` or
    bytes); unset = no size trigger. Default unset."""

    post_compaction_sections: list[NonEmptyStr] = Field(default_factory=list, max_length=50)
    """AGENTS.md section headings re-injected after a compaction (``[Post-compaction context
    refresh]``, docs/design/compaction.md#persistence-in-the-transcript), e.g. ``["Session Startup", "Red Lines"]``.
    Default [] (opt-in)."""

    memory_flush: MemoryFlushConfig = Field(default_factory=MemoryFlushConfig)
    """Pre-compaction memory flush."""

    @model_validator(mode="after")
    def _custom_needs_instructions(self) -> Self:
        if self.identifier_policy == "custom" and self.identifier_instructions is None:
            raise_at(
                "CompactionConfig",
                [(
                    ("identifierInstructions",),
                    "missing_instructions",
                    'identifierInstructions is required when identifierPolicy is "custom"',
                    None,
                )],
            )
        return self
