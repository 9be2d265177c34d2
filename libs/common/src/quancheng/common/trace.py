"""Requirement traceability: which tests prove which requirement of docs/requirements.md.

Tests name the requirements they prove with `@pytest.mark.req("ID", ...)`. The test files are read
with `ast`, never imported, so tracing needs neither the services' dependencies nor a database.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DOC = Path("docs/requirements.md")
TEST_ROOTS = ("libs/*/tests", "services/*/tests", "tests")

_ID = re.compile(r"[A-E]-\d+[a-z]?")
# A cell boundary is a pipe that markdown does not escape.
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str


@dataclass(frozen=True)
class TraceReport:
    covered: list[tuple[Requirement, list[str]]]  # document order, each with its sorted test ids
    uncovered: list[Requirement]  # document order
    unknown: dict[str, list[str]]  # IDs used by tests but absent from the document -> tests


def requirement_ids(doc: Path) -> list[Requirement]:
    """Every requirement of the tables in `doc`, one per ID, in document order."""
    found: dict[str, Requirement] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        row = line.strip()
        if not row.startswith("|"):
            continue
        # The leading pipe leaves an empty first part; the trailing pipe is optional in markdown.
        cells = _CELL_SPLIT.split(row)[1:3]
        if len(cells) < 2:
            continue
        ids = [part.strip() for part in cells[0].split(",")]
        if not all(_ID.fullmatch(i) for i in ids):
            continue
        text = cells[1].strip().replace("\\|", "|")
        for i in ids:
            found.setdefault(i, Requirement(i, text))
    return list(found.values())


def collect_tests(roots: Iterable[Path], base: Path) -> dict[str, list[str]]:
    """Map each requirement ID to the sorted node ids (relative to `base`) of the tests marked
    with it, reading every `test_*.py` under `roots`."""
    tests: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted(root.rglob("test_*.py")):
            module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            prefix = path.relative_to(base).as_posix()
            for node_id, ids in _tests_in(module.body, prefix, _pytestmark_ids(module.body)):
                for i in ids:
                    tests.setdefault(i, set()).add(node_id)
    return {i: sorted(node_ids) for i, node_ids in sorted(tests.items())}


def build_report(repo_root: Path) -> TraceReport:
    requirements = requirement_ids(repo_root / DOC)
    roots = [p for pattern in TEST_ROOTS for p in sorted(repo_root.glob(pattern)) if p.is_dir()]
    tests = collect_tests(roots, repo_root)
    known = {r.id for r in requirements}
    return TraceReport(
        covered=[(r, tests[r.id]) for r in requirements if r.id in tests],
        uncovered=[r for r in requirements if r.id not in tests],
        unknown={i: node_ids for i, node_ids in tests.items() if i not in known},
    )


def render(report: TraceReport) -> str:
    lines: list[str] = []
    for requirement, tests in report.covered:
        lines.append(f"{requirement.id}  {requirement.text}")
        lines.extend(f"    {t}" for t in tests)
    if lines:
        lines.append("")
    lines.append(f"Without a test ({len(report.uncovered)}):")
    lines.extend(f"{r.id}  {r.text}" for r in report.uncovered)
    if report.unknown:
        lines.append("")
        lines.append("Unknown IDs used by tests:")
        for i, tests in report.unknown.items():
            lines.append(i)
            lines.extend(f"    {t}" for t in tests)
    return "\n".join(lines) + "\n"


def _tests_in(
    body: list[ast.stmt], prefix: str, inherited: frozenset[str]
) -> Iterator[tuple[str, frozenset[str]]]:
    """Yield (node id, requirement IDs) for each test pytest would collect from `body`, following
    its default naming rules: `test*` functions and `Test*` classes without `__init__`."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            ids = inherited | _decorator_ids(node.decorator_list)
            if ids:
                yield f"{prefix}::{node.name}", ids
        elif (
            isinstance(node, ast.ClassDef)
            and node.name.startswith("Test")
            and not _defines_init(node)
        ):
            ids = inherited | _decorator_ids(node.decorator_list) | _pytestmark_ids(node.body)
            yield from _tests_in(node.body, f"{prefix}::{node.name}", ids)


def _defines_init(cls: ast.ClassDef) -> bool:
    return any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "__init__"
        for n in cls.body
    )


def _pytestmark_ids(body: list[ast.stmt]) -> frozenset[str]:
    """IDs of a `pytestmark = <mark>` or `pytestmark = [<mark>, ...]` assignment in `body`."""
    ids: set[str] = set()
    for node in body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            ids |= _decorator_ids(marks)
    return frozenset(ids)


def _decorator_ids(marks: Iterable[ast.expr]) -> frozenset[str]:
    """The string arguments of every `pytest.mark.req(...)` call among `marks`."""
    ids: set[str] = set()
    for mark in marks:
        if (
            isinstance(mark, ast.Call)
            and isinstance(mark.func, ast.Attribute)
            and mark.func.attr == "req"
            and isinstance(mark.func.value, ast.Attribute)
            and mark.func.value.attr == "mark"
            and isinstance(mark.func.value.value, ast.Name)
            and mark.func.value.value.id == "pytest"
        ):
            ids.update(
                a.value
                for a in mark.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return frozenset(ids)
