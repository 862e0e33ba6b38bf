"""Seeded config fuzzer: malformed variants of ``config.example.json5`` through the real
``clawtop config validate`` entry point must exit 0 or 78, never raise, never take over 5 s.

Each case is one mutation of the example (type swaps, huge numbers, deep nesting, unknown and
reserved keys, NUL bytes, truncation, byte garbage, oversized collections and files, includes of
FIFOs, directories and devices, include fan-out, unset variables). Where the mutation is known to
make the config invalid, exit 78 is required ("invalid accepted" otherwise); a type swap that is
accepted must keep the written value exactly (no coercion of ``true`` to ``1`` or ``"80"`` to
``80``). ``CLAWTOP_FUZZ_CASES`` raises the number of cases (default 500, in batches of 100, each
its own test so every test stays bounded); ``CLAWTOP_FUZZ_SEED`` picks another seed. Run with
``-s`` to see each batch's figures.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import json5
import pytest

from clawtop.cli import main
from core.config.loader import load_config
from core.config.schema import ClawtopConfig
from core.config.spans import PathPart, is_blank
from core.config.validate import lookup_schema_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.example.json5").read_text(encoding="utf-8")
CASES = int(os.environ.get("CLAWTOP_FUZZ_CASES", "500"))
SEED = int(os.environ.get("CLAWTOP_FUZZ_SEED", "13"))
BATCH = 100
LIMIT_S = 5.0
HUGE = "@@HUGE@@"
SWAPS: list[Any] = [True, False, 0, 1, -1, 1.5, 99999, "80", "true", "", "x" * 12, None, [], {}, [1, "a"]]
RESERVED = ("__proto__", "constructor", "prototype")


@dataclasses.dataclass
class Case:
    """One mutated config: ``must_fail`` when it is invalid by construction; ``kept`` is a
    (path, value) a successful load must show unchanged (a type swap)."""

    name: str
    data: bytes
    must_fail: bool
    kept: tuple[tuple[PathPart, ...], Any] | None = None
    setup: str | None = None  # "fifo" / "dir": the config path itself is made one


@dataclasses.dataclass
class Tally:
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    slowest: float = 0.0
    problems: list[str] = dataclasses.field(default_factory=list)


def _paths(value: Any, at: tuple[PathPart, ...] = ()) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    yield at, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*at, index))


def _set(data: Any, path: tuple[PathPart, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _get(data: Any, path: tuple[PathPart, ...]) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


def _dump(data: Any, splice: str = "") -> bytes:
    """``data`` as JSON text, with the :data:`HUGE` placeholder replaced by ``splice``."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace(json.dumps(HUGE), splice).encode("utf-8", "surrogatepass")


def _nested(depth: int, rng: random.Random) -> str:
    """JSON text nested ``depth`` deep (spliced in as text: ``json.dumps`` would recurse)."""
    opens = [rng.choice(["[", '{"a":']) for _ in range(depth)]
    closes = ["]" if o == "[" else "}" for o in reversed(opens)]
    return "".join(opens) + "1" + "".join(closes)


