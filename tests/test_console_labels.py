"""The console's own Chinese names of the values its forms offer (console/src/labels.js) are the
ones the API gives as labels: a renamed label in a service shows up here, not on a user's screen."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest

from quancheng.access_gateway.models import (
    AccessKind,
    AccessStatus,
    Decision,
    DocumentKind,
    RequesterKind,
)
from quancheng.catalog.models import (
    ActivityKind,
    ActivityType,
    ExemptionReason,
    InterruptionReason,
    RecordKind,
)
from quancheng.common.auth import Clearance, Role
from quancheng.device_registry.models import DeviceKind, DeviceStatus
from quancheng.ingest.models import UploadStatus

LABELS = Path(__file__).parent.parent / "console" / "src" / "labels.js"
# Accounts hold people's roles only, so the console offers no others.
PEOPLE = {Role.DEVICE, Role.INTEGRATION, Role.EXTERNAL}


def _console_labels() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for name, body in re.findall(r"export const (\w+) = \{\n(.*?)\n\}", LABELS.read_text(), re.S):
        found[name] = dict(re.findall(r"^\s+(\w+): '([^']*)',$", body, re.M))
    return found


@pytest.mark.parametrize(
    ("name", "enum", "left_out"),
    [
        ("ROLES", Role, PEOPLE),
        ("CLEARANCES", Clearance, set()),
        ("DEVICE_KINDS", DeviceKind, set()),
        ("DEVICE_STATUSES", DeviceStatus, set()),
        ("RECORD_KINDS", RecordKind, set()),
        ("UPLOAD_STATUSES", UploadStatus, set()),
        ("ACTIVITY_KINDS", ActivityKind, set()),
        ("ACTIVITY_TYPES", ActivityType, set()),
        ("INTERRUPTION_REASONS", InterruptionReason, set()),
        ("EXEMPTION_REASONS", ExemptionReason, set()),
        ("REQUESTER_KINDS", RequesterKind, set()),
        ("ACCESS_KINDS", AccessKind, set()),
        ("ACCESS_STATUSES", AccessStatus, set()),
        ("DOCUMENT_KINDS", DocumentKind, set()),
        ("DECISIONS", Decision, set()),
    ],
)
def test_console_labels_are_the_apis(name: str, enum: type[Enum], left_out: set[Enum]) -> None:
    expected = {m.value: m.label for m in enum if m not in left_out}  # type: ignore[attr-defined]
    assert _console_labels()[name] == expected
