"""The TTL clock: ``custom`` transcript entries of type ``openclaw.cache-ttl`` (docs/design/pruning.md#the-ttl-clock).

The marker carries ``{timestamp, provider, modelId}`` plus the sticky decisions (``pruned``:
``toolCallId`` → ``soft`` | ``hard``, docs/design/pruning.md#sticky-decisions). Entries may be JSONL dicts
(``customType``/``data``) or objects with ``custom_type``/``data`` attributes (the sessions model), so both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CACHE_TTL_CUSTOM_TYPE",
    "CacheTouch",
    "cache_ttl_data",
    "read_last_cache_touch",
    "should_append_cache_ttl",
]

CACHE_TTL_CUSTOM_TYPE = "openclaw.cache-ttl"


@dataclass(frozen=True, slots=True)
class CacheTouch:
    """The latest marker for one provider/model: when, and which results are pruned."""

    timestamp_ms: int | None = None
    sticky: dict[str, str] = field(default_factory=dict)


def _custom(entry: Any) -> tuple[str | None, Any]:
    if isinstance(entry, Mapping):
        if entry.get("type") != "custom":
            return None, None
        return entry.get("customType"), entry.get("data")
    return getattr(entry, "custom_type", None), getattr(entry, "data", None)


def read_last_cache_touch(entries: Iterable[Any], provider: str, model_id: str) -> CacheTouch:
    """``readLastCacheTtlTimestamp``: the **latest** marker whose provider and model id match
    (case-insensitive); none → ``timestamp_ms=None`` (a first call never prunes)."""
    want = (provider.lower(), model_id.lower())
    found: CacheTouch = CacheTouch()
    for entry in entries:
        custom_type, data = _custom(entry)
        if custom_type != CACHE_TTL_CUSTOM_TYPE or not isinstance(data, Mapping):
            continue
        got = (str(data.get("provider", "")).lower(), str(data.get("modelId", "")).lower())
        ts = data.get("timestamp")
        if got != want or not isinstance(ts, (int, float)):
            continue
        pruned = data.get("pruned")
        sticky = {str(k): str(v) for k, v in pruned.items()} if isinstance(pruned, Mapping) else {}
        found = CacheTouch(int(ts), sticky)
    return found


def cache_ttl_data(now_ms: int, provider: str, model_id: str,
                   sticky: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``data`` of a new marker; append it as ``custom`` / :data:`CACHE_TTL_CUSTOM_TYPE`."""
    data: dict[str, Any] = {"timestamp": now_ms, "provider": provider, "modelId": model_id}
    if sticky:
        data["pruned"] = dict(sticky)
    return data


def should_append_cache_ttl(*, mode: str, eligible: bool, compacted_during_attempt: bool,
                            timed_out_during_compaction: bool = False) -> bool:
    """``appendAttemptCacheTtlIfNeeded``: after every attempt, except around a compaction — a
    marker right after a compaction entry defeats the "last entry is a compaction" guard and
    caused double compaction (#9282, #28491)."""
    return (mode == "cache-ttl" and eligible and not compacted_during_attempt
            and not timed_out_during_compaction)