class Mutator:
    def __init__(self, rng: random.Random, folder: Path) -> None:
        self.rng = rng
        self.folder = folder
        self.base: dict[str, Any] = json5.loads(EXAMPLE)
        all_paths = list(_paths(self.base))
        self.leaves = [(p, v) for p, v in all_paths if p and not isinstance(v, (dict, list))]
        self.objects = [p for p, v in all_paths if isinstance(v, dict)]
        self.strings = [p for p, v in self.leaves if isinstance(v, str)]

    def case(self, index: int) -> Case:
        ops = [
            self.type_swap, self.type_swap, self.type_swap, self.huge_number, self.deep_nesting,
            self.unknown_key, self.reserved_key, self.nul_in_string, self.truncate, self.truncate,
            self.byte_garbage, self.binary_file, self.raw_nul, self.big_collection, self.oversize,
            self.include_special, self.include_fanout, self.unset_variable, self.special_main,
        ]
        return self.rng.choice(ops)()

    def _copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.base)

    def type_swap(self) -> Case:
        path, old = self.rng.choice(self.leaves)
        new = self.rng.choice([s for s in SWAPS if type(s) is not type(old)])
        data = self._copy()
        _set(data, path, new)
        kept = (path, new) if not isinstance(new, (dict, list)) else None
        return Case(f"type_swap {path} {old!r}->{new!r}", _dump(data), False, kept)

    def huge_number(self) -> Case:
        path, _ = self.rng.choice(self.leaves)
        data = self._copy()
        _set(data, path, HUGE)
        digits = "9" * self.rng.randint(4_301, 6_000)
        return Case(f"huge_number {path}", _dump(data, self.rng.choice(["", "-", "0x"]) + digits), True)

    def deep_nesting(self) -> Case:
        depth = self.rng.choice([self.rng.randint(66, 2_000), self.rng.randint(2, 60)])
        data = self._copy()
        nested = _nested(depth, self.rng)
        if self.rng.random() < 0.5:
            path, _ = self.rng.choice(self.leaves)
            _set(data, path, HUGE)
            return Case(f"deep_nesting {depth} at {path}", _dump(data, nested), depth > 64)
        data["zzDeep"] = HUGE
        return Case(f"deep_nesting {depth} unknown", _dump(data, nested), True)

    def unknown_key(self) -> Case:
        path = self.rng.choice(self.objects)
        key = self.rng.choice(["zzUnknown", "Port", "enabled_", "ttll", "é", " x", "$schema2"])
        data = self._copy()
        _get(data, path)[key] = self.rng.choice(SWAPS)
        known = lookup_schema_path(ClawtopConfig, [*path, key]).valid
        return Case(f"unknown_key {path}.{key}", _dump(data), not known)

    def reserved_key(self) -> Case:
        path = self.rng.choice(self.objects)
        data = self._copy()
        _get(data, path)[self.rng.choice(RESERVED)] = self.rng.choice([{}, {"a": 1}, 1, "x"])
        return Case(f"reserved_key {path}", _dump(data), True)

    def nul_in_string(self) -> Case:
        path = self.rng.choice(self.strings)
        data = self._copy()
        old: str = _get(data, path)
        cut = self.rng.randint(0, len(old))
        _set(data, path, old[:cut] + "\0" + old[cut:])
        return Case(f"nul_in_string {path}", _dump(data), True)

    def truncate(self) -> Case:
        cut = self.rng.randint(0, len(EXAMPLE) - 1)
        text = EXAMPLE[:cut]
        return Case(f"truncate {cut}", text.encode("utf-8"), not is_blank(text))

    def byte_garbage(self) -> Case:
        raw = bytearray(EXAMPLE.encode("utf-8"))
        for _ in range(self.rng.randint(1, 40)):
            raw[self.rng.randrange(len(raw))] = self.rng.randrange(256)
        return Case("byte_garbage", bytes(raw), False)

    def binary_file(self) -> Case:
        size = self.rng.choice([1, 16, 4_096, 300_000])
        data = bytes(self.rng.randrange(256) for _ in range(size))
        try:
            data.decode("utf-8")
            invalid = False
        except UnicodeDecodeError:
            invalid = True
        return Case(f"binary_file {size}", data, invalid or size > 1)

    def raw_nul(self) -> Case:
        cut = self.rng.randint(0, len(EXAMPLE))
        return Case(f"raw_nul {cut}", (EXAMPLE[:cut] + "\0" + EXAMPLE[cut:]).encode("utf-8"), False)

    def big_collection(self) -> Case:
        n = self.rng.randint(10_001, 60_000)
        data = self._copy()
        path, _ = self.rng.choice(self.leaves)
        big: Any = [0] * n if self.rng.random() < 0.5 else {f"k{i}": 0 for i in range(n)}
        _set(data, path, big)
        return Case(f"big_collection {n} at {path}", _dump(data), True)

    def oversize(self) -> Case:
        pad = "\n// " + "x" * (2 * 1024 * 1024)
        return Case("oversize", (EXAMPLE + pad).encode("utf-8"), True)

    def include_special(self) -> Case:
        kind = self.rng.choice(["fifo", "dir", "zero", "missing"])
        target = self.folder / f"inc-{kind}"
        if not target.exists() and not target.is_symlink():
            if kind == "fifo":
                os.mkfifo(target)
            elif kind == "dir":
                target.mkdir()
            elif kind == "zero":
                target.symlink_to("/dev/zero")
        data = self._copy()
        path = self.rng.choice([p for p in self.objects if p])
        _set(data, path, {"$include": target.name})
        return Case(f"include_{kind} at {path}", _dump(data), True)

    def include_fanout(self) -> Case:
        (self.folder / "empty.json5").write_text("{}\n", encoding="utf-8")
        n = self.rng.choice([300, 5_000, 100_000])
        data = self._copy()
        data["agents"] = {"$include": ["empty.json5"] * n}
        return Case(f"include_fanout {n}", _dump(data), True)

    def unset_variable(self) -> Case:
        path = self.rng.choice(self.strings)
        data = self._copy()
        _set(data, path, "${CLAWTOP_FUZZ_SURELY_UNSET}")
        return Case(f"unset_variable {path}", _dump(data), True)

    def special_main(self) -> Case:
        return Case("config is a FIFO/dir", b"", True, setup=self.rng.choice(["fifo", "dir"]))


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Hang


