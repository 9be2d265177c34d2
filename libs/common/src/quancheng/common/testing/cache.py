"""Where downloaded and built test servers are kept between runs (outside the work tree, so that
a fresh clone on the same machine starts them in seconds)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path


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
