"""The provider simulator: a loopback HTTP server speaking Anthropic Messages and OpenAI Chat
Completions, so clawtop runs, benches and tests its retry paths without any real provider.

Public API (the gateway registers it as provider ``sim``, ``api: "anthropic-messages"``)::

    server = SimulatorServer(config.simulator, publish=bus.publish)
    await server.start()
    server.base_url          # "http://127.0.0.1:40123"; Anthropic: POST {base_url}/v1/messages,
                             # OpenAI: base URL {base_url}/v1
    server.stats             # live counters
    await server.stop()

Behaviour per model (``simulator.models``): time to first token, tokens per second, reply length
and seed; replies are deterministic pseudo-words (same seed and prompt → same reply). Also:
per-model rate limits with the real headers (:mod:`core.sim.ratelimit`), a prompt-cache model
with the real usage fields (:mod:`core.sim.cache`), fault injection by script or rate
(:mod:`core.sim.faults`, token vocabulary there), and tool calls on request.

Faults change while it runs: ``server.reconfigure_faults(faults, new_script=...)`` swaps in a
reloaded ``simulator.faults`` (the gateway's reload applier calls it), and
``server.inject_fault("503")`` queues a one-shot fault for the next request, ahead of the script.

Tool trigger: when the request offers tools and its last message is a plain user message
containing ``[[tool:NAME {"json": "input"}]]`` (or ``[[tool:NAME]]``), the reply is a call of
NAME with that input (``stop_reason: "tool_use"`` / ``finish_reason: "tool_calls"``); after a
tool result the reply is text again. Full rule in :mod:`core.sim.tools`.
"""

from core.sim.events import SimFaultInjected, SimFaultQueued, SimRequestServed
from core.sim.faults import FaultInjectionError, FaultSpec, parse_script
from core.sim.server import SimulatorServer, needs_new_server
from core.sim.state import SimStats

__all__ = [
    "FaultInjectionError",
    "FaultSpec",
    "SimFaultInjected",
    "SimFaultQueued",
    "SimRequestServed",
    "SimStats",
    "SimulatorServer",
    "needs_new_server",
    "parse_script",
]
