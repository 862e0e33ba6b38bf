"""Project-wide test rules.

With ``CLAWTOP_REQUIRE_DOCKER=1`` (set by ``.ci/run`` whenever ``docker info`` succeeds) a test
marked ``docker`` that skips is reported as a failure: a daemon is there, so a skip would hide
a broken test.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("CLAWTOP_REQUIRE_DOCKER") == "1"
        and item.get_closest_marker("docker") is not None
    ):
        report.outcome = "failed"
        report.longrepr = (
            "CLAWTOP_REQUIRE_DOCKER=1: a Docker daemon is reachable, so this Docker test "
            f"must not skip ({report.longrepr})"
        )


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the developer's real ~/.clawtop or a config named in the env."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAWTOP_CONFIG", raising=False)
    monkeypatch.setenv("CLAWTOP_STATE_DIR", str(home / ".clawtop" / "state"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
