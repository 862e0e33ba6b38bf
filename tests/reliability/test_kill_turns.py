"""``kill -9`` during turns (issue #13, part 7): the transcript keeps every acknowledged turn.

A turn is acknowledged when ``send`` printed its reply and exited 0. Rounds of concurrent
``send`` processes on one session, one of them killed with SIGKILL at a seeded random moment —
while starting, while waiting for the session's turn lock, mid-turn or holding the index lock.
Afterwards every acknowledged message is on the active branch exactly once, the other processes
were not disturbed by the death (the kernel released the turn lock; the dead holder's index lock
was taken over), nothing in the middle of the transcript is damaged, and the next turn works.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from core.events.base import Event
from core.sessions.events import TornLineSkipped
from core.sessions.transcript import read_transcript
from tests.reliability.state_support import (
    assert_no_traceback,
    branch_user_texts,
    config_path,
    run,
    sessions_dir,
    start,
)

ROUNDS = 3
PER_ROUND = 3
SEED = 1313
TURN = "{ simulator: { models: { fast: { ttftMs: 150, tokensPerSec: 300, replyTokens: 60 } } } }"
"""About 0.35 s of model time per turn, so a kill lands mid-turn often."""


def test_kill_9_during_turns_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    config_path(tmp_path, TURN)
    rng = random.Random(SEED)
    acknowledged: list[str] = []
    killed = 0
    for round_no in range(ROUNDS):
        texts = [f"round {round_no} message {i}" for i in range(PER_ROUND)]
        procs = [start(tmp_path, "send", "--session", "main", text) for text in texts]
        victim = rng.randrange(PER_ROUND)
        time.sleep(rng.uniform(0.3, 2.5))
        procs[victim].send_signal(signal.SIGKILL)
        for index, (proc, text) in enumerate(zip(procs, texts, strict=True)):
            out, err = proc.communicate(timeout=60)
            if index == victim and proc.returncode == -signal.SIGKILL:
                killed += 1
                continue
            assert proc.returncode == 0, err  # a neighbour's death never fails a turn
            assert "Traceback" not in err and out.strip(), err
            acknowledged.append(text)
    assert killed >= 1  # the seed makes at least one kill land before the reply

    texts = branch_user_texts(tmp_path)
    for text in acknowledged:
        assert texts.count(text) == 1, (text, texts)
    assert len(texts) == len(set(texts))  # a killed turn left at most its own message, once

    events: list[Event] = []
    (transcript,) = sessions_dir(tmp_path / "state").glob("*.jsonl")
    read_transcript(transcript, publish=events.append)
    assert not [e for e in events if isinstance(e, TornLineSkipped) and not e.last]

    after = run(tmp_path, "send", "--session", "main", "after the kills")
    assert_no_traceback(after)
    assert after.returncode == 0, after.stderr
    assert branch_user_texts(tmp_path)[-1] == "after the kills"
