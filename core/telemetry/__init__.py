"""Persistence of the event stream: a batched SQLite store, its schema and retention.

The gateway attaches an :class:`EventStore` to its bus; ``clawtop events tail|export`` read the
same file from another process (WAL mode lets them read while the gateway writes).
"""

from core.telemetry.records import StoredEvent
from core.telemetry.store import EventStore, StoreStats

__all__ = ["EventStore", "StoreStats", "StoredEvent"]
