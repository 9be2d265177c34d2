"""Property-based requests (schemathesis) over the gateway's merged OpenAPI, against the embedded
platform on a real port, as the office and as an officer, with valid data and with data that
breaks the schema: no 5xx, no response that breaks its documented schema, no status the
document does not name.

Bounded: QC_FUZZ_EXAMPLES requests per operation and token (default 10)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from quancheng.common.testing.cache import free_port
from quancheng.common.testing.kit import seed_staff_sync
from quancheng.common.testing.process import CLI, running

EXAMPLES = int(os.environ.get("QC_FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]

# Headers that frame the HTTP message itself: the HTTP server answers a malformed one before any
# application sees the request (400, no body), outside what an API document describes.
FRAMING_HEADERS = {"transfer-encoding", "content-length", "connection", "host", "te", "upgrade"}


class Platform:
    def __init__(self, base: str, data_dir: Path) -> None:
        self.base = base
        self.data_dir = data_dir

    def token(self, sub: str, *args: str) -> dict[str, str]:
        minted = subprocess.run(
            [CLI, "token", "--sub", sub, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {"Authorization": f"Bearer {minted.stdout.strip()}"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir, port = tmp_path_factory.mktemp("fuzz") / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    command = [CLI, "up", "--port", str(port), "--data-dir", str(data_dir)]
    with running(command, f"{base}/healthz"):
        platform = Platform(base, data_dir)
        office = platform.token("office-1", "--role", "office")
        seed_staff_sync(base, office)
        device = {"kind": "body_camera", "serial_number": "BC-1", "model": "M", "section": "JC1"}
        assert httpx.post(f"{base}/api/v1/devices", json=device, headers=office).status_code == 201
        yield platform


@pytest.fixture(scope="module")
def api_schema(platform: Platform) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{platform.base}/openapi.json")


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> list[dict[str, str]]:
    return [
        platform.token("office-1", "--role", "office"),
        platform.token("officer-7", "--role", "officer", "--section", "JC1"),
    ]


def test_every_operation_keeps_its_documented_promises(
    api_schema: BaseSchema, platform: Platform, tokens: list[dict[str, str]]
) -> None:
    # One test over every operation, so that all failures are reported together (and
    # schemathesis's own pytest plugin does not run on this pytest).
    failures: list[str] = []
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) > 60, "the merged document lost operations"
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for operation, mode in itertools.product(operations, modes):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def keeps_its_promises(case: Case[Any]) -> None:
            for name in [n for n in case.headers or {} if n.lower() in FRAMING_HEADERS]:
                del case.headers[name]
            for headers in tokens:
                case.call_and_validate(base_url=platform.base, headers=headers, checks=CHECKS)

        try:
            keeps_its_promises()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label
            # An operation that takes nothing can't be sent anything invalid.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label} ({mode.value} data): {exc}")
    assert not failures, "\n\n".join(failures)
