"""Loading the config: JSON5 positions, located errors, $include, ${VAR}, paths and .env.

Real files in tmp_path, the real schema, no mocks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import json5
import pytest

from core.config.errors import ConfigError
from core.config.loader import NO_FILE_SOURCE, load_config
from core.config.paths import resolve_config_path, state_dir
from core.config.spans import Json5SyntaxError, find, parse_tree


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "CLAWTOP_STATE_DIR": str(tmp_path / "state"), **extra}


def load_error(path: Path, env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env, dotenv=False)
    return info.value


# --- the span parser ---------------------------------------------------------------------------

JSON5_CORPUS = [
    "{}",
    "[]",
    "{a: 1,}",
    "// lead\n{/* c */ a /* d */ : // e\n 1, /* f */}",
    "{'single': 'it\\'s', \"double\": \"say \\\"hi\\\"\"}",
    "{multi: 'line one \\\nline two'}",
    "{hex: 0x1F, neg: -0xA, inf: Infinity, ninf: -Infinity, plus: +3, lead: .5, trail: 5., exp: 1e3}",
    "{$dollar: 1, _under: 2, café: 3, 'with space': 4}",
    "{esc: '\\u00e9\\x41\\t\\0'}",
    "{dup: 1, dup: 2}",
    "[1, [2, [3, {deep: [true, false, null]}]],]",
    "\ufeff{bom: 1}",
]


@pytest.mark.parametrize("text", JSON5_CORPUS)
def test_span_parser_agrees_with_json5(text: str) -> None:
    assert repr(parse_tree(text).value) == repr(json5.loads(text))


def test_span_parser_nan() -> None:
    assert math.isnan(parse_tree("{n: NaN}").value["n"])


def test_spans_cover_exact_source_of_keys_and_values() -> None:
    text = "{\n  outer: { 'inner': [1, \"two\", {k: 0x10}] }, // c\n}"
    tree = parse_tree(text)
    member, node = find(tree, ["outer", "inner", 2, "k"])  # type: ignore[misc]
    assert text[node.start : node.end] == "0x10"
    assert text[member.key_start : member.key_end] == "k"
    _, inner = find(tree, ["outer", "inner"])  # type: ignore[misc]
    assert text[inner.start : inner.end] == '[1, "two", {k: 0x10}]'
    quoted, _ = find(tree, ["outer", "inner"])  # type: ignore[misc]
    assert text[quoted.key_start : quoted.key_end] == "'inner'"
    assert find(tree, ["outer", "missing"]) is None


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("{\n  a: 1\n  b: 2\n}", 3, 3, "expected ','"),
        ("{\n  a: 'open\n}", 2, 11, "unterminated string"),
        ("{a: 1,, }", 1, 7, "expected a key"),
        ("{\n  a: 01\n}", 2, 6, "leading zero"),
        ("{a: 1", 1, 6, "not closed"),
        ("/* never closed", 1, 1, "unterminated /* comment"),
    ],
)
def test_span_parser_syntax_errors_are_located(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(Json5SyntaxError) as info:
        parse_tree(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in info.value.message
    with pytest.raises(ValueError):
        json5.loads(text)  # the reference parser rejects the same texts


# --- validation errors -------------------------------------------------------------------------


def test_unknown_key_names_full_path_line_and_suggestion(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.json5",
        "// mine\n{\n  agents: {\n    defaults: {\n      contextPruning: {\n        ttll: '5m',\n"
        "      },\n    },\n  },\n}\n",
    )
    err = load_error(cfg, env_for(tmp_path))
    text = err.format()
    assert "agents.defaults.contextPruning.ttll" in text
    assert "did you mean `ttl`?" in text
    assert f"{cfg}:6:9:" in text  # the key's own line and column
    assert text.startswith(f"Invalid config at {cfg}:")


def test_wrong_type_and_range_show_expected_found_and_position(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.json5",
        "{\n  gateway: {\n    port: -5,\n  },\n  agents: { defaults: { contextPruning: {\n"
        "    keepLastAssistants: 'three',\n    mode: 'cache-tl',\n  } } },\n}\n",
    )
    issues = {i.path: i for i in load_error(cfg, env_for(tmp_path)).issues}
    port = issues["gateway.port"]
    assert (port.line, port.column) == (3, 11)
    assert port.expected and "1" in port.expected and port.found and "-5" in port.found
    keep = issues["agents.defaults.contextPruning.keepLastAssistants"]
    assert keep.line == 6 and "integer" in (keep.expected or "") and '"three"' in (keep.found or "")
    mode = issues["agents.defaults.contextPruning.mode"]
    assert "cache-ttl" in (mode.expected or "") and mode.line == 7
    # Issues come in file order so the user fixes them top to bottom.
    assert [i.line for i in load_error(cfg, env_for(tmp_path)).issues] == sorted(i.line for i in issues.values())


def test_secret_values_are_not_echoed_in_errors(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.json5",
        "{ models: { providers: { x: { baseUrl: 'http://h', apiKey: 424242 } } } }",
    )
    text = load_error(cfg, env_for(tmp_path)).format()
    assert "models.providers.x.apiKey" in text and "(redacted)" in text
    assert "424242" not in text


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.json5", "{\n  gatway: {},\n}")
    issue = load_error(cfg, env_for(tmp_path)).issues[0]
    assert issue.path == "gatway" and issue.suggestion == "gateway" and issue.line == 2


def test_syntax_error_reports_file_line_column(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.json5", "{\n  gateway: { port: 1 }\n  ui: {}\n}\n")
    issue = load_error(cfg, env_for(tmp_path)).issues[0]
    assert (issue.file, issue.line, issue.column) == (str(cfg), 3, 3)
    assert "JSON5 syntax error" in issue.message


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.json5", "[1, 2]")
    assert "must be an object" in load_error(cfg, env_for(tmp_path)).format()


# --- locations, defaults, hashes ---------------------------------------------------------------


def test_missing_default_location_means_defaults(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    loaded = load_config(None, env=env, dotenv=False)
    assert not loaded.exists and loaded.source == NO_FILE_SOURCE
    assert loaded.path == tmp_path / "home" / ".clawtop" / "config.json5"
    assert loaded.raw_hash is None and loaded.data == {}
    assert loaded.db_path == tmp_path / "state" / "telemetry.sqlite3"


def test_missing_explicit_path_is_an_error(tmp_path: Path) -> None:
    err = load_error(tmp_path / "typo.json5", env_for(tmp_path))
    assert "not found" in err.format() and "typo.json5" in err.format()
    with pytest.raises(ConfigError):
        load_config(None, env=env_for(tmp_path, CLAWTOP_CONFIG=str(tmp_path / "nope.json5")), dotenv=False)


def test_path_resolution_order(tmp_path: Path) -> None:
    env = env_for(tmp_path, CLAWTOP_CONFIG=str(tmp_path / "from-env.json5"))
    assert resolve_config_path(tmp_path / "flag.json5", env) == tmp_path / "flag.json5"
    assert resolve_config_path(None, env) == tmp_path / "from-env.json5"
    assert resolve_config_path(None, {"HOME": str(tmp_path)}) == tmp_path / ".clawtop" / "config.json5"
    assert state_dir({"HOME": str(tmp_path)}) == tmp_path / ".clawtop" / "state"
    assert state_dir(env) == tmp_path / "state"


def test_loaded_config_fields(tmp_path: Path) -> None:
    text = "{ telemetry: { dbPath: 'db/events.sqlite3' } }\n"
    cfg = write(tmp_path / "config.json5", text)
    loaded = load_config(None, env=env_for(tmp_path, CLAWTOP_CONFIG=str(cfg)), dotenv=False)
    assert loaded.exists and loaded.source == str(cfg) and loaded.raw_text == text
    assert loaded.raw_hash == hashlib.sha256(text.encode()).hexdigest()
    assert loaded.db_path == tmp_path / "state" / "db" / "events.sqlite3"
    assert loaded.data == {"telemetry": {"dbPath": "db/events.sqlite3"}}


# --- $include ----------------------------------------------------------------------------------


def test_include_replaces_and_siblings_merge_on_top(tmp_path: Path) -> None:
    write(tmp_path / "agents.json5", "{ defaults: { contextPruning: { ttl: '5m', mode: 'off' } } }")
    cfg = write(
        tmp_path / "config.json5",
        "{ agents: { $include: './agents.json5', defaults: { contextPruning: { mode: 'cache-ttl' } } } }",
    )
    loaded = load_config(cfg, env=env_for(tmp_path), dotenv=False)
    assert loaded.data["agents"] == {"defaults": {"contextPruning": {"ttl": "5m", "mode": "cache-ttl"}}}
    assert loaded.include_files == (tmp_path / "agents.json5",)
    ttl_origin = loaded.origins[("agents", "defaults", "contextPruning", "ttl")]
    assert ttl_origin.included and ttl_origin.file == str(tmp_path / "agents.json5")


def test_include_list_deep_merges_in_order_and_concatenates_arrays(tmp_path: Path) -> None:
    write(tmp_path / "parts" / "a.json5", "{ contextPruning: { ttl: '1m', tools: { deny: ['a*'] } } }")
    write(tmp_path / "parts" / "b.json5", "{ contextPruning: { ttl: '2m', tools: { deny: ['b*'] } } }")
    cfg = write(
        tmp_path / "config.json5",
        "{ agents: { defaults: { $include: ['parts/a.json5', 'parts/b.json5'] } } }",
    )
    pruning = load_config(cfg, env=env_for(tmp_path), dotenv=False).data["agents"]["defaults"]["contextPruning"]
    assert pruning == {"ttl": "2m", "tools": {"deny": ["a*", "b*"]}}


def test_include_error_is_located_in_the_included_file(tmp_path: Path) -> None:
    inc = write(tmp_path / "agents.json5", "{\n  defaults: {\n    contextPruning: { ttll: '5m' },\n  },\n}")
    cfg = write(tmp_path / "config.json5", "{ agents: { $include: 'agents.json5' } }")
    issue = load_error(cfg, env_for(tmp_path)).issues[0]
    assert issue.file == str(inc) and issue.line == 3
    assert issue.path == "agents.defaults.contextPruning.ttll" and issue.suggestion == "ttl"


def test_include_outside_config_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "secret.json5", "{}")
    cfg = write(tmp_path / "conf" / "config.json5", "{\n  agents: { $include: '../secret.json5' },\n}")
    issue = load_error(cfg, env_for(tmp_path)).issues[0]
    assert "outside the config folder" in issue.message
    assert issue.path == "agents.$include" and issue.line == 2


def test_include_symlink_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "outside.json5", "{}")
    (tmp_path / "conf").mkdir()
    os.symlink(tmp_path / "outside.json5", tmp_path / "conf" / "link.json5")
    cfg = write(tmp_path / "conf" / "config.json5", "{ agents: { $include: 'link.json5' } }")
    assert "symlink" in load_error(cfg, env_for(tmp_path)).format()


def test_include_cycle_reports_the_chain(tmp_path: Path) -> None:
    write(tmp_path / "a.json5", "{ $include: 'b.json5' }")
    write(tmp_path / "b.json5", "{ $include: 'a.json5' }")
    cfg = write(tmp_path / "config.json5", "{ agents: { $include: 'a.json5' } }")
    text = load_error(cfg, env_for(tmp_path)).format()
    assert "circular $include" in text
    assert "a.json5 → " in text and "b.json5 → " in text


def test_include_depth_limit(tmp_path: Path) -> None:
    for i in range(12):
        write(tmp_path / f"l{i}.json5", f"{{ $include: 'l{i + 1}.json5' }}")
    write(tmp_path / "l12.json5", "{}")
    cfg = write(tmp_path / "config.json5", "{ agents: { $include: 'l0.json5' } }")
    assert "nested deeper than 10" in load_error(cfg, env_for(tmp_path)).format()


def test_include_size_limit_and_missing_file(tmp_path: Path) -> None:
    write(tmp_path / "big.json5", "{ x: '" + "a" * (2 * 1024 * 1024) + "' }")
    cfg = write(tmp_path / "config.json5", "{ agents: { $include: 'big.json5' }, ui: { $include: 'gone.json5' } }")
    text = load_error(cfg, env_for(tmp_path)).format()
    assert "2 MiB" in text and "included file not found" in text


# --- ${VAR} ------------------------------------------------------------------------------------


def test_env_substitution_everywhere_and_escape(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.json5",
        "{ models: { providers: { local: { baseUrl: '${BASE}/v1', apiKey: '${KEY}' } } },\n"
        "  ui: { $include: 'ui.json5' } }",
    )
    write(tmp_path / "ui.json5", "{ theme: '${THEME}' }")
    loaded = load_config(cfg, env=env_for(tmp_path, BASE="http://127.0.0.1:8080", KEY="sk-1", THEME="clawtop-dark"),
                         dotenv=False)
    provider = loaded.data["models"]["providers"]["local"]
    assert provider == {"baseUrl": "http://127.0.0.1:8080/v1", "apiKey": "sk-1"}
    assert loaded.data["ui"]["theme"] == "clawtop-dark"
    assert loaded.env_refs["models.providers.local.apiKey"] == "${KEY}"
    cfg2 = write(tmp_path / "c2.json5", "{ models: { providers: { x: { baseUrl: 'http://h/$${NOT_A_VAR}' } } } }")
    data = load_config(cfg2, env=env_for(tmp_path), dotenv=False).data
    assert data["models"]["providers"]["x"]["baseUrl"] == "http://h/${NOT_A_VAR}"


def test_unset_variable_is_an_error_naming_variable_and_path(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.json5",
        "{\n  models: { providers: { x: {\n    baseUrl: 'http://h',\n    apiKey: '${MISSING_KEY}',\n  } } },\n}",
    )
    err = load_error(cfg, env_for(tmp_path, EMPTY=""))
    issue = err.issues[0]
    assert "MISSING_KEY" in issue.message and issue.path == "models.providers.x.apiKey"
    assert issue.line == 4


def test_dotenv_fills_unset_variables_but_never_overrides(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.json5",
                "{ models: { providers: { x: { baseUrl: '${BASE}', apiKey: '${KEY}' } } } }")
    write(tmp_path / "state" / ".env", "# comment\nexport KEY='from-dotenv'\nBASE=http://dotenv\n")
    loaded = load_config(cfg, env=env_for(tmp_path, BASE="http://real"))
    provider = loaded.data["models"]["providers"]["x"]
    assert provider == {"baseUrl": "http://real", "apiKey": "from-dotenv"}


def test_load_is_json_serialisable(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.json5", "{ gateway: { port: 18790 } }")
    loaded = load_config(cfg, env=env_for(tmp_path), dotenv=False)
    assert json.loads(json.dumps(loaded.dump()))["gateway"]["port"] == 18790
