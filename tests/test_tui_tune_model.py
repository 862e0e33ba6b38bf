"""Tune screen state without Textual: rows from the real catalogue of a real config file, edits
read like ``tune set`` reads them, the schema's verdict from a real proposal, what ``ctrl+s``
would write (old → new and its effect) and when it refuses."""

from __future__ import annotations

from pathlib import Path

from core.config.loader import LoadedConfig, load_config
from core.tuning import list_tunables, propose
from tui.models.tune import PreviewState, Scope, TuneModel, format_value, pruning_scope, retry_scope, sandbox_scope

TTL = "agents.defaults.contextPruning.ttl"
SOFT = "agents.defaults.contextPruning.softTrimRatio"


def loaded(tmp_path: Path, text: str) -> LoadedConfig:
    path = tmp_path / "config.json5"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={"HOME": str(tmp_path)}, dotenv=False)


def pruning_model(tmp_path: Path) -> tuple[LoadedConfig, TuneModel]:
    config = loaded(tmp_path, '{\n  agents: { defaults: { contextPruning: {\n    mode: "cache-ttl",\n'
                              '    ttl: "5m",\n  } } },\n}\n')
    return config, TuneModel(pruning_scope(), list_tunables(config), base_hash=config.raw_hash)


def test_rows_are_the_scopes_keys_with_value_source_and_effect(tmp_path: Path) -> None:
    _, model = pruning_model(tmp_path)
    paths = list(model.rows)
    assert paths[:2] == ["agents.defaults.contextPruning.mode", TTL]
    assert all(p.startswith(("agents.defaults.contextPruning.", "agents.defaults.compaction.")) for p in paths)
    ttl = model.rows[TTL]
    assert (ttl.current, ttl.text, ttl.edited) == ("5m", "5m", False)
    assert ttl.entry.source.endswith(":4")
    meta = ttl.meta_line()
    assert meta.startswith("duration") and "now 5m (" in meta and "default 5m" in meta and "applies live" in meta
    assert "\n" not in ttl.doc and ttl.doc
    assert model.changes() == () and model.can_apply() == "nothing changed"
    assert model.preview_state is PreviewState.NONE


def test_an_edit_is_a_change_only_when_it_reads_as_another_value(tmp_path: Path) -> None:
    config, model = pruning_model(tmp_path)
    model.set_text(SOFT, "0.3")  # the value in force, typed again
    model.set_text(TTL, "10s")
    (change,) = model.changes()
    assert (change.path, change.value) == (TTL, "10s")
    assert model.can_apply() is None  # the write validates again
    proposal = propose(config, model.changes())
    assert model.take_proposal(model.changes(), proposal)
    assert model.can_apply() is None
    assert model.pending_lines() == [f"{TTL}: 5m → 10s · applies live"]
    # A proposal for edits that have moved on is not taken.
    model.set_text(SOFT, "0.4")
    assert not model.take_proposal((change,), proposal)
    assert model.errors == {} and model.proposal_for != model.changes()


def test_the_schemas_message_blocks_the_apply(tmp_path: Path) -> None:
    config, model = pruning_model(tmp_path)
    model.set_text(SOFT, "1.5")
    changes = model.changes()
    assert changes[0].value == 1.5
    assert model.take_proposal(changes, propose(config, changes))
    error = model.rows[SOFT].error
    assert error and "1" in error
    why = model.can_apply()
    assert why is not None and why.startswith("fix the invalid value") and SOFT in why
    # Typing again clears the stale message until the next verdict.
    model.set_text(SOFT, "0.4")
    assert model.rows[SOFT].error is None


def test_emptying_a_set_key_unsets_it_and_a_conflict_blocks_everything(tmp_path: Path) -> None:
    _, model = pruning_model(tmp_path)
    model.set_text(TTL, "  ")
    (change,) = model.changes()
    assert change.value is None
    model.conflict = True
    assert "changed on disk" in (model.can_apply() or "")


def test_preview_results_for_stale_edits_are_dropped(tmp_path: Path) -> None:
    _, model = pruning_model(tmp_path)
    model.set_text(TTL, "10s")
    first = model.changes()
    model.preview_started()
    model.set_text(TTL, "20s")
    assert not model.preview_done(first, ["old"])
    assert model.preview_state is PreviewState.RUNNING
    assert model.preview_done(model.changes(), ["tokens sent 1,000 → 800"])
    assert model.preview_lines == ["tokens sent 1,000 → 800"] and model.preview_state is PreviewState.READY
    assert model.preview_done(model.changes(), None, "boom")
    assert model.preview_state is PreviewState.FAILED and model.preview_lines == ["preview failed: boom"]


def test_retry_and_sandbox_scopes(tmp_path: Path) -> None:
    config = loaded(tmp_path, '{ models: { providers: { local: { baseUrl: "http://127.0.0.1:9",'
                              ' retry: { attempts: 2 } } } } }')
    entries = list_tunables(config)
    retry = TuneModel(retry_scope("local"), entries, base_hash=None)
    assert "retry.provider.attempts" in retry.rows and "retry.provider.minDelayMs" in retry.rows
    own = retry.rows["models.providers.local.retry.attempts"]
    assert own.current == 2 and own.text == "2"
    assert "models.providers.local.retry.minDelayMs" in retry.rows
    unset = retry.rows["models.providers.local.retry.minDelayMs"]
    assert unset.text == "" and not unset.edited and "now unset" in unset.meta_line()
    assert not any(p.startswith("models.providers.") and ".retry." not in p for p in retry.rows)
    assert not TuneModel(retry_scope(None), entries, base_hash=None).rows.keys() & {own.path}
    sandbox = TuneModel(sandbox_scope(), entries, base_hash=None)
    assert sorted(p.rsplit(".", 1)[1] for p in sandbox.rows) == ["cpus", "memory", "memorySwap", "pidsLimit"]


def test_values_are_shown_as_typed() -> None:
    assert [format_value(v) for v in ("5m", 3, 0.5, True, None, ["a"])] == ["5m", "3", "0.5", "true", "null", '["a"]']


def test_a_change_that_is_not_live_says_why_before_it_is_applied(tmp_path: Path) -> None:
    config = loaded(tmp_path, '{ gateway: { port: 18789 } }')
    entries = list_tunables(config)
    model = TuneModel(Scope("gateway", ("gateway.port",)), entries, base_hash=None)
    model.set_text("gateway.port", "18790")
    (line,) = model.pending_lines()
    assert line == ("gateway.port: 18789 → 18790 · needs a core restart "
                    "(the running core read it at start and keeps 18789 until it restarts)")
