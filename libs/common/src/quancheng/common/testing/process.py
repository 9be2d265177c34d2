"""Processes of our own command, run as an operator would and stopped as with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLI = str(Path(sys.executable).parent / "quancheng")


def wait_healthy(
    url: str, process: subprocess.Popen[Any] | None = None, timeout: float = 90
) -> None:
    """Wait until ``url`` answers 200; fail at once if ``process`` (the server) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)


@dataclass(frozen=True)
class Started:
    """A command :func:`running` has started, and what it has printed so far."""

    process: subprocess.Popen[str]
    lines: list[str]

    def printed(self) -> str:
        return "".join(self.lines)


@contextmanager
def running(
    command: list[str],
    health_url: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    exit_codes: tuple[int, ...] = (0,),
) -> Iterator[Started]:
    """Run ``command`` in its own process group until ``health_url`` answers 200; on leaving,
    stop it with SIGINT (Ctrl-C) and require a clean shutdown."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    # Read as it comes: a server that logs more than a pipe holds would otherwise block.
    lines: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lines.extend, args=(stdout,), daemon=True)
    reader.start()

    def output() -> str:
        process.wait(timeout=60)
        reader.join(timeout=60)
        stdout.close()
        return "".join(lines)

    try:
        wait_healthy(health_url, process)
    except AssertionError as exc:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"{exc}\n{output()}") from exc
    try:
        yield Started(process, lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        printed = output()
    assert process.returncode in exit_codes, printed
    assert '"message": "shutdown complete"' in printed, printed
