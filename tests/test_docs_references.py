"""The repository stands on its own: every design reference points to a document in it.

Three checks, each failing with the ``file:line`` of every offence:

1. No source file, test, README or doc cites a document that is not in the repository: a
   section-sign citation, an area behaviour spec named by area (the design lives in
   ``docs/design/`` now), or a path into the shared spec folder.
2. Every ``docs/<path>.md#anchor`` reference (and every relative Markdown link inside ``docs/``)
   names an existing file and, when it has an anchor, an existing heading of that file under
   GitHub's slug rules.
3. Every event kind registered in code has a row in the event table of
   ``docs/architecture.md``, and every row names a registered kind.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import core.events

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("core", "tui", "clawtop", "tests", "bench")
TOP_FILES = ("README.md", "config.example.json5")
ARCHITECTURE = ROOT / "docs" / "architecture.md"

SECTION_SIGN = "\u00a7"
_AREAS = ("retry", "pruning", "pruning-context", "sandbox", "bench-config", "bench", "tui", "dashboard")
OUTSIDE_CITATION = re.compile(
    "|".join(
        (
            re.escape(SECTION_SIGN),
            # An area name followed by "spec" (or its plural or possessive): the behaviour spec outside the repo.
            r"\b(?:" + "|".join(re.escape(a) for a in _AREAS) + r")[ \t]+specs?\b",
            re.escape("shared" + "/spec"),
        )
    )
)
DOCS_REFERENCE = re.compile(r"\bdocs/((?:[\w.-]+/)*[\w.-]+\.md)(?:#([\w-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+?\.md)(?:#([\w-]+))?\)")


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    path: Path
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.number}"


def _checked_files() -> list[Path]:
    files: list[Path] = []
    for name in CODE_DIRS:
        files += sorted(p for p in (ROOT / name).rglob("*.py") if "__snapshots__" not in p.parts)
    files += [ROOT / name for name in TOP_FILES if (ROOT / name).exists()]
    files += sorted((ROOT / "docs").rglob("*.md"))
    return files


def _lines(files: list[Path]) -> Iterator[Line]:
    for path in files:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            yield Line(path, number, text)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: markup dropped, lower case, punctuation
    dropped (hyphens and underscores kept), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown file, with GitHub's ``-1``, ``-2`` for repeats."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    fence: str | None = None
    for text in path.read_text(encoding="utf-8").splitlines():
        stripped = text.lstrip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is not None:
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", text)
        if match is None:
            continue
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def _reference_problem(target: Path, anchor: str | None) -> str | None:
    if not target.is_file():
        return f"no such file {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}"
    if anchor and anchor not in anchors_of(target):
        return f"no heading with anchor #{anchor} in {target.relative_to(ROOT)}"
    return None


def test_github_slug_rules() -> None:
    assert github_slug("Retry-After as a hard floor") == "retry-after-as-a-hard-floor"
    assert github_slug("The dashboard's seam: `GatewayView`") == "the-dashboards-seam-gatewayview"
    assert github_slug("Jitter modes (`none`, `full`)") == "jitter-modes-none-full"
    assert github_slug("Layer 1 — events") == "layer-1--events"


def test_no_reference_to_documents_outside_the_repo() -> None:
    offences = [
        f"{line.where}: {match.group(0)!r} in {line.text.strip()[:120]!r}"
        for line in _lines(_checked_files())
        if (match := OUTSIDE_CITATION.search(line.text)) is not None
    ]
    assert not offences, (
        f"{len(offences)} line(s) cite a document that is not in the repository; point them into "
        "docs/ (docs/design/<area>.md#anchor) or state the rule itself:\n" + "\n".join(offences)
    )


def test_docs_references_resolve() -> None:
    problems: list[str] = []
    for line in _lines(_checked_files()):
        for match in DOCS_REFERENCE.finditer(line.text):
            problem = _reference_problem(ROOT / "docs" / match.group(1), match.group(2))
            if problem:
                problems.append(f"{line.where}: {match.group(0)}: {problem}")
        if line.path.suffix == ".md" and "docs" in line.path.relative_to(ROOT).parts[:1]:
            for match in MARKDOWN_LINK.finditer(line.text):
                if "://" in match.group(1):
                    continue
                target = (line.path.parent / match.group(1)).resolve()
                problem = _reference_problem(target, match.group(2))
                if problem:
                    problems.append(f"{line.where}: {match.group(0)}: {problem}")
    assert not problems, "broken docs references:\n" + "\n".join(problems)


def _import_event_modules() -> None:
    """Import every core module that defines event kinds, so all of them are registered."""
    for path in sorted((ROOT / "core").rglob("*.py")):
        if "register_kind" not in path.read_text(encoding="utf-8"):
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        importlib.import_module(module.removesuffix(".__init__"))


def _table_kinds() -> dict[str, int]:
    """Kinds in the first column of the table under "## Event kinds" in docs/architecture.md,
    each with its line number."""
    kinds: dict[str, int] = {}
    in_section = False
    for number, text in enumerate(ARCHITECTURE.read_text(encoding="utf-8").splitlines(), start=1):
        if text.startswith("## "):
            in_section = github_slug(text[3:]) == "event-kinds"
            continue
        cells = text.split("|")
        if not in_section or len(cells) < 3 or not text.lstrip().startswith("|"):
            continue
        match = re.fullmatch(r"\s*`([a-z][\w.]*)`\s*", cells[1])
        if match:
            kinds.setdefault(match.group(1), number)
    return kinds


def test_every_event_kind_is_in_the_architecture_table() -> None:
    _import_event_modules()
    # Only the product's kinds: other test modules register kinds of their own in the same process.
    registered = {kind: cls for kind, cls in core.events.event_kinds().items()
                  if cls.__module__.split(".")[0] == "core"}
    assert len(registered) > 10, f"only {sorted(registered)} registered: did the imports run?"
    documented = _table_kinds()
    missing = [
        f"{kind} ({cls.__name__}, {cls.__module__}) has no row in {ARCHITECTURE.relative_to(ROOT)}"
        for kind, cls in sorted(registered.items())
        if kind not in documented
    ]
    stale = [
        f"{ARCHITECTURE.relative_to(ROOT)}:{line}: {kind} is not a registered event kind"
        for kind, line in sorted(documented.items(), key=lambda item: item[1])
        if kind not in registered
    ]
    assert not missing and not stale, "\n".join(missing + stale)
