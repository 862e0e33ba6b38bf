"""The event bus: fan-out, kind filters, drop-oldest with counters, never blocking the publisher."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from core.events import ConfigReloaded, EventBus, LogMessage, event_kinds
from core.events.base import Event, register_kind


def _log(n: int) -> LogMessage:
    return LogMessage(level="info", message=f"m{n}")


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    a, b = bus.subscribe("a"), bus.subscribe("b")
    for i in range(5):
        bus.publish(_log(i))
    assert [e.message for e in a.take_nowait()] == [f"m{i}" for i in range(5)]
    assert [e.message for e in b.take_nowait()] == [f"m{i}" for i in range(5)]
    assert bus.published == 5


async def test_kind_filter_limits_what_a_subscriber_sees() -> None:
    bus = EventBus()
    only_config = bus.subscribe("cfg", kinds=["config.reloaded"])
    bus.publish(_log(1))
    bus.publish(ConfigReloaded(changed_paths=("ui.theme",)))
    got = only_config.take_nowait()
    assert [e.kind for e in got] == ["config.reloaded"]


async def test_slow_subscriber_drops_oldest_and_counts_without_affecting_others() -> None:
    bus = EventBus()
    slow = bus.subscribe("slow", maxsize=3)
    fast = bus.subscribe("fast", maxsize=100)
    for i in range(10):
        bus.publish(_log(i))
    assert slow.dropped == 7
    assert [e.message for e in slow.take_nowait()] == ["m7", "m8", "m9"]
    assert fast.dropped == 0 and fast.pending == 10
    assert bus.dropped == 7
    slow.close()
    assert bus.dropped == 7, "a leaving subscriber's drops still count"


async def test_get_batch_waits_for_an_event_and_times_out_empty() -> None:
    bus = EventBus()
    sub = bus.subscribe("s")
    assert await sub.get_batch(timeout=0.01) == []

    async def later() -> None:
        await asyncio.sleep(0.01)
        bus.publish(_log(1))

    task = asyncio.create_task(later())
    batch = await sub.get_batch(timeout=2)
    await task
    assert [e.message for e in batch] == ["m1"]


async def test_get_batch_respects_limit() -> None:
    bus = EventBus()
    sub = bus.subscribe("s")
    for i in range(5):
        bus.publish(_log(i))
    assert len(await sub.get_batch(limit=2)) == 2
    assert sub.pending == 3


async def test_closed_subscription_stops_receiving_and_ends_iteration() -> None:
    bus = EventBus()
    sub = bus.subscribe("s")
    bus.publish(_log(1))
    sub.close()
    bus.publish(_log(2))
    seen = [e.message async for e in sub]
    assert seen == ["m1"]
    assert sub not in bus.subscriptions


async def test_threadsafe_publisher_delivers_on_the_loop() -> None:
    bus = EventBus()
    sub = bus.subscribe("s")
    publish = bus.publisher_threadsafe()
    await asyncio.to_thread(publish, _log(42))
    batch = await sub.get_batch(timeout=2)
    assert [e.message for e in batch] == ["m42"]


def test_events_are_frozen_and_carry_both_clocks() -> None:
    event = _log(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.message = "changed"  # type: ignore[misc]
    assert event.mono > 0 and event.wall > 1_600_000_000
    assert event.payload() == {"level": "info", "message": "m1"}


def test_kinds_are_registered_and_unique() -> None:
    assert event_kinds()["log"] is LogMessage

    with pytest.raises(ValueError, match="already registered"):

        @register_kind
        @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
        class Impostor(Event):
            kind = "log"


def test_payload_is_json_ready() -> None:
    event = ConfigReloaded(changed_paths=("a.b", "c"), restart_paths=("gateway.port",))
    assert event.payload()["changed_paths"] == ["a.b", "c"]
