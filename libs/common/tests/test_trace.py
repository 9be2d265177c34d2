from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from quancheng.common.trace import (
    Requirement,
    TraceReport,
    build_report,
    collect_tests,
    render,
    requirement_ids,
)

DOC = """\
    # Requirements

    Prose mentioning A-1 outside a table is ignored.

    ## Devices
    | ID | Requirement | Service |
    |---|---|---|
    | A-2a, D-2 | Device kinds. | device-registry |
    | A-7 | Allocation standard. | device-registry |
    | Note | Not a requirement row. | - |

    ## Access
    | ID | Requirement | Service |
    |---|---|---|
    | C-9 | Supervised access \\| verified afterwards. | access-gateway |
    | A-7 | A repeated ID keeps its first row. | catalog |
    | B-12 | Accountability. | retention |
    """


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


def test_requirement_ids_one_per_id_in_document_order(tmp_path: Path) -> None:
    doc = write(tmp_path / "requirements.md", DOC)

    assert requirement_ids(doc) == [
        Requirement("A-2a", "Device kinds."),
        Requirement("D-2", "Device kinds."),
        Requirement("A-7", "Allocation standard."),
        Requirement("C-9", "Supervised access | verified afterwards."),
        Requirement("B-12", "Accountability."),
    ]


def test_function_marks_several_ids_stacked_and_async(tmp_path: Path) -> None:
    write(
        tmp_path / "tests/test_funcs.py",
        """\
        import pytest


        @pytest.mark.req("A-13", "E-11")
        def test_multi() -> None: ...


        @pytest.mark.parametrize("n", [1, 2])
        @pytest.mark.req("A-7")
        @pytest.mark.req("B-12")
        def test_stacked(n: int) -> None: ...


        @pytest.mark.req("A-7")
        async def test_async() -> None: ...


        def test_unmarked() -> None: ...


        @pytest.mark.req("C-9")
        def helper() -> None: ...
        """,
    )

    assert collect_tests([tmp_path / "tests"], tmp_path) == {
        "A-13": ["tests/test_funcs.py::test_multi"],
        "A-7": ["tests/test_funcs.py::test_async", "tests/test_funcs.py::test_stacked"],
        "B-12": ["tests/test_funcs.py::test_stacked"],
        "E-11": ["tests/test_funcs.py::test_multi"],
    }


def test_class_marks_apply_to_every_test_method(tmp_path: Path) -> None:
    write(
        tmp_path / "tests/test_classes.py",
        """\
        import pytest


        @pytest.mark.req("D-10a")
        class TestGaps:
            def test_gap(self) -> None: ...

            @pytest.mark.req("D-10b")
            async def test_late(self) -> None: ...

            def helper(self) -> None: ...

            class TestNested:
                def test_inner(self) -> None: ...


        class TestClassPytestmark:
            pytestmark = [pytest.mark.req("E-17")]

            def test_export(self) -> None: ...


        @pytest.mark.req("C-4")
        class TestWithInit:
            def __init__(self) -> None: ...

            def test_never_collected(self) -> None: ...


        @pytest.mark.req("C-4")
        class Helper:
            def test_not_a_test_class(self) -> None: ...
        """,
    )

    assert collect_tests([tmp_path / "tests"], tmp_path) == {
        "D-10a": [
            "tests/test_classes.py::TestGaps::TestNested::test_inner",
            "tests/test_classes.py::TestGaps::test_gap",
            "tests/test_classes.py::TestGaps::test_late",
        ],
        "D-10b": ["tests/test_classes.py::TestGaps::test_late"],
        "E-17": ["tests/test_classes.py::TestClassPytestmark::test_export"],
    }


def test_module_pytestmark_single_mark_or_list(tmp_path: Path) -> None:
    write(
        tmp_path / "tests/test_single.py",
        """\
        import pytest

        pytestmark = pytest.mark.req("B-8")


        def test_kept() -> None: ...


        class TestPolicy:
            def test_three_years(self) -> None: ...
        """,
    )
    write(
        tmp_path / "tests/sub/test_list.py",
        """\
        import pytest


        @pytest.mark.req("E-19")
        def test_destroy() -> None: ...


        pytestmark = [pytest.mark.anyio, pytest.mark.req("E-18", "E-20")]
        """,
    )

    assert collect_tests([tmp_path / "tests"], tmp_path) == {
        "B-8": [
            "tests/test_single.py::TestPolicy::test_three_years",
            "tests/test_single.py::test_kept",
        ],
        "E-18": ["tests/sub/test_list.py::test_destroy"],
        "E-19": ["tests/sub/test_list.py::test_destroy"],
        "E-20": ["tests/sub/test_list.py::test_destroy"],
    }


