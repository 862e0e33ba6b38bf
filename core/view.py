"""What a front end may ask of the gateway: the one interface the dashboard (``tui/``) uses.

:class:`core.gateway.Gateway` implements :class:`GatewayView` in process. Keeping the dashboard
to this small surface — instead of the gateway's collaborators (agent hooks, store, loader) —
means a remote implementation (an attach mode over the network) can stand in for it, and the
core can be rearranged without touching the UI. Event *classes* are imported from
``core/<area>/events.py`` as data types; everything the UI does goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.agent.loop import OnDelta, OnTool
from core.gateway import GatewayState

if TYPE_CHECKING:
    from core.bench.runner import BenchRunner, BenchSpec
    from core.bench.store import RunRow
    from core.chat.result import TurnResult
    from core.compaction.compactor import CompactionResult
    from core.config.errors import ConfigError
    from core.config.schema import ClawtopConfig
    from core.events import Subscription
    from core.pruning.events import PruneDecision
    from core.sandbox.api import ContainerInfo
    from core.telemetry.records import StoredEvent
    from core.tuning import Change, Proposal, TunableValue, Tuning
    from core.tuning.preview import Preview

__all__ = ["GatewayState", "GatewayView", "OnDelta", "OnTool"]


class GatewayView(Protocol):
    """The gateway as a front end sees it: lifecycle, events, config, chat, prune detail, stored
    events, bench runs, sandbox containers and saving one config value."""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def state(self) -> GatewayState: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, name: str) -> Subscription:
        """A bus subscriber of every event kind (the dashboard takes batches from it)."""
        ...

    @property
    def events_published(self) -> int:
        """Events published since the bus was created (the status bar derives events/s)."""
        ...

    @property
    def events_dropped(self) -> int:
        """Events any subscriber dropped since the bus was created."""
        ...

    async def stored_events(self, kinds: Sequence[str], *, limit: int,
                            newest_first: bool = True) -> list[StoredEvent]:
        """Events of ``kinds`` already written to the telemetry store."""
        ...

    # -- config ------------------------------------------------------------------------------

    @property
    def config(self) -> ClawtopConfig:
        """The config in force (the last valid one)."""
        ...

    @property
    def config_source(self) -> str:
        """Where the config came from, as shown to the user."""
        ...

    @property
    def config_path(self) -> Path: ...

    @property
    def config_error(self) -> ConfigError | None:
        """The last rejected reload (the previous config stays in force), else None."""
        ...

    @property
    def restart_pending(self) -> tuple[str, ...]:
        """Changed config paths that need a core restart to take effect."""
        ...

    @property
    def config_raw_hash(self) -> str | None:
        """Hash of the config file's text as last loaded (the base of a conflict-checked write)."""
        ...

    async def save_config_value(self, key: str, value: object, *, base_hash: str | None) -> str | None:
        """Write one dotted ``key`` into the config file, keeping comments and layout; raises
        when the file changed since ``base_hash`` or the result would not validate. Returns
        the hash of the text written."""
        ...

    @property
    def session_cache_hit_rate(self) -> float | None:
        """Hit rate (0–1) of the parsed-transcript cache; None before any lookup."""
        ...

    # -- chat ---------------------------------------------------------------------------------

    async def chat_send(self, text: str, *, on_delta: OnDelta | None = None,
                        on_tool: OnTool | None = None) -> TurnResult:
        """One agent turn in the current chat session; raises ``TurnFailed`` when no model
        answered."""
        ...

    def cancel_turn(self) -> int:
        """Cancel the turns in flight (they end as ``cancelled``); returns how many."""
        ...

    async def chat_new(self) -> str:
        """``/new``: start a new chat session; returns its id."""
        ...

    async def chat_compact(self, instructions: str | None = None) -> CompactionResult:
        """``/compact [instructions]`` of the current chat session."""
        ...

    async def chat_context(self, mode: str = "list") -> str:
        """``/context [list|detail|json]`` of the current chat session, as text."""
        ...

    # -- pruning, bench, sandbox -------------------------------------------------------------

    def prune_detail(self, decision: PruneDecision) -> list[dict[str, Any]] | None:
        """Before/after text per touched result of a decision made by this gateway, else None."""
        ...

    def bench_runner(self, spec: BenchSpec) -> BenchRunner:
        """A bench run of ``spec`` on this gateway, not started (``stop()`` ends it early)."""
        ...

    async def run_bench(self, runner: BenchRunner) -> dict[str, Any]:
        """Run ``runner`` and store its document (what ``clawtop bench`` does); returns it."""
        ...

    async def bench_history(self, limit: int = 50) -> list[RunRow]:
        """The most recent stored bench runs, newest first."""
        ...

    async def bench_run(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """One stored run (id, unique prefix or tag): its document and the redacted config."""
        ...

    @property
    def sandbox_containers(self) -> Mapping[str, ContainerInfo]:
        """The latest known info (limits, hardening) per sandbox name; an in-memory read."""
        ...

    # -- live tuning: catalogue, propose, apply, undo, history (issue #11, tune-core) --------

    @property
    def settings_version(self) -> str | None:
        """The id of the tuning whose settings are in force (shown next to prune decisions and retry
        records), or None when no tuning produced them (defaults, a hand edit)."""
        ...

    async def tunables(self, prefix: str = "") -> list[TunableValue]:
        """Every tunable key at or under ``prefix`` with its current value, source and reload effect."""
        ...

    async def propose_tuning(self, changes: Sequence[Change]) -> Proposal:
        """Validate ``changes`` as a candidate config in memory (errors per key); nothing is written."""
        ...

    async def apply_tuning(self, changes: Sequence[Change], *, expected_hash: str | None = None) -> Tuning:
        """Write ``changes`` (origin ``dashboard``), journal and publish ``config.tuned``; the running gateway
        uses them on its next call. Raises :class:`core.tuning.TuningError`, nothing written: invalid values
        (``errors`` per key), a file changed on disk since it was read (``conflict``; ``expected_hash``, when
        given, is the config file hash the caller read), a read-only or immutable file."""
        ...

    async def undo_tuning(self, tuning_id: str | None = None) -> Tuning:
        """Revert the last tuning not yet undone (or ``tuning_id``): byte for byte when its files are
        unchanged, else only its keys (the returned tuning's ``note`` says which). Raises ``TuningError``."""
        ...

    async def tuning_history(self) -> list[Tuning]:
        """Every tuning and undo from the journal, newest first (it survives restarts)."""
        ...

    # -- tuning previews (docs/design/tuning.md#previews) ------------------------------------

    async def preview_tuning(self, changes: Proposal | Sequence[Change],
                             session_key: str | None = None) -> Preview:
        """What ``changes`` (a proposal from :meth:`propose_tuning`, or changes to propose) would do,
        nothing written: pruning, retry, compaction and sandbox previews for the paths they reach,
        on session ``session_key`` (key or id; default: the chat's); only the schema errors per
        path when the candidate does not validate."""
        ...