def _same(a: Any, b: Any) -> bool:
    """Type-exact equality, except that an int read into a float field is the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def run_case(case: Case, folder: Path, tally: Tally) -> None:
    target = folder / "config.json5"
    if target.is_dir():
        target.rmdir()
    else:
        target.unlink(missing_ok=True)
    if case.setup == "fifo":
        os.mkfifo(target)
    elif case.setup == "dir":
        target.mkdir()
    else:
        target.write_bytes(case.data)
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc: int | str = main(["config", "validate", str(target)])
    except _Hang:
        rc = "hang"
    except BaseException as exc:  # noqa: BLE001 - a traceback is exactly what is counted
        rc = f"traceback {type(exc).__name__}: {exc!s:.200}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - started
    tally.cases += 1
    tally.slowest = max(tally.slowest, elapsed)
    if rc not in (0, 78):
        tally.problems.append(f"{case.name}: {rc}")
        return
    if elapsed > LIMIT_S:
        tally.problems.append(f"{case.name}: took {elapsed:.1f} s")
    if rc == 78:
        tally.refused += 1
        return
    tally.accepted += 1
    if case.must_fail:
        tally.problems.append(f"{case.name}: invalid accepted")
    elif case.kept is not None:
        path, written = case.kept
        loaded = _get(load_config(target).dump(), path)
        if not _same(loaded, written):
            tally.problems.append(f"{case.name}: coerced to {loaded!r}")


@pytest.fixture
def fuzz_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's working dir
    monkeypatch.delenv("CLAWTOP_INCLUDE_ROOTS", raising=False)
    return tmp_path


def test_example_is_valid_as_json(fuzz_dir: Path) -> None:
    """The unmutated example passes, so every refusal below is the mutation's doing."""
    tally = Tally()
    run_case(Case("example", _dump(json5.loads(EXAMPLE)), False), fuzz_dir, tally)
    assert tally.problems == [] and tally.accepted == 1


@pytest.mark.parametrize("batch", range(max(1, -(-CASES // BATCH))))
def test_fuzzed_configs_exit_0_or_78(batch: int, fuzz_dir: Path) -> None:
    rng = random.Random(SEED * 1_000_003 + batch)
    mutator = Mutator(rng, fuzz_dir)
    tally = Tally()
    for index in range(min(BATCH, CASES - batch * BATCH)):
        run_case(mutator.case(index), fuzz_dir, tally)
    print(f"\nfuzz batch {batch} (seed {SEED}): {tally.cases} cases, {tally.accepted} accepted, "
          f"{tally.refused} refused (78), slowest {tally.slowest:.2f} s, problems {len(tally.problems)}")
    assert tally.problems == []


def test_sample_through_the_subprocess(fuzz_dir: Path) -> None:
    """A sample through the real executable: exit code and no ``Traceback`` on stderr."""
    mutator = Mutator(random.Random(SEED), fuzz_dir)
    cases = [mutator.huge_number(), mutator.reserved_key(), mutator.include_special(),
             mutator.binary_file(), mutator.type_swap(), mutator.truncate()]
    target = fuzz_dir / "config.json5"
    for case in cases:
        target.write_bytes(case.data)
        proc = subprocess.run(
            [sys.executable, "-m", "clawtop", "config", "validate", str(target)],
            capture_output=True, text=True, timeout=60, cwd=fuzz_dir,
        )
        assert "Traceback" not in proc.stderr, case.name
        assert proc.returncode in (0, 78), (case.name, proc.stderr)
        if case.must_fail:
            assert proc.returncode == 78, case.name
