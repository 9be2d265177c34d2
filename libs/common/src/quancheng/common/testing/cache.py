"""Where downloaded and built test servers are kept between runs (outside the work tree, so that
a fresh clone on the same machine starts them in seconds)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_GO_BUILD_TIMEOUT_SECONDS = 3600  # a cold module cache and a busy 2-core machine take a while


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "quancheng-test-servers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free ports: all are held at once while chosen, so the system can't
    hand out the same port twice (it would, to calls made one after another)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def apt_install(*packages: str) -> None:
    """Install Debian packages (as root, or through sudo)."""
    print(f"installing {', '.join(packages)} from Debian's packages", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def go_build(
    name: str,
    package: str,
    version: str,
    binary: Path,
    *,
    flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    as_tool: bool = False,
) -> None:
    """Build the Go ``package`` at ``version`` into ``binary``, saying how long it took. With
    ``as_tool``, as a tool of a throwaway module: ``go install pkg@version`` refuses a module
    whose go.mod has replace directives."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(f"Go is needed to build {name} {version}: install Go 1.26 or later")
    binary.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {name} {version} into {binary.parent} (takes minutes)", flush=True)
    started = time.monotonic()
    environment = {**os.environ, **(env or {})}
    if not as_tool:
        command = [go, "install", *flags, f"{package}@{version}"]
        environment["GOBIN"] = str(binary.parent)
        subprocess.run(command, check=True, env=environment, timeout=_GO_BUILD_TIMEOUT_SECONDS)
    else:
        module = binary.parent / f".{binary.name}-{version}-build"
        shutil.rmtree(module, ignore_errors=True)
        module.mkdir()
        try:
            for command in (
                [go, "mod", "init", f"quancheng.test/{binary.name}"],
                [go, "get", "-tool", f"{package}@{version}"],
                [go, "build", *flags, "-o", binary.name, package],
            ):
                subprocess.run(
                    command,
                    check=True,
                    cwd=module,
                    env=environment,
                    timeout=_GO_BUILD_TIMEOUT_SECONDS,
                )
            # Moved in whole, so that an interrupted build leaves no binary behind.
            os.replace(module / binary.name, binary)
        finally:
            shutil.rmtree(module, ignore_errors=True)
    print(f"{name} {version} built in {time.monotonic() - started:.0f} s", flush=True)
