"""Helpers the telemetry tests share: a store on a real file, attached to a fresh bus."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.events import Event, EventBus
from core.telemetry import EventStore


async def open_attached(
    path: Path, *, queue_size: int | None = None, **options: Any
) -> tuple[EventStore, EventBus]:
    """An open :class:`EventStore` (``options`` go to its constructor) writing a new bus."""
    store = EventStore(path, **options)
    await store.open()
    bus = EventBus()
    if queue_size is None:
        store.attach(bus)
    else:
        store.attach(bus, queue_size=queue_size)
    return store, bus


async def record_events(path: Path, events: Sequence[Event]) -> None:
    """Persist ``events`` with retention off, so each test decides when (and if) it applies."""
    # A queue that holds them all: nothing may be dropped before the final flush.
    store, bus = await open_attached(
        path, queue_size=len(events) + 1, retention_days=None, retention_rows=None
    )
    for event in events:
        bus.publish(event)
    await store.close()
