"""Messages that background work posts to the app (the only way it talks to the UI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from core.events import Event


class EventsArrived(Message):
    """A batch of bus events for the dashboard, oldest first.

    Posted once per batch by the single bus subscriber. If the app falls behind, a pending
    batch is folded into the next one instead of queueing (toolong's ``can_replace``
    coalescing), so a flood costs one UI update, not thousands, and no event is lost.
    """

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events

    def can_replace(self, message: Message) -> bool:
        # Textual asks the older message whether the newer one may supersede it; the newer
        # one absorbs our events in front of its own so order is kept.
        if isinstance(message, EventsArrived):
            message.events[:0] = self.events
            self.events = []
            return True
        return False


class GatewayStateChanged(Message):
    """The gateway finished starting or stopping (or failed to); ``error`` says why it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        super().__init__()
        self.error = error
