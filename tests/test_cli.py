"""The ``quancheng`` command as an operator uses it: ``up`` on a real port (what ``make run``
starts), ``token``, ``verify-audit`` and ``trace``; data survives a restart."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).parent / "quancheng")
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, check=False)


@contextmanager
def platform_up(data_dir: Path, port: int) -> Iterator[str]:
    """``quancheng up`` in its own process, until it answers /healthz; stopped with SIGTERM."""
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [CLI, "up", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the platform did not come up in 60 s"
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def test_up_serves_every_service_and_keeps_data_across_a_restart(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    minted = run_cli("token", "--sub", "office-1", "--role", "office", "--data-dir", str(data_dir))
    assert minted.returncode == 0, minted.stderr
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}

    with platform_up(data_dir, port) as base:
        health = httpx.get(f"{base}/healthz").json()
        assert set(health["services"]) == {
            "access-gateway",
            "device-registry",
            "ingest",
            "catalog",
            "retention",
        }
        assert set(health["services"].values()) == {"ok"}
        created = httpx.post(
            f"{base}/api/v1/devices",
            headers=headers,
            json={"kind": "camera", "serial_number": "CAM-7", "model": "EOS", "section": "JD2"},
        )
        assert created.status_code == 201, created.text

    # A new process on the same data dir: same issuer key, same databases.
    with platform_up(data_dir, port) as base:
        fetched = httpx.get(f"{base}/api/v1/devices/{created.json()['id']}", headers=headers)
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["serial_number"] == "CAM-7"


def test_verify_audit_reports_an_intact_chain_and_names_a_tampered_entry(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    minted = run_cli("token", "--sub", "office-1", "--role", "office", "--data-dir", str(data_dir))
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    with platform_up(data_dir, port) as base:
        for n in range(3):
            response = httpx.post(
                f"{base}/api/v1/devices",
                headers=headers,
                json={
                    "kind": "camcorder",
                    "serial_number": f"CC-{n}",
                    "model": "HD",
                    "section": "JD2",
                },
            )
            assert response.status_code == 201

    intact = run_cli("verify-audit", "--data-dir", str(data_dir))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "device-registry: intact (3 entries)" in intact.stdout

    with sqlite3.connect(data_dir / "db" / "device-registry.sqlite3") as conn:
        conn.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
    broken = run_cli("verify-audit", "--data-dir", str(data_dir))
    assert broken.returncode == 1
    assert "device-registry: BROKEN at entry 2" in broken.stdout


def test_token_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = run_cli("token", "--sub", "x", "--role", "emperor", "--data-dir", str(tmp_path))

    assert result.returncode == 2
    assert "emperor" in result.stderr


def test_trace_lists_requirements_with_their_tests_and_the_rest_last() -> None:
    result = subprocess.run(
        [CLI, "trace"], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )

    assert result.returncode == 0, result.stderr
    covered, _, uncovered = result.stdout.partition("Without a test")
    assert "B-12" in covered
    assert "test_audit_chain.py::test_an_edited_entry_is_named" in covered
    assert uncovered.strip()
