"""``session.fsync`` reaches the transcript writer of a running gateway: ``never`` makes no fsync
of a transcript (or of the sessions folder for a new one), ``always`` one per append.

The syscalls are counted with ``os.fsync`` wrapped in-process (the one place a spy is used: the
writes themselves are real files of a real gateway turn against the real simulator). Each call is
attributed to the file behind its descriptor, so the ``sessions.json`` index and SQLite (which
syncs from C) do not count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from core.config.loader import load_config
from core.gateway import Gateway

FAST = "fast: { ttftMs: 5, tokensPerSec: 4000, replyTokens: 20 }"

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name a descriptor's file")


def _gateway(home: Path, policy: str) -> Gateway:
    path = home / "config.json5"
    path.write_text(f'{{ simulator: {{ models: {{ {FAST} }} }}, session: {{ fsync: "{policy}" }} }}',
                    encoding="utf-8")
    env = {"HOME": str(home), "CLAWTOP_STATE_DIR": str(home / "state")}
    return Gateway(load_config(path, env=env, dotenv=False), env=env, watch_config=False)


def _transcript_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Install the counter; returns the list it fills with the transcript-side targets synced."""
    synced: list[str] = []
    real: Callable[[int], None] = os.fsync

    def counting_fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        name = os.path.basename(target)
        if ".jsonl" in name or name == "sessions":  # a transcript, its temp file, or its folder
            synced.append(target)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    return synced


@pytest.mark.parametrize(("policy", "expect_syncs"), [("never", False), ("always", True)])
async def test_fsync_policy_reaches_the_transcript_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          policy: str, expect_syncs: bool) -> None:
    synced = _transcript_fsyncs(monkeypatch)
    gateway = _gateway(tmp_path, policy)
    await gateway.start()
    try:
        await gateway.chat.send("hello")
        await gateway.chat.send("and again")
    finally:
        await gateway.stop()
    transcripts = list((tmp_path / "state").rglob("*.jsonl"))
    assert transcripts, "the turns wrote no transcript"
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in transcripts)
    assert lines >= 5  # header + 2 × (user, assistant): the writes happened either way
    if expect_syncs:
        appends = [t for t in synced if t.endswith(".jsonl")]
        assert len(appends) >= 2, synced  # one per acknowledged append
    else:
        assert synced == []
