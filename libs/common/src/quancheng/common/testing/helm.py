"""The genuine Helm binary for the chart's tests, built from source with ``go install``.

Built with the link flags of Helm's own Makefile, so that ``helm version`` names the release and
the default Kubernetes version of ``helm template``/``helm lint`` is that of the client libraries
Helm ships with (a plain ``go install`` would leave both at their placeholders, v3.22 and 1.20).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from quancheng.common.testing.cache import cache_dir, go_build

HELM_VERSION = "v3.22.0"
HELM_PACKAGE = "helm.sh/helm/v3/cmd/helm"
# Helm v3.22.0 is built against k8s.io/client-go v0.37.0, i.e. Kubernetes 1.37.
_K8S_MAJOR, _K8S_MINOR = "1", "37"


def helm_binary() -> Path:
    """Where :func:`install` puts ``helm`` (it may not be there yet)."""
    return cache_dir() / "bin" / "helm"


def installed_version(binary: Path | None = None) -> str | None:
    """The version the binary reports, or None when it is missing or broken."""
    binary = binary or helm_binary()
    if not binary.is_file():
        return None
    try:
        result = subprocess.run(
            [str(binary), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def _ldflags() -> str:
    flags = {
        "helm.sh/helm/v3/internal/version.version": HELM_VERSION,
        "helm.sh/helm/v3/internal/version.gitTreeState": "clean",
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor": _K8S_MAJOR,
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor": _K8S_MINOR,
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor": _K8S_MAJOR,
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor": _K8S_MINOR,
    }
    return " ".join(["-s", "-w", *(f"-X {name}={value}" for name, value in flags.items())])


def install() -> Path:
    """Build Helm into the cache's ``bin`` directory unless that version is already there."""
    binary = helm_binary()
    if installed_version(binary) == HELM_VERSION:
        return binary
    flags = ["-trimpath", "-ldflags", _ldflags()]
    go_build("Helm", HELM_PACKAGE, HELM_VERSION, binary, flags=flags, env={"CGO_ENABLED": "0"})
    version = installed_version(binary)
    if version != HELM_VERSION:
        raise RuntimeError(f"{binary} reports version {version!r}, not {HELM_VERSION}")
    return binary


if __name__ == "__main__":
    install()
