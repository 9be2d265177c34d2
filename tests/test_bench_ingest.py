"""The ingest benchmark (``make bench-ingest``) runs end to end on a small file: every server
starts, every upload completes intact, and the report names each figure. The figures themselves
are the benchmark's business (it runs on 1 GiB), not a test's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent / "bench_ingest.py"


def test_the_benchmark_runs_against_every_peer_and_reports_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--size-mib", "16", "--chunk-mib", "4"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    report = result.stdout
    for name in (
        "quancheng ingest, local files",
        "tusd, local files",
        "tuspyserver, local files",
        "quancheng ingest, MinIO",
        "tusd, MinIO",
        "floor: SHA-256 + write only",
    ):
        assert re.search(rf"{re.escape(name)}\s+\d+\.\d MB/s", report), report
    for name in ("quancheng ingest, local files", "quancheng ingest, MinIO"):
        assert re.search(rf"{name}, original stored\s+\d+\.\d MB/s", report), report
    for ratio in (
        "ours / tusd (local files)",
        "ours / tuspyserver",
        "ours / tusd (MinIO)",
        "floor / tusd (local files)",
        "floor / tuspyserver",
    ):
        assert re.search(rf"{re.escape(ratio)}:\s+\d+\.\d\d", report), report
    assert re.search(r"peak RSS:\s+\d+ MiB", report), report
