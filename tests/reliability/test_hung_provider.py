"""A provider that never answers does not hang ``clawtop send``: a separately started
``clawtop sim --script timeout`` configured as an ordinary provider with no timeout keys at all
fails the call at the first-byte limit, classified ``timeout``, and the retry policy takes it from
there (docs/design/retry.md#timeouts).

The limit is set to 2 s through the global key (``models.firstByteTimeoutMs``) so the test stays
short; the provider entry sets nothing, so what applies to it is exactly what a default would.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.provider_support import send, sim_process

LIMIT_MS = 2_000


def _config(url: str, retry: str = "") -> str:
    return (f'{{ models: {{ firstByteTimeoutMs: {LIMIT_MS}, providers: {{ hung: {{ baseUrl: "{url}", '
            f'api: "anthropic-messages", models: [{{ id: "fast" }}] {retry} }} }} }}, '
            'agents: { defaults: { model: { primary: "hung/fast" } } } }')


def test_hung_request_is_a_timeout_at_the_limit_then_retried(tmp_path: Path) -> None:
    with sim_process(tmp_path, "--script", "timeout") as url:
        result = send(tmp_path, _config(url), "--json", "--model", "hung/fast", "hi", timeout=25)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    first, second = doc["attempts"]
    assert (first["class"], first["outcome"], first["reason"]) == ("timeout", "retry", "retry")
    assert LIMIT_MS / 1000 <= first["end"] - first["start"] < LIMIT_MS / 1000 + 1.5
    assert second["outcome"] == "ok" and doc["reply"] and doc["error"] is None


def test_a_provider_that_never_answers_fails_as_timeout_in_bounded_time(tmp_path: Path) -> None:
    retry = ", retry: { attempts: 2, minDelayMs: 100, maxDelayMs: 200 }"
    with sim_process(tmp_path, "--script", "timeout,timeout,timeout") as url:
        result = send(tmp_path, _config(url, retry), "--json", "--model", "hung/fast", "hi", timeout=25)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert [a["class"] for a in doc["attempts"]] == ["timeout", "timeout"]
    assert doc["error"]["class"] == "timeout" and doc["error"]["reason"] == "attempts_exhausted"
    assert doc["error"]["message"].endswith(
        f"Last attempt: no response within firstByteTimeoutMs ({LIMIT_MS} ms): the server took the request and sent "
        "nothing.")
    first, second = doc["attempts"]
    # Two attempts at the limit and one short backoff: the whole call, not just one attempt, is bounded.
    assert second["end"] - first["start"] < 2 * LIMIT_MS / 1000 + 1.5
    assert "clawtop send: hung/fast: timeout:" in result.stderr and "Traceback" not in result.stderr
