"""Prunes model: live decisions and decisions read back from the store, oldest first, no
duplicates, capped."""

from __future__ import annotations

import dataclasses
import json

from core.events import LogMessage
from core.pruning.events import PruneDecision
from core.telemetry.encoding import encode_row
from core.telemetry.records import StoredEvent
from tui.models.prunes import PrunesModel, decision_from_stored


def decision(n: int, *, session: str = "s1", skipped: bool = True) -> PruneDecision:
    return PruneDecision(session_id=session, provider="sim", model="fast", skipped=skipped,
                         reason="ttl_not_elapsed" if skipped else "pruned", wall=1000.0 + n, mono=50.0 + n,
                         touched=({"index": 3, "tool": "read", "action": "soft_trim", "charsBefore": 9000,
                                   "charsAfter": 3000},) if not skipped else ())


def stored(store_id: int, d: PruneDecision) -> StoredEvent:
    """The row the telemetry store would hand back for ``d``."""
    wall, mono, kind, payload = encode_row(d)
    return StoredEvent(id=store_id, kind=kind, wall=wall, mono=mono, payload=json.loads(payload))


def test_a_stored_row_rebuilds_the_same_decision() -> None:
    d = decision(1, skipped=False)
    row = stored(7, d)
    row.payload["fieldFromANewerVersion"] = 1
    assert decision_from_stored(row) == d


def test_live_decisions_are_kept_in_order_and_not_twice() -> None:
    model = PrunesModel()
    assert model.apply([decision(1), LogMessage(level="info", message="x"), decision(2)])
    assert not model.apply([decision(2)])  # the same decision again
    assert list(model.decisions) == ["d1", "d2"]


def test_stored_decisions_go_below_the_live_ones_without_duplicates() -> None:
    model = PrunesModel()
    model.apply([decision(3), decision(4)])
    newest_first = [(12, decision(4)), (11, decision(2)), (10, decision(1))]
    assert model.add_stored(newest_first)
    assert list(model.decisions) == ["s10", "s11", "d1", "d2"]
    assert model.stored_keys == {"s10", "s11"}
    assert not model.add_stored(newest_first)  # a repeat load adds nothing
    assert not model.apply([decision(1)])  # already listed from the store


def test_the_log_is_capped_oldest_first() -> None:
    model = PrunesModel(max_decisions=3)
    model.add_stored([(2, decision(2)), (1, decision(1))])
    model.apply([decision(3), decision(4)])
    assert list(model.decisions) == ["s2", "d1", "d2"]
    assert model.stored_keys == {"s2"}
    # The evicted decision may come again (its identity was forgotten with it).
    assert model.apply([dataclasses.replace(decision(1))])
