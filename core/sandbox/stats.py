"""Live resource stats of sandbox containers (docs/design/sandbox.md#resource-statistics,
docs/design/sandbox.md#limit-hit-detection, docs/design/sandbox.md#stats-sampling-cost).

One long-lived ``container.stats(stream=True, decode=True)`` subscription per running container,
read on its own daemon thread — never a ``stream=False`` poll, which costs the daemon two sampling
cycles per call. The thread hands at most one parsed sample per ``interval`` to the event loop
with ``call_soon_threadsafe``; everything that touches the bus, the ring buffers and the limit
detectors runs on the loop thread, so nothing here needs a lock.

The per-sample math is a handful of dict lookups (docs/design/sandbox.md#stats-sampling-cost: ≤ 1 % of a core per
container); each watcher measures its own thread CPU time so ``bench/sandbox.py`` can report the real cost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from core.events.base import Event
from core.sandbox.events import LimitName, SandboxLimitHit, SandboxStats

__all__ = ["LimitDetector", "StatsSample", "StatsSampler", "parse_stats"]

STALE_AFTER_S = 2.0
"""The CLI blanks a row when no sample arrived within 2 s (docs/design/sandbox.md#resource-statistics); we mark it stale
instead."""

THROTTLE_SHARE = 0.2
THROTTLE_SAMPLES = 3
HIGH_WATER = 0.9


@dataclasses.dataclass(frozen=True, slots=True)
class StatsSample:
    """One parsed stats frame; counters (net, blkio, throttling) are cumulative as Docker sends them."""

    mono: float
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int | None
    pids: int
    pids_limit: int | None
    net_rx_bytes: int = 0
    net_tx_bytes: int = 0
    blk_read_bytes: int = 0
    blk_write_bytes: int = 0
    periods: int = 0
    throttled_periods: int = 0
    throttled_time_ns: int = 0


def cpu_percent(raw: Mapping[str, Any]) -> float:
    """``docker stats`` CPU %: Δtotal_usage / Δsystem_cpu_usage × online_cpus × 100
    (docs/design/sandbox.md#resource-statistics).

    ``online_cpus`` missing or 0 (older cgroup v1 daemons) falls back to ``len(percpu_usage)``;
    0 unless both deltas are positive (a paused container) and the previous reading exists: the
    first frame of a stream has an empty ``precpu_stats``, and against zero the "delta" would be
    the container's lifetime average (a busy loop read as a few %).
    """
    cur = raw.get("cpu_stats") or {}
    pre = raw.get("precpu_stats") or {}
    if not pre.get("system_cpu_usage"):
        return 0.0
    cur_usage = cur.get("cpu_usage") or {}
    d_cpu = cur_usage.get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    d_sys = cur.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    if d_cpu <= 0 or d_sys <= 0:
        return 0.0
    online = cur.get("online_cpus") or len(cur_usage.get("percpu_usage") or ()) or 1
    return float(d_cpu / d_sys * online * 100.0)


def memory_used(mem: Mapping[str, Any]) -> int:
    """Usage minus inactive file cache (v2 ``inactive_file``, v1 ``total_inactive_file``), applied
    only when it lowers the figure — the rule of current Docker, cAdvisor and containerd
    (docs/design/sandbox.md#resource-statistics)."""
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file"))
    if inactive is not None and 0 <= inactive < usage:
        return usage - int(inactive)
    return usage


def _limit(value: Any) -> int | None:
    # The daemon reports "no limit" as 0, a huge number (v1 page-rounded 2**63) or absent.
    if not value or value <= 0 or value >= 1 << 62:
        return None
    return int(value)


def _not_running(raw: Mapping[str, Any]) -> bool:
    # Frames of a stopped container carry a zero ``read`` time and no cpu/pids figures.
    return str(raw.get("read", "")).startswith("0001-") or not (raw.get("cpu_stats") or {}).get("system_cpu_usage")


def parse_stats(raw: Mapping[str, Any], mono: float) -> StatsSample:
    """One decoded stats frame (cgroup v1 or v2 shape) → a :class:`StatsSample`."""
    mem = raw.get("memory_stats") or {}
    pids = raw.get("pids_stats") or {}
    rx = tx = 0
    for net in (raw.get("networks") or {}).values():
        rx += net.get("rx_bytes", 0)
        tx += net.get("tx_bytes", 0)
    rd = wr = 0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op", "")).lower()
        if op == "read":
            rd += entry.get("value", 0)
        elif op == "write":
            wr += entry.get("value", 0)
    thr = (raw.get("cpu_stats") or {}).get("throttling_data") or {}
    return StatsSample(
        mono=mono,
        cpu_percent=cpu_percent(raw),
        memory_bytes=memory_used(mem),
        memory_limit_bytes=_limit(mem.get("limit")),
        pids=int(pids.get("current") or 0),
        pids_limit=_limit(pids.get("limit")),
        net_rx_bytes=rx,
        net_tx_bytes=tx,
        blk_read_bytes=rd,
        blk_write_bytes=wr,
        periods=int(thr.get("periods") or 0),
        throttled_periods=int(thr.get("throttled_periods") or 0),
        throttled_time_ns=int(thr.get("throttled_time") or 0),
    )


class LimitDetector:
    """docs/design/sandbox.md#limit-hit-detection limit hits from consecutive samples of one container. Each kind fires
    once per episode and re-arms when the signal clears, so a pinned container does not flood the bus."""

    def __init__(self, name: str, *, isolated: bool = True) -> None:
        self.name = name
        self.isolated = isolated
        self._prev: StatsSample | None = None
        self._throttled_run = 0
        self._active: set[str] = set()

    def feed(self, s: StatsSample) -> list[SandboxLimitHit]:
        """Events for this sample (usually none)."""
        hits: list[SandboxLimitHit] = []
        prev, self._prev = self._prev, s
        if prev is not None:
            d_periods = s.periods - prev.periods
            share = (s.throttled_periods - prev.throttled_periods) / d_periods if d_periods > 0 else 0.0
            self._throttled_run = self._throttled_run + 1 if share > THROTTLE_SHARE else 0
            dt = s.mono - prev.mono
            per_s = (s.throttled_time_ns - prev.throttled_time_ns) / 1e6 / dt if dt > 0 else 0.0
            self._edge(hits, "cpu", self._throttled_run >= THROTTLE_SAMPLES,
                       f"cpu_throttle: {share:.0%} of CFS periods throttled for {self._throttled_run} samples, "
                       f"{per_s:.0f} ms throttled per s", limit="cpu")
        if s.pids_limit:
            self._edge(hits, "pids", s.pids >= s.pids_limit, f"pids exhausted: {s.pids}/{s.pids_limit}",
                       limit="pids")
            self._edge(hits, "pids_warn", HIGH_WATER * s.pids_limit <= s.pids < s.pids_limit,
                       f"pids warning: {s.pids}/{s.pids_limit} (≥ 90 % of the limit)", limit="pids")
        if s.memory_limit_bytes:
            self._edge(hits, "memory", s.memory_bytes >= HIGH_WATER * s.memory_limit_bytes,
                       f"memory_high: {s.memory_bytes}/{s.memory_limit_bytes} bytes (≥ 90 % of the limit)",
                       limit="memory")
        return hits

    def _edge(self, hits: list[SandboxLimitHit], key: str, on: bool, detail: str, *, limit: LimitName) -> None:
        """Publish a hit of ``limit`` when condition ``key`` turns on (once until it turns off)."""
        if on and key not in self._active:
            self._active.add(key)
            hits.append(SandboxLimitHit(name=self.name, limit=limit, detail=detail, isolated=self.isolated))
        elif not on:
            self._active.discard(key)


@dataclasses.dataclass(slots=True)
class _Watch:
    name: str
    container: Any
    stop: threading.Event
    ring: collections.deque[StatsSample]
    detector: LimitDetector
    thread: threading.Thread | None = None
    thread_cpu_s: float = 0.0
    loop_cpu_s: float = 0.0
    started_mono: float = 0.0
    stale: bool = False
    ended: bool = False


class StatsSampler:
    """Streams stats of watched containers and publishes ``SandboxStats`` / ``SandboxLimitHit``.

    ``publish`` is called on the event loop thread only. ``clock`` is injectable so staleness can be
    tested without sleeping. Call :meth:`start` from the loop (it starts the stale timer), then
    :meth:`watch` / :meth:`sync`; :meth:`close` stops every stream.
    """

    def __init__(
        self,
        publish: Callable[[Event], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        interval_s: float = 1.0,
        stale_after_s: float = STALE_AFTER_S,
        ring_size: int = 120,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self._ring_size = ring_size
        self._watches: dict[str, _Watch] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Task[None] | None = None

    # ----- lifecycle (loop thread) -------------------------------------------------------------

    def start(self) -> None:
        """Bind to the running loop and start the stale-check timer."""
        self._loop = asyncio.get_running_loop()
        if self._timer is None:
            self._timer = self._loop.create_task(self._stale_timer(), name="sandbox-stats-stale")

    def watch(self, name: str, container: Any) -> None:
        """Open one stats stream for ``container`` (a docker SDK ``Container``); idempotent."""
        if name in self._watches and not self._watches[name].ended:
            return
        if self._loop is None:
            self.start()
        w = _Watch(name, container, threading.Event(), collections.deque(maxlen=self._ring_size),
                   LimitDetector(name), started_mono=self._clock())
        w.thread = threading.Thread(target=self._run, args=(w,), name=f"stats-{name}", daemon=True)
        self._watches[name] = w
        w.thread.start()

    def unwatch(self, name: str) -> None:
        """Stop the stream of one container (its thread exits after the next frame or stream end)."""
        w = self._watches.pop(name, None)
        if w is not None:
            w.stop.set()

    async def sync(self, client: Any, label: str = "clawtop.sandbox=1") -> None:
        """Watch every running container carrying ``label``; drop watches of ones that are gone."""
        running = await asyncio.to_thread(client.containers.list, filters={"label": label, "status": "running"})
        names = {c.name: c for c in running}
        for name in [n for n in self._watches if n not in names]:
            self.unwatch(name)
        for name, c in names.items():
            self.watch(name, c)

    async def close(self, timeout_s: float = 3.0) -> None:
        """Stop the timer and every stream; threads are daemons, so a stuck read never blocks exit."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        watches = list(self._watches.values())
        self._watches.clear()
        for w in watches:
            w.stop.set()
        deadline = time.monotonic() + timeout_s
        for w in watches:
            if w.thread is not None:
                await asyncio.to_thread(w.thread.join, max(0.0, deadline - time.monotonic()))

    # ----- reading ------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._watches)

    def samples(self, name: str) -> list[StatsSample]:
        """The ring buffer of recent samples, oldest first."""
        w = self._watches.get(name)
        return list(w.ring) if w else []

    def latest(self, name: str) -> StatsSample | None:
        w = self._watches.get(name)
        return w.ring[-1] if w and w.ring else None

    def is_stale(self, name: str) -> bool:
        s = self.latest(name)
        return s is None or self._clock() - s.mono > self.stale_after_s

    def cpu_seconds(self, name: str) -> float:
        """CPU time the sampler spent on this container: its stream thread plus loop-side work."""
        w = self._watches.get(name)
        return (w.thread_cpu_s + w.loop_cpu_s) if w else 0.0

    # ----- stream thread --------------------------------------------------------------------------

    def _run(self, w: _Watch) -> None:
        t0 = time.thread_time()
        last = 0.0
        loop = self._loop
        assert loop is not None
        try:
            stream: Iterator[dict[str, Any]] = w.container.stats(stream=True, decode=True)
            for raw in stream:
                if w.stop.is_set():
                    break
                if _not_running(raw):
                    # A stopped container's stream stays open with zeroed frames: end it here.
                    loop.call_soon_threadsafe(self._stream_ended, w)
                    break
                now = self._clock()
                if now - last >= self.interval_s * 0.9:  # ~1 s frames jitter a little
                    last = now
                    sample = parse_stats(raw, now)
                    loop.call_soon_threadsafe(self._deliver, w, sample)
                w.thread_cpu_s = time.thread_time() - t0
            else:
                if not w.stop.is_set():
                    loop.call_soon_threadsafe(self._stream_ended, w)
        except Exception:  # noqa: BLE001 - the container went away mid-read, or the loop closed
            if not w.stop.is_set():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._stream_ended, w)
        finally:
            w.thread_cpu_s = time.thread_time() - t0

    # ----- loop side ------------------------------------------------------------------------------

    def _deliver(self, w: _Watch, s: StatsSample) -> None:
        if w.stop.is_set():
            return
        t0 = time.thread_time()
        w.ring.append(s)
        w.stale = False
        self._publish(self._event(w.name, s, stale=False))
        for hit in w.detector.feed(s):
            self._publish(hit)
        w.loop_cpu_s += time.thread_time() - t0

    def _event(self, name: str, s: StatsSample, *, stale: bool) -> SandboxStats:
        return SandboxStats(
            name=name, cpu_percent=round(s.cpu_percent, 2), memory_bytes=s.memory_bytes,
            memory_limit_bytes=s.memory_limit_bytes, pids=s.pids, pids_limit=s.pids_limit,
            net_rx_bytes=s.net_rx_bytes, net_tx_bytes=s.net_tx_bytes, blk_read_bytes=s.blk_read_bytes,
            blk_write_bytes=s.blk_write_bytes, throttled_periods=s.throttled_periods,
            throttled_time_ns=s.throttled_time_ns, stale=stale, isolated=True,
        )

    def _stream_ended(self, w: _Watch) -> None:
        # The daemon closes the stream when the container stops: check for a container OOM kill
        # (docs/design/sandbox.md#oom-detection: exit 137 and State.OOMKilled), off the loop since inspect blocks.
        w.ended = True
        if self._loop is not None:
            self._loop.create_task(self._check_oom(w))

    async def _check_oom(self, w: _Watch) -> None:
        try:
            await asyncio.to_thread(w.container.reload)
            state = w.container.attrs.get("State") or {}
        except Exception:  # noqa: BLE001 - removed already: nothing to report
            return
        if state.get("OOMKilled") and state.get("ExitCode") in (137, None):
            self._publish(SandboxLimitHit(name=w.name, limit="memory", detail="oom: exit 137, OOMKilled"))

    def check_stale(self) -> list[str]:
        """Mark watches whose newest sample is older than ``stale_after_s``; publish one stale
        ``SandboxStats`` per transition. Returns the names that turned stale now."""
        now = self._clock()
        turned: list[str] = []
        for w in self._watches.values():
            s = w.ring[-1] if w.ring else None
            ref = s.mono if s is not None else w.started_mono
            if not w.stale and now - ref > self.stale_after_s:
                w.stale = True
                turned.append(w.name)
                if s is not None:
                    self._publish(self._event(w.name, s, stale=True))
        return turned

    async def _stale_timer(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self.stale_after_s / 2))
            self.check_stale()

    def feed(self, name: str, raw: Mapping[str, Any]) -> StatsSample:
        """Deliver one raw frame as if it came from a stream (tests, replay of recorded stats)."""
        w = self._watches.get(name)
        if w is None:
            w = _Watch(name, None, threading.Event(), collections.deque(maxlen=self._ring_size),
                       LimitDetector(name), started_mono=self._clock())
            self._watches[name] = w
        sample = parse_stats(raw, self._clock())
        self._deliver(w, sample)
        return sample
