"""Shared helpers for the ``test_sim_*`` modules (pytest puts ``tests/`` on ``sys.path``).

Every test runs a real :class:`core.sim.SimulatorServer` on a free loopback port with tiny
timings, so the whole suite stays fast while still going through TCP, h11 and the SDKs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import openai

from core.config.schema import ClawtopConfig
from core.config.schema.simulator import SimulatorConfig
from core.events.base import Event
from core.sim import SimulatorServer

FAST_TEST_MODELS: dict[str, Any] = {
    "fast": {"ttftMs": 5, "tokensPerSec": 5000, "replyTokens": 12, "seed": 7},
    "slow": {"ttftMs": 20, "tokensPerSec": 1000, "replyTokens": 12, "seed": 7},
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def sim_config(**section: Any) -> SimulatorConfig:
    """A validated ``simulator`` section: fast test models plus ``section`` (file key names)."""
    data = _merge({"models": FAST_TEST_MODELS}, section)
    return ClawtopConfig.model_validate({"simulator": data}).simulator


@contextlib.asynccontextmanager
async def running(config: SimulatorConfig | None = None, **kwargs: Any) -> AsyncIterator[SimulatorServer]:
    """A started simulator, stopped on exit (``kwargs`` are the constructor's overrides)."""
    server = SimulatorServer(config or sim_config(), **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Recorder:
    """A ``publish`` callback that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


def anthropic_client(server: SimulatorServer, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.base_url, api_key="sk-sim", max_retries=0, **kwargs)


def openai_client(server: SimulatorServer, **kwargs: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="sk-sim", max_retries=0, **kwargs)


def anthropic_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "fast", "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}


def openai_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "fast", "messages": [{"role": "user", "content": text}], **extra}


async def post(server: SimulatorServer, api: str, body: dict[str, Any], *, timeout: float = 5.0) -> httpx.Response:
    """One raw POST (non-streaming) to the API named ``anthropic`` or ``openai``."""
    path = "/v1/messages" if api == "anthropic" else "/v1/chat/completions"
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await client.post(server.base_url + path, json=body)


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """``(event name, data)`` pairs of an SSE body."""
    out: list[tuple[str | None, str]] = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        name = None
        data = []
        for line in frame.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((name, "\n".join(data)))
    return out