def test_only_test_modules_are_read(tmp_path: Path) -> None:
    marked = """\
        import pytest


        @pytest.mark.req("A-7")
        def test_allocation() -> None: ...
        """
    write(tmp_path / "tests/test_a.py", marked)
    write(tmp_path / "tests/conftest.py", marked)
    write(tmp_path / "tests/helpers.py", marked)
    write(tmp_path / "tests/a_test.txt", marked)

    assert collect_tests([tmp_path / "tests"], tmp_path) == {
        "A-7": ["tests/test_a.py::test_allocation"],
    }


def repo_with_tests(root: Path) -> None:
    write(root / "docs/requirements.md", DOC)
    write(
        root / "libs/common/tests/test_common.py",
        """\
        import pytest


        @pytest.mark.req("B-12", "Z-1")
        def test_audit() -> None: ...
        """,
    )
    write(
        root / "services/catalog/tests/test_catalog.py",
        """\
        import pytest


        @pytest.mark.req("D-2")
        def test_kinds() -> None: ...
        """,
    )
    write(
        root / "tests/test_e2e.py",
        """\
        import pytest


        @pytest.mark.req("D-2", "a-7")
        def test_flow() -> None: ...
        """,
    )
    # Outside the test roots: not traced.
    write(
        root / "scripts/test_tool.py",
        """\
        import pytest


        @pytest.mark.req("A-7")
        def test_tool() -> None: ...
        """,
    )


def test_build_report_covered_in_doc_order_then_uncovered_then_unknown(tmp_path: Path) -> None:
    repo_with_tests(tmp_path)

    report = build_report(tmp_path)

    assert report == TraceReport(
        covered=[
            (
                Requirement("D-2", "Device kinds."),
                [
                    "services/catalog/tests/test_catalog.py::test_kinds",
                    "tests/test_e2e.py::test_flow",
                ],
            ),
            (
                Requirement("B-12", "Accountability."),
                [
                    "libs/common/tests/test_common.py::test_audit",
                ],
            ),
        ],
        uncovered=[
            Requirement("A-2a", "Device kinds."),
            Requirement("A-7", "Allocation standard."),
            Requirement("C-9", "Supervised access | verified afterwards."),
        ],
        unknown={
            "Z-1": ["libs/common/tests/test_common.py::test_audit"],
            "a-7": ["tests/test_e2e.py::test_flow"],
        },
    )
    assert render(report) == dedent(
        """\
        D-2  Device kinds.
            services/catalog/tests/test_catalog.py::test_kinds
            tests/test_e2e.py::test_flow
        B-12  Accountability.
            libs/common/tests/test_common.py::test_audit

        Without a test (3):
        A-2a  Device kinds.
        A-7  Allocation standard.
        C-9  Supervised access | verified afterwards.

        Unknown IDs used by tests:
        Z-1
            libs/common/tests/test_common.py::test_audit
        a-7
            tests/test_e2e.py::test_flow
        """
    )


def test_render_without_tests_or_unknown_ids(tmp_path: Path) -> None:
    write(tmp_path / "docs/requirements.md", DOC)

    report = build_report(tmp_path)

    assert report.covered == []
    assert report.unknown == {}
    assert render(report) == dedent(
        """\
        Without a test (5):
        A-2a  Device kinds.
        D-2  Device kinds.
        A-7  Allocation standard.
        C-9  Supervised access | verified afterwards.
        B-12  Accountability.
        """
    )


def test_real_repository_lists_every_requirement() -> None:
    repo_root = Path(__file__).resolve().parents[3]

    report = build_report(repo_root)

    ids = [r.id for r, _ in report.covered] + [r.id for r in report.uncovered]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)
    assert {"A-2a", "D-2", "D-10a", "E-17", "B-12", "A-13b", "D-18b"} <= set(ids)
    assert "Without a test" in render(report)
