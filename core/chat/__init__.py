"""Chat turns through the gateway: the one path the dashboard's Chat pane and ``clawtop send``
share (model choice, streaming, retries with send safety, failover, turn events). The turn itself
is the agent loop's (:mod:`core.agent.loop`); the model call is :mod:`core.providers.call`."""

from core.chat.events import ChatTurnFinished, ChatTurnStarted
from core.chat.result import TurnFailed, TurnResult, turn_json, usage_json
from core.chat.service import ChatService

__all__ = ["ChatService", "ChatTurnFinished", "ChatTurnStarted", "TurnFailed", "TurnResult", "turn_json",
           "usage_json"]
