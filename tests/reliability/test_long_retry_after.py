"""A Retry-After above ``retry.maxRetryAfterMs`` is refused (never slept) and the message names
what the server said by its class: a 503 is an unavailable server and a 529 an overloaded one,
not a rate limit (docs/design/retry.md#no-silent-long-waits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.provider_support import FAST, send

ASKED = "the server asked to wait 120 s"


@pytest.mark.parametrize(("fault", "error_class", "wording"), [
    ("503:retry-after=120", "server", "sim/fast is unavailable: server error (HTTP 503): " + ASKED),
    ("529:retry-after=120", "overloaded", "sim/fast is overloaded (HTTP 529): " + ASKED),
    ("429:retry-after=120", "rate_limit", "sim/fast is rate limited: " + ASKED),
])
def test_long_wait_is_worded_by_class(tmp_path: Path, fault: str, error_class: str, wording: str) -> None:
    config = f'{{ simulator: {{ {FAST}, faults: {{ script: "{fault}" }} }} }}'
    result = send(tmp_path, config, "--json", "hi", timeout=30)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    error = doc["error"]
    assert (error["class"], error["reason"]) == (error_class, "retry_delay_exceeds_cap")
    assert error["message"].startswith(wording), error["message"]
    assert "above maxRetryAfterMs 60000 (1m). Not retrying." in error["message"]
    assert len(doc["attempts"]) == 1
    if error_class != "rate_limit":
        assert "rate limited" not in error["message"] and "rate limited" not in result.stderr
