"""Session caches (docs/design/sessions.md#session-caches): TTL, mtime/size validation, env overrides, 0 disables,
events."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.events.base import Event
from core.sessions.cache import (
    MANAGER_ENV,
    STORE_ENV,
    FileTtlCache,
    SessionManagerCache,
    resolve_ttl_ms,
)
from core.sessions.events import SessionCacheEvict, SessionCacheHit, SessionCacheMiss
from core.sessions.messages import AgentMessage
from core.sessions.model import MessageEntry, Session
from core.sessions.store import SessionStore
from core.sessions.transcript import read_transcript
from tests.test_sessions_model import write_fixture


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _kinds(events: list[Event]) -> list[str]:
    return [e.kind.rsplit(".", 1)[-1] for e in events]


def test_hit_then_ttl_expiry(tmp_path: Path) -> None:
    path = str(write_fixture(tmp_path))
    events: list[Event] = []
    clock = Clock()
    cache = SessionManagerCache(45_000, publish=events.append, clock=clock)
    loads: list[str] = []

    def loader(p: str) -> Session:
        loads.append(p)
        return read_transcript(p)

    first = cache.load(path, loader)
    clock.now += 44.0
    assert cache.load(path, loader) is first
    clock.now += 2.0  # 46 s after the store, past the 45 s TTL
    assert cache.load(path, loader) is not first
    assert len(loads) == 2
    assert _kinds(events) == ["miss", "hit", "evict", "miss"]
    assert events[3].reason == "expired"  # type: ignore[attr-defined]
    assert (cache.stats.hits, cache.stats.misses, cache.stats.evictions) == (1, 2, 1)
    assert cache.stats.hit_rate == pytest.approx(1 / 3)


def test_changed_size_or_mtime_invalidates(tmp_path: Path) -> None:
    path = write_fixture(tmp_path)
    events: list[Event] = []
    cache = SessionManagerCache(45_000, publish=events.append)
    first = cache.load(str(path), read_transcript)
    with open(path, "a") as fh:  # another process appends
        fh.write('{"type":"label","id":"x","parentId":"e9","timestamp":"t"}\n')
    second = cache.load(str(path), read_transcript)
    assert second is not first and second.leaf_id == "x"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size, new mtime
    assert cache.load(str(path), read_transcript) is not second
    assert [e.reason for e in events if isinstance(e, SessionCacheMiss)] == [  # type: ignore[attr-defined]
        "absent", "changed", "changed"]
    assert sum(isinstance(e, SessionCacheEvict) for e in events) == 2


def test_zero_ttl_disables(tmp_path: Path) -> None:
    path = str(write_fixture(tmp_path))
    events: list[Event] = []
    cache = SessionManagerCache(0, publish=events.append)
    assert cache.load(path, read_transcript) is not cache.load(path, read_transcript)
    assert len(cache) == 0 and not any(isinstance(e, SessionCacheHit) for e in events)


def test_sweep_runs_lazily_at_clamped_interval() -> None:
    clock = Clock()
    cache: FileTtlCache[int] = FileTtlCache("x", 500, clock=clock)
    assert cache.sweep_interval_s == 1.0
    assert FileTtlCache("x", 120_000).sweep_interval_s == 30.0
    cache.put("a", 1, 0, 0)
    clock.now += 1.5
    cache.get("b", None)  # any access sweeps once the interval has passed
    assert "a" not in cache


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 45_000),
        ({"OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS": "1000"}, 1000),
        ({"CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS": "0",
          "OPENCLAW_SESSION_MANAGER_CACHE_TTL_MS": "1000"}, 0),
        ({"CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS": "-5"}, 45_000),
        ({"CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS": "1e3"}, 45_000),
    ],
)
def test_env_override(env: dict[str, str], expected: int) -> None:
    assert resolve_ttl_ms(MANAGER_ENV, None, env) == expected


def test_env_override_applies_to_the_store(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("CLAWTOP_SESSION_MANAGER_CACHE_TTL_MS", "0")
    monkeypatch.setenv("OPENCLAW_SESSION_CACHE_TTL_MS", "7")
    store = SessionStore(tmp_path, cache_ttl_ms=45_000)
    assert store.manager_cache.ttl_ms == 0 and store.store_cache.ttl_ms == 7
    assert resolve_ttl_ms(STORE_ENV, 3, {}) == 3


def test_store_appends_keep_the_cached_session_valid(tmp_path: Path) -> None:
    events: list[Event] = []
    store = SessionStore(tmp_path, publish=events.append)
    session = store.create()
    for i in range(3):
        store.append(session.id, MessageEntry(AgentMessage.user(f"m{i}")))
    assert store.open(session.id) is session and len(session.entries) == 3
    assert not any(isinstance(e, SessionCacheMiss) and e.cache == "manager" for e in events)
    assert read_transcript(session.path or "").leaf_id == session.leaf_id


def test_store_cache_returns_private_copies(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    session = store.create("agent:main:k")
    rows = store.entries()
    rows["agent:main:k"].extra["tampered"] = True
    assert "tampered" not in store.entries()["agent:main:k"].extra
    assert store.store_cache.stats.hits >= 1
    assert store.find(session.id) is not None
