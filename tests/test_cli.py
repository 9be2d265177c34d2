"""The ``quancheng`` command as an operator uses it: ``make run`` and ``up`` on a real port,
``serve`` (one service per process), ``token``, ``verify-audit`` and ``trace``; data survives a
restart."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from quancheng.common.settings import SERVICES
from quancheng.common.testing.cache import free_port, free_ports
from quancheng.common.testing.kit import seed_staff_sync
from quancheng.common.testing.process import CLI, running

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, check=False)


@contextmanager
def platform_up(data_dir: Path, port: int) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    with running([CLI, "up", "--port", str(port), "--data-dir", str(data_dir)], f"{base}/healthz"):
        yield base


def test_make_run_brings_the_platform_up_on_port_8000(tmp_path: Path) -> None:
    with running(
        ["make", "--no-print-directory", "run"],
        "http://127.0.0.1:8000/healthz",
        env={"QUANCHENG_DATA_DIR": str(tmp_path / "var")},
        cwd=REPO,
        # make itself reports the Ctrl-C that stopped its child.
        exit_codes=(0, 2, -signal.SIGINT),
    ):
        health = httpx.get("http://127.0.0.1:8000/healthz").json()

    assert set(health["services"].values()) == {"ok"}
    assert len(health["services"]) == 5
    assert (tmp_path / "var" / "db" / "device-registry.sqlite3").exists()


def test_serve_runs_one_service_and_the_gateway_reaches_it_by_url(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    minted = run_cli("token", "--sub", "office-1", "--role", "office", "--data-dir", str(data_dir))
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    urls = {
        f"QUANCHENG_SERVICES__{name.replace('-', '_').upper()}": f"http://127.0.0.1:{port}"
        for name, port in ports.items()
        if name != "access-gateway"
    }
    with ExitStack() as stack:
        for name, port in ports.items():
            command = [CLI, "serve", name, "--port", str(port), "--data-dir", str(data_dir)]
            stack.enter_context(running(command, f"http://127.0.0.1:{port}/readyz", env=urls))
        gateway = f"http://127.0.0.1:{ports['access-gateway']}"

        health = httpx.get(f"{gateway}/healthz").json()
        seed_staff_sync(gateway, headers)
        created = httpx.post(
            f"{gateway}/api/v1/devices",
            headers=headers,
            json={
                "kind": "voice_recorder",
                "serial_number": "VR-3",
                "model": "R1",
                "section": "JC1",
            },
        )
        direct = httpx.get(
            f"http://127.0.0.1:{ports['device-registry']}/api/v1/devices", headers=headers
        )

    assert set(health["services"].values()) == {"ok"}
    assert created.status_code == 201, created.text
    assert [d["serial_number"] for d in direct.json()["items"]] == ["VR-3"]


def test_the_banner_of_up_tells_a_token_command_that_works_from_anywhere(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    base = f"http://127.0.0.1:{port}"
    up = [CLI, "up", "--port", str(port), "--data-dir", str(data_dir)]
    with running(up, f"{base}/healthz", cwd=REPO) as started:
        banner = started.printed()
        [told] = [line for line in banner.splitlines() if line.strip().startswith("Token:")]
        command = told.split("Token:", 1)[1].strip().replace("NAME", "office-1")
        # Pasted into a shell in another directory, with a PATH that knows no quancheng.
        minted = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=elsewhere,
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert minted.returncode == 0, (command, minted.stderr)
        me = httpx.get(
            f"{base}/api/v1/me", headers={"Authorization": f"Bearer {minted.stdout.strip()}"}
        )

    assert f"API:     {base}" in banner
    assert me.status_code == 200, me.text
    assert me.json()["subject"] == "office-1"


def test_the_banner_of_up_tells_how_to_create_the_first_office_account(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    up = [CLI, "up", "--port", str(port), "--data-dir", str(data_dir)]
    with running(up, f"{base}/healthz", cwd=REPO) as started:
        banner = started.printed()
        [told] = [line for line in banner.splitlines() if line.strip().startswith("Account:")]
        command = told.split("Account:", 1)[1].split("   (", 1)[0].strip()
        command = command.replace("NAME", "office-1").replace("姓名", "王芳")
        created = subprocess.run(
            ["/bin/sh", "-c", f"{command} --password-stdin"],
            input="Office-start-2026\n",
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, (command, created.stderr)
        signed_in = httpx.post(
            f"{base}/api/v1/sign-in",
            json={"username": "office-1", "password": "Office-start-2026"},
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        accounts = httpx.get(
            f"{base}/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}
        )
        again = subprocess.run(
            ["/bin/sh", "-c", f"{command} --password-stdin"],
            input="Office-start-2026\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert accounts.json()["items"][0]["display_name"] == "王芳"
    assert again.returncode == 1
    assert "已存在" in again.stderr


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
        seed_staff_sync(base, headers)
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
        seed_staff_sync(base, headers)
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
    # 3 sections, 3 officers and 2 imports of the test bureau, then the 3 devices.
    assert "device-registry: intact (11 entries)" in intact.stdout

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
