"""One generation request, from body to last byte, the same way for both APIs.

Order of decisions, as a real provider would make them: a malformed body or unknown model is a
4xx and uses no fault-script slot; then the fault plan picks this request's outcome (an injected
status goes out at once, ``timeout`` holds the connection); then the prompt cache is looked up
and the rate limiter charges the request (cache reads are free) or answers 429; then the reply
is paced: first piece at ``ttftMs`` after the request arrived, the rest at ``tokensPerSec``.
Cache writes become visible at the first piece. Every request ends with one event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import secrets

from core.sim.cache import CachePlan
from core.sim.dialect import Dialect, fault_error_kind, json_bytes
from core.sim.events import SimFaultInjected, SimRequestServed
from core.sim.faults import FaultSpec
from core.sim.http import ClientGone, Headers, HttpConnection, IncomingRequest
from core.sim.reply import Reply, Usage, build_reply, pace
from core.sim.request import ErrorKind, RequestError, SimRequest
from core.sim.state import SimState

__all__ = ["send_error", "serve_generation"]

log = logging.getLogger("clawtop.sim")

FAULT_PIECES = 3
"""Output pieces sent before a ``reset`` or ``stream-error`` cuts the reply."""
_BUCKET_WORDS = {"requests": "requests", "input_tokens": "input tokens", "output_tokens": "output tokens"}


@dataclasses.dataclass(slots=True)
class _Record:
    """What the closing event reports; filled in as the exchange progresses."""

    api: str
    path: str
    model: str = "?"
    status: int | None = None
    fault: str | None = None
    stream: bool = False
    ttft_ms: float | None = None
    duration_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    stop_reason: str | None = None
    limited_by: str | None = None
    error: str | None = None


async def send_error(
    http: HttpConnection, dialect: Dialect, status: int, kind: ErrorKind, message: str | None, request_id: str,
    headers: Headers = (),
) -> None:
    """An error response in ``dialect``'s format, with its request-id and retry headers."""
    body = json_bytes(dialect.error_body(kind, message, request_id))
    extra = [(dialect.request_id_header, request_id), ("content-type", "application/json"),
             *dialect.retry_headers(kind)]
    await http.respond(status, [*extra, *headers], body)


async def serve_generation(state: SimState, http: HttpConnection, dialect: Dialect, incoming: IncomingRequest) -> bool:
    """Answer one generation request; True when the connection may serve another."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    record = _Record(api=dialect.api, path=incoming.path)
    state.stats.requests += 1
    state.stats.active += 1
    try:
        return await _answer(state, http, dialect, incoming, record, started)
    except ClientGone:
        record.error = "client disconnected"
        return False
    except asyncio.CancelledError:
        record.error = "simulator stopped"
        raise
    finally:
        state.stats.active -= 1
        record.duration_ms = (loop.time() - started) * 1000
        _finish(state, record, incoming.method)


async def _answer(
    state: SimState, http: HttpConnection, dialect: Dialect, incoming: IncomingRequest, record: _Record, started: float
) -> bool:
    request_id = f"req_{secrets.token_hex(12)}"
    try:
        try:
            payload = json.loads(incoming.body)
        except (ValueError, UnicodeDecodeError):
            raise RequestError(400, "invalid_request", "The request body is not valid JSON") from None
        request = dialect.parse(payload, default_ttl_ms=state.default_ttl_ms)
        name, model = state.model(request.model)
    except RequestError as exc:
        record.status = exc.status
        await send_error(http, dialect, exc.status, exc.kind, exc.message, request_id)
        return True
    record.model, record.stream = name, request.stream
    fault = state.faults.next()
    record.fault = fault.token if fault.is_fault else None
    limit_headers = dialect.limit_headers(state.limiter.state(name)) if state.limiter.active else []
    if fault.kind == "status":
        record.status = fault.status
        await send_error(http, dialect, fault.status or 500, fault_error_kind(fault), None, request_id,
                         [*_hints(fault), *limit_headers])
        return True
    if fault.kind == "timeout":
        await http.wait_closed_by_client()
        record.error = "client gave up (timeout fault)"
        return False

    plan = dialect.plan_cache(state.cache, request, started)
    reply = build_reply(request, reply_tokens=model.reply_tokens, seed=state.seed_for(model))
    cached = plan.usage
    usage = Usage(cached.uncached, cached.read, cached.creation, cached.creation_5m, cached.creation_1h,
                  reply.output_tokens)
    estimate = request.max_tokens or model.reply_tokens
    admission = state.limiter.admit(name, input_tokens=usage.input + usage.cache_creation, output_estimate=estimate)
    if state.limiter.active:
        limit_headers = dialect.limit_headers(state.limiter.state(name))
    if not admission.allowed:
        record.status, record.limited_by = 429, admission.limited_by
        wait = max(1, math.ceil(admission.retry_after_s))
        message = (
            f"Number of {_BUCKET_WORDS.get(admission.limited_by or '', 'requests')} has exceeded the simulated "
            f"per-minute rate limit for model {name}; see the response headers. Please try again in {wait}s."
        )
        await send_error(http, dialect, 429, "rate_limit", message, request_id,
                         [("retry-after", str(wait)), *limit_headers])
        return True

    record.input_tokens, record.stop_reason = usage.prompt_total, reply.stop_reason
    record.cache_read_tokens, record.cache_creation_tokens = usage.cache_read, usage.cache_creation
    job = _Job(
        state=state, http=http, dialect=dialect, request=request, reply=reply, usage=usage, plan=plan,
        fault=fault, limit_headers=limit_headers, started=started,
        first_at=started + model.ttft_ms / 1000, tokens_per_sec=model.tokens_per_sec, record=record,
        request_id=request_id,
    )
    sent = 0
    try:
        sent, keep = await (_stream(job) if request.stream else _whole(job))
    finally:
        record.output_tokens = sent
        state.limiter.settle(name, output_estimate=estimate, output_tokens=sent)
    return keep


@dataclasses.dataclass(slots=True)
class _Job:
    """Everything needed to deliver an admitted reply."""

    state: SimState
    http: HttpConnection
    dialect: Dialect
    request: SimRequest
    reply: Reply
    usage: Usage
    plan: CachePlan
    fault: FaultSpec
    limit_headers: list[tuple[str, str]]
    started: float
    first_at: float
    tokens_per_sec: float
    record: _Record
    request_id: str

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Headers of a successful response: request id and rate-limit state."""
        return [(self.dialect.request_id_header, self.request_id), *self.limit_headers]

    def first_token(self) -> None:
        """The reply begins: the cache entries appear and TTFT is taken."""
        self.state.cache.commit(self.plan)
        self.record.ttft_ms = (asyncio.get_running_loop().time() - self.started) * 1000


