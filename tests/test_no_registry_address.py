"""No file of the repository records where packages were downloaded from: lock files keep names,
versions and integrity hashes only, and no configuration points an installer at a registry (the
machines that install the project choose their own). Known public registries' host names are
built from their parts here, so that this file does not name them either."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]

_REGISTRY_HOSTS = [
    ".".join(parts)
    for parts in (
        ("registry", "npmjs", "org"),
        ("registry", "yarnpkg", "com"),
        ("registry", "npmmirror", "com"),
        ("pypi", "org"),
        ("files", "pythonhosted", "org"),
        ("index", "crates", "io"),
        ("static", "crates", "io"),
        ("proxy", "golang", "org"),
        ("repo1", "maven", "org"),
        ("repo", "maven", "apache", "org"),
    )
]
_ANY_FILE = re.compile("|".join(re.escape(host) for host in _REGISTRY_HOSTS), re.IGNORECASE)
_PIP_OPTION = r"(?:index-url|extra-index-url|find-links|trusted-host|index)"
# By file name: what in such a file names a registry.
_BY_NAME: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    # npm's lock files: where each package was "resolved" from.
    (re.compile(r"package-lock\.json|npm-shrinkwrap\.json"), re.compile(r'"resolved"\s*:')),
    (re.compile(r"yarn\.lock"), re.compile(r"^\s*resolved\s", re.MULTILINE)),
    (re.compile(r"pnpm-lock\.yaml"), re.compile(r"\btarball\s*:")),
    # npm's and yarn's settings: a registry, or a host's credentials ("//host/:_authToken=").
    (
        re.compile(r"\.npmrc|\.yarnrc(?:\.yml)?"),
        re.compile(r"^\s*(?:(?:@[\w.-]+:)?registry\s*[=:]|npmRegistryServer\s*:|//)", re.MULTILINE),
    ),
    # pip's requirements and constraints: an index option, or any URL to download from.
    (
        re.compile(r"(?:requirements|constraints)[\w.-]*\.(?:txt|in)"),
        re.compile(rf"^\s*(?:-i\b|-f\b|--{_PIP_OPTION}\b)|://", re.MULTILINE),
    ),
    # pip's, setuptools', tox's, uv's and poetry's settings.
    (
        re.compile(r"pip\.conf|pip\.ini|\.pypirc|setup\.cfg|tox\.ini|pyproject\.toml|uv\.toml"),
        re.compile(
            rf"^\s*{_PIP_OPTION}\s*=|^\[\[tool\.(?:uv\.index|poetry\.source)\]\]", re.MULTILINE
        ),
    ),
    # Cargo's, uv's and poetry's lock files: each package's source.
    (
        re.compile(r"[\w.-]*\.lock"),
        re.compile(
            r'source\s*=\s*(?:"(?:registry|sparse)\+|\{\s*registry\s*=)|\[package\.source\]'
        ),
    ),
]


def registry_addresses(path: str, text: str) -> list[str]:
    """The lines of the file at ``path`` (relative to the repository) that record a registry."""
    name = PurePosixPath(path).name
    patterns = [_ANY_FILE, *(found for names, found in _BY_NAME if names.fullmatch(name))]
    return [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if any(pattern.search(line) for pattern in patterns)
    ]


def repository_files() -> list[str]:
    """Every file git tracks, and every one it would (not ignored), as paths in the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted({path for path in listed.split("\0") if (REPO / path).is_file()})


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("console/package-lock.json", '      "resolved": "https://x/y.tgz",'),
        ("web/yarn.lock", '  resolved "https://x/y.tgz#abc"'),
        ("pnpm-lock.yaml", "    resolution: {tarball: https://x/y.tgz}"),
        ("console/.npmrc", "registry=https://x/"),
        (".npmrc", "@scope:registry=https://x/"),
        (".npmrc", "//x/:_authToken=${TOKEN}"),
        ("requirements-dev.txt", "--extra-index-url https://x/simple"),
        ("constraints.txt", "-i https://x/simple"),
        ("requirements.txt", "pkg @ https://x/pkg-1.0.whl"),
        ("pip.conf", "index-url = https://x/simple"),
        ("pyproject.toml", "[[tool.uv.index]]"),
        ("libs/sm3/Cargo.lock", 'source = "registry+https://x/index"'),
        ("uv.lock", 'source = { registry = "https://x/simple" }'),
        ("deploy/docker/Dockerfile", f"RUN curl https://{_REGISTRY_HOSTS[0]}/vue"),
    ],
)
def test_the_detector_finds_a_recorded_registry(path: str, line: str) -> None:
    text = f"first line\n{line}\nlast line\n"

    assert registry_addresses(path, text) == [f"{path}:2: {line.strip()}"]


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("console/package-lock.json", '      "integrity": "sha512-abc",'),
        ("console/.npmrc", "omit-lockfile-registry-resolved=true"),
        ("constraints.txt", "playwright==1.65.2"),
        ("requirements-dev.txt", "-e libs/common"),
        ("README.md", '"resolved": named in prose, outside a lock file'),
    ],
)
def test_the_detector_passes_what_names_no_registry(path: str, line: str) -> None:
    assert registry_addresses(path, line) == []


def test_no_file_of_the_repository_records_a_registry() -> None:
    found = []
    for path in repository_files():
        try:
            text = (REPO / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text: a spreadsheet of the test bureau, an image
        found.extend(registry_addresses(path, text))

    assert not found, "registry addresses recorded:\n" + "\n".join(found)


def test_npm_leaves_the_registry_out_of_the_console_lock_file() -> None:
    settings = (REPO / "console" / ".npmrc").read_text(encoding="utf-8").splitlines()

    assert "omit-lockfile-registry-resolved=true" in [line.strip() for line in settings]
