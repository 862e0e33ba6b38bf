"""The simulator's fault vocabulary: the token grammar shared by ``clawtop sim --script``, the
config schema (``simulator.faults``) and the simulator server.

A fault *script* is a comma-separated list of tokens, one per successive generation request
(``POST /v1/messages`` or ``/v1/chat/completions``, both APIs and all models share one counter);
after the list every request is ``ok``, except that a random *fault rate* may still strike. The
same tokens are accepted by ``clawtop sim --script`` and by ``simulator.faults.script`` in the
config, so a failure sequence can be reproduced from either:

======================== ===========================================================================
token                    what the client sees
======================== ===========================================================================
``ok``                   a normal reply
``429``                  HTTP 429 ``rate_limit_error`` with ``retry-after: 1`` and ``x-should-retry: true``
``429:retry-after=S``    the same with ``retry-after: S`` (seconds; decimals are sent as written)
``429:retry-after-ms=MS`` the same with ``retry-after-ms: MS`` and no ``retry-after``
``429:no-retry-after``   spend-cap style 429: no Retry-After, ``x-should-retry: false``
``529``                  HTTP 529 ``overloaded_error``
``500`` / ``502`` / ``503`` HTTP 500 / 502 / 503 ``api_error``
``timeout``              request accepted, nothing sent until the client gives up
``reset``                HTTP 200 and part of the body, then the TCP connection is reset
``stream-error``         HTTP 200, a few stream events, then an error event (``overloaded_error``)
``400:context-overflow`` HTTP 400 ``invalid_request_error`` saying the prompt is too long (Anthropic
                         ``prompt is too long: …``; OpenAI code ``context_length_exceeded``)
======================== ===========================================================================

``retry-after=S`` and ``retry-after-ms=MS`` may also follow ``529``, ``500``, ``502`` and ``503``
(a Retry-After on a 5xx is legal HTTP and exercises the retry engine's floor); without them only
a 429 carries a hint. ``400`` exists only as ``400:context-overflow``.

This is a leaf module (standard library only): the config schema validates tokens with the very
parser the server uses without importing the simulator. The plan that turns a parsed script into
each request's outcome is :class:`core.sim.faults.FaultPlan`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "DEFAULT_RANDOM_FAULTS",
    "FAULT_VOCABULARY",
    "OK",
    "STATUS_FAULTS",
    "FaultKind",
    "FaultSpec",
    "parse_fault_token",
    "parse_script",
    "split_script",
]

FaultKind = Literal["ok", "status", "timeout", "reset", "stream-error"]
"""How a fault shows: a normal reply, an HTTP error status, a hang, a reset, an error after 200."""

STATUS_FAULTS: frozenset[int] = frozenset({400, 429, 500, 502, 503, 529})
"""HTTP statuses a token may name."""

DEFAULT_RANDOM_FAULTS: tuple[str, ...] = ("429", "529", "500", "502", "503")
"""Tokens drawn by ``--fault-rate`` unless configured otherwise: the transient statuses a retry
engine is meant to absorb (a hang or reset would stall a client with default timeouts)."""

_STATUS_TOKEN = re.compile(r"(?P<status>\d{3})(?::(?P<option>.+))?")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")

FAULT_VOCABULARY: tuple[str, ...] = (
    "ok", "429", "429:retry-after=S", "429:retry-after-ms=MS", "429:no-retry-after", "529", "500", "502", "503",
    "timeout", "reset", "stream-error", "400:context-overflow",
)
"""Every token form, as error messages and the dashboard's fault input list them (``S`` and
``MS`` stand for a number)."""

_VOCABULARY = ", ".join(FAULT_VOCABULARY)


@dataclasses.dataclass(frozen=True, slots=True)
class FaultSpec:
    """One parsed token: the outcome forced on one request.

    ``retry_after`` is the ``retry-after`` header value exactly as it will be sent (seconds, as
    written in the token) and ``retry_after_ms`` the ``retry-after-ms`` value; both None means no
    hint. ``token`` keeps the original spelling for logs and events.
    """

    token: str
    kind: FaultKind
    status: int | None = None
    retry_after: str | None = None
    retry_after_ms: str | None = None
    spend_cap: bool = False
    context_overflow: bool = False

    @property
    def is_fault(self) -> bool:
        """False only for ``ok``."""
        return self.kind != "ok"


OK = FaultSpec(token="ok", kind="ok")


def parse_fault_token(token: str) -> FaultSpec:
    """Parse one token; ``ValueError`` names the bad token and lists the vocabulary."""
    text = token.strip().lower()
    if text in ("ok", "timeout", "reset", "stream-error"):
        return OK if text == "ok" else FaultSpec(token=text, kind=text)  # type: ignore[arg-type]
    match = _STATUS_TOKEN.fullmatch(text)
    if match is None:
        raise ValueError(f"unknown fault token {token.strip()!r}; expected one of: {_VOCABULARY}")
    status = int(match["status"])
    if status not in STATUS_FAULTS:
        raise ValueError(
            f"fault token {token.strip()!r}: status {status} is not simulated; "
            f"use one of {', '.join(str(s) for s in sorted(STATUS_FAULTS))}"
        )
    option = match["option"]
    if status == 400 or option == "context-overflow":
        if status != 400 or option != "context-overflow":
            raise ValueError(f"fault token {token.strip()!r}: a 400 is only simulated as 400:context-overflow")
        return FaultSpec(token=text, kind="status", status=400, context_overflow=True)
    if option is None:
        return FaultSpec(token=text, kind="status", status=status, retry_after="1" if status == 429 else None)
    if option == "no-retry-after":
        if status != 429:
            raise ValueError(f"fault token {token.strip()!r}: no-retry-after only applies to 429")
        return FaultSpec(token=text, kind="status", status=status, spend_cap=True)
    name, sep, value = option.partition("=")
    if sep and name in ("retry-after", "retry-after-ms") and _SECONDS.fullmatch(value):
        if name == "retry-after":
            return FaultSpec(token=text, kind="status", status=status, retry_after=value)
        return FaultSpec(token=text, kind="status", status=status, retry_after_ms=value)
    raise ValueError(
        f"fault token {token.strip()!r}: bad option {option!r}; expected retry-after=SECONDS, "
        "retry-after-ms=MILLISECONDS (non-negative numbers), for 429 no-retry-after, or 400:context-overflow"
    )


def split_script(spec: str | Iterable[str]) -> list[str]:
    """The tokens of a script given as ``"429,ok"`` or as a list (items may hold commas too).

    Blank items are dropped, so ``""`` and ``[]`` are the empty script and a trailing comma is
    harmless.
    """
    parts = [spec] if isinstance(spec, str) else list(spec)
    return [t.strip() for part in parts for t in part.split(",") if t.strip()]


def parse_script(spec: str | Iterable[str]) -> list[FaultSpec]:
    """Parse a whole script; the ``ValueError`` for a bad token also gives its 1-based position."""
    specs: list[FaultSpec] = []
    for index, token in enumerate(split_script(spec), start=1):
        try:
            specs.append(parse_fault_token(token))
        except ValueError as exc:
            raise ValueError(f"fault script item {index}: {exc}") from None
    return specs
