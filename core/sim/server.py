"""``SimulatorServer``: the loopback HTTP server that pretends to be Anthropic and OpenAI.

Routes: ``POST /v1/messages`` (Anthropic Messages), ``POST /v1/chat/completions`` (OpenAI Chat
Completions), ``GET /v1/models`` (one list readable by both SDKs) and ``GET /health``. Anthropic
clients use :attr:`SimulatorServer.base_url`, OpenAI clients ``{base_url}/v1``. Any API key is
accepted. Each connection is one task, tracked so :meth:`SimulatorServer.stop` can cancel the
ones still open (a ``timeout`` fault holds its connection until the client gives up) and never
leave a task behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

import h11

from core.config.schema.simulator import SimFaults, SimulatorConfig, is_loopback_host
from core.events.base import Event
from core.faults import FAULT_VOCABULARY
from core.sim.anthropic_api import AnthropicDialect
from core.sim.dialect import Dialect, json_bytes
from core.sim.events import SimFaultQueued
from core.sim.exchange import send_error, serve_generation
from core.sim.faults import FaultInjectionError, parse_fault_token
from core.sim.http import HttpConnection, IncomingRequest, RequestTooLarge
from core.sim.openai_api import OpenAIDialect
from core.sim.state import SimState, SimStats

__all__ = ["SimulatorServer", "needs_new_server"]

log = logging.getLogger("clawtop.sim")

_DIALECTS: dict[str, Dialect] = {d.path: d for d in (AnthropicDialect(), OpenAIDialect())}
_CREATED = int(time.time())


class SimulatorServer:
    """The provider simulator on one host/port.

    ``host``, ``port``, ``script``, ``fault_rate`` and ``seed`` override the config (the
    ``clawtop sim`` flags); ``seed`` sets the fault draw *and* every model's reply seed.
    ``publish`` receives one :class:`~core.sim.events.SimRequestServed` or
    :class:`~core.sim.events.SimFaultInjected` per generation request. ``ValueError`` for a bad
    ``script`` token or ``fault_rate``.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        host: str | None = None,
        port: int | None = None,
        script: str | None = None,
        fault_rate: float | None = None,
        seed: int | None = None,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.config = config
        self.host = host if host is not None else config.host
        if not config.allow_non_loopback and not is_loopback_host(self.host):
            # The --host flag goes through the same rule as simulator.host in the file.
            raise ValueError(f"{self.host!r} is not a loopback address and the simulator has no "
                             "authentication; set simulator.allowNonLoopback: true to expose it")
        self.port = port if port is not None else config.port
        self._state = SimState(config, script=script, fault_rate=fault_rate, seed=seed, publish=publish)
        self._publish = publish
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def stats(self) -> SimStats:
        """Live counters: requests, statuses, faults injected, rate-limited, cache hits, tokens."""
        return self._state.stats

    @property
    def models(self) -> list[str]:
        """Simulated model names (``fast``, ``slow``, …); refs are ``sim/<name>``."""
        return sorted(self._state.models)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``http://host:port`` with the bound port, no trailing slash (only after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def faults_pending(self) -> tuple[int, int]:
        """``(one-shot faults queued, scripted outcomes left)`` of the running fault plan."""
        plan = self._state.faults
        return plan.injected_pending, plan.script_remaining

    def reconfigure_faults(self, faults: SimFaults, *, new_script: bool) -> None:
        """Swap in a reloaded ``simulator.faults`` without a restart: requests already answered
        or in progress keep the outcome they drew; ``new_script`` starts the script over from its
        first token (else it keeps its place). Command-line overrides keep winning."""
        self.config = self.config.model_copy(update={"faults": faults})
        self._state.reconfigure_faults(faults, new_script=new_script)
        log.info("simulator faults reconfigured live (script %s)", "restarted" if new_script else "kept")

    def inject_fault(self, token: str) -> SimFaultQueued:
        """Queue a one-shot fault for the next generation request, ahead of the script, and
        publish it. Served even while ``simulator.faults.enabled`` is false: that switch silences
        the configured script and rate, and this is an explicit request. Raises
        :class:`~core.sim.faults.FaultInjectionError` for a token outside the vocabulary."""
        try:
            fault = parse_fault_token(token)
        except ValueError as exc:
            message = str(exc)
            vocabulary = ", ".join(FAULT_VOCABULARY)
            if vocabulary not in message:  # some messages name only the rule broken
                message += f" (fault tokens: {vocabulary})"
            raise FaultInjectionError(message) from None
        event = SimFaultQueued(token=fault.token, pending=self._state.faults.inject(fault))
        if self._publish is not None:
            self._publish(event)
        log.info("fault %s queued for the next request (%d waiting)", event.token, event.pending)
        return event

    async def start(self) -> None:
        """Bind and start accepting; with port 0 the chosen port is in :attr:`port` afterwards."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        if not is_loopback_host(self.host):
            log.warning("the simulator (no authentication) is listening on non-loopback %s "
                        "because simulator.allowNonLoopback is true", self.base_url)
        log.info("simulator listening on %s (models: %s)", self.base_url, ", ".join(self.models))

    async def stop(self) -> None:
        """Stop accepting, cancel every open connection and wait for all of them to end."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2.0)
        log.info("simulator stopped")

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._server is None:  # accepted just before stop(): not tracked there, so drop it
            writer.close()
            return
        self._connections.add(task)
        self._state.stats.connections += 1
        http = HttpConnection(reader, writer)
        try:
            await self._serve(http)
        except asyncio.CancelledError:
            pass  # stop(): the connection is closed below
        except Exception:  # a bug must cost one connection, never the server
            log.exception("simulator connection failed")
        finally:
            self._state.stats.connections -= 1
            self._connections.discard(task)
            await http.close()

    async def _serve(self, http: HttpConnection) -> None:
        while True:
            try:
                incoming = await http.next_request()
            except h11.RemoteProtocolError as exc:
                if http.can_respond:
                    await http.respond(400, [("content-type", "text/plain"), ("connection", "close")],
                                       f"bad request: {exc}\n".encode())
                return
            except RequestTooLarge:
                if http.can_respond:
                    dialect = _DIALECTS[AnthropicDialect.path]
                    request_id = f"req_{secrets.token_hex(12)}"
                    await send_error(http, dialect, 413, "too_large", None, request_id, [("connection", "close")])
                return
            if incoming is None:
                return
            if not await self._route(http, incoming) or not http.next_cycle():
                return

    async def _route(self, http: HttpConnection, incoming: IncomingRequest) -> bool:
        dialect = _DIALECTS.get(incoming.path)
        if dialect is not None:
            if incoming.method != "POST":
                await _plain(http, 405, {"error": f"{incoming.method} not allowed; use POST"}, [("allow", "POST")])
                return True
            return await serve_generation(self._state, http, dialect, incoming)
        if incoming.method != "GET":
            await _plain(http, 404, {"error": f"no route {incoming.method} {incoming.path}"})
        elif incoming.path == "/health":
            await _plain(http, 200, {"status": "ok", "models": self.models})
        elif incoming.path in ("/v1/models", "/models"):
            await _plain(http, 200, self._model_list())
        else:
            await _plain(http, 404, {"error": f"no route {incoming.method} {incoming.path}"})
        log.debug("%s %s", incoming.method, incoming.path)
        return True

    def _model_list(self) -> dict[str, object]:
        """One body both SDKs parse: OpenAI's list fields and Anthropic's page fields."""
        created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_CREATED))
        data = [
            {
                "id": name,
                "object": "model",
                "type": "model",
                "created": _CREATED,
                "created_at": created_at,
                "owned_by": "clawtop-sim",
                "display_name": f"Simulated {name}",
            }
            for name in self.models
        ]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return {"object": "list", "data": data, "has_more": False, "first_id": first, "last_id": last}


def needs_new_server(old: SimulatorConfig, new: SimulatorConfig) -> bool:
    """Whether a config change needs the simulator rebuilt: any change but the fault settings
    :meth:`SimulatorServer.reconfigure_faults` swaps in live (the fault ``seed`` included, since
    only a fresh plan replays its draw)."""
    if old.faults.seed != new.faults.seed:
        return True
    return old.model_copy(update={"faults": new.faults}) != new


async def _plain(http: HttpConnection, status: int, body: object, headers: list[tuple[str, str]] | None = None) -> None:
    await http.respond(status, [("content-type", "application/json"), *(headers or [])], json_bytes(body))