async def _stream(job: _Job) -> tuple[int, bool]:
    """Send an SSE reply (or its faulty beginning); returns (pieces sent, keep connection)."""
    http, record = job.http, job.record
    record.status = 200
    await http.start(200, [*job.headers, ("content-type", "text/event-stream; charset=utf-8"),
                           ("cache-control", "no-cache")])
    encoder = job.dialect.encoder(job.request, job.reply, job.usage, job.request_id)
    await http.send(encoder.opening())
    pieces = job.reply.pieces
    count = len(pieces) if job.fault.kind == "ok" else min(FAULT_PIECES, len(pieces))
    sent = 0
    async for start, stop in pace(count, job.first_at, job.tokens_per_sec):
        if start == 0:
            job.first_token()
        await http.send(encoder.pieces(pieces[start:stop]))
        sent = stop
    if job.fault.kind == "reset":
        await http.flush()
        http.abort()
        record.error = "connection reset (fault)"
        return sent, False
    if job.fault.kind == "stream-error":
        await http.send(encoder.error())
        await http.end()
        record.error = "error event after 200 (fault)"
        return sent, True
    await http.send(encoder.closing())
    await http.end()
    return sent, True


async def _whole(job: _Job) -> tuple[int, bool]:
    """Send a JSON reply after the time the stream would have taken. A non-streaming client
    cannot see an error after 200, so ``stream-error`` answers 529 ``overloaded_error`` here;
    ``reset`` sends the 200 and half the body, then resets."""
    http, record, count = job.http, job.record, job.reply.output_tokens
    await _sleep_until(job.first_at)
    job.first_token()
    await _sleep_until(job.first_at + max(0, count - 1) / job.tokens_per_sec)
    if job.fault.kind == "stream-error":
        record.status = 529
        await send_error(http, job.dialect, 529, "overloaded", None, job.request_id, job.limit_headers)
        return 0, True
    body = json_bytes(job.dialect.body(job.request, job.reply, job.usage))
    headers = [*job.headers, ("content-type", "application/json")]
    record.status = 200
    if job.fault.kind == "reset":
        await http.start(200, [*headers, ("content-length", str(len(body)))])
        await http.send(body[: len(body) // 2])
        await http.flush()
        http.abort()
        record.error = "connection reset (fault)"
        return count // 2, False
    await http.respond(200, headers, body)
    return count, True


async def _sleep_until(when: float) -> None:
    delay = when - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def _hints(fault: FaultSpec) -> list[tuple[str, str]]:
    """The Retry-After headers an injected status carries."""
    hints = []
    if fault.retry_after is not None:
        hints.append(("retry-after", fault.retry_after))
    if fault.retry_after_ms is not None:
        hints.append(("retry-after-ms", fault.retry_after_ms))
    return hints


def _finish(state: SimState, record: _Record, method: str) -> None:
    """Count the exchange, publish its event and log it."""
    stats = state.stats
    if record.status is not None:
        stats.by_status[record.status] += 1
    if record.fault:
        stats.faults_injected += 1
        stats.faults_by_token[record.fault] += 1
    if record.limited_by:
        stats.rate_limited += 1
    if record.cache_read_tokens:
        stats.cache_hits += 1
    stats.cache_read_tokens += record.cache_read_tokens
    stats.cache_creation_tokens += record.cache_creation_tokens
    stats.input_tokens += record.input_tokens
    stats.output_tokens += record.output_tokens
    fields = dataclasses.asdict(record)
    if state.publish is not None:
        event_type = SimFaultInjected if record.fault else SimRequestServed
        state.publish(event_type(method=method, **fields))
    log.debug(
        "%s %s %s %s %s %.0fms", method, record.path, record.model, record.status or "-", record.fault or "-",
        record.duration_ms,
    )
