"""The device life cycle (A-6a, D-7) and the pre-use check (A-8, D-8), in one place.

Allowed moves::

    registered     -> in_stock (taken into stock) | retired (never put into service)
    in_stock       -> issued (to an officer, after a passing pre-use check)
                      | in_maintenance | lost | retired
    issued         -> returned (by the officer) | lost (lost while in the officer's hands)
    returned       -> in_stock (checked back in) | in_maintenance | retired
    in_maintenance -> in_stock (repaired) | retired (beyond repair)
    lost           -> in_stock (found) | retired (written off)
    retired        -> nothing: retirement is final

An issued device goes back through ``returned`` before maintenance or retirement, so the office
always sees who handed it back. Issue and return have routes of their own (they name an officer
and carry the pre-use check); the others go through the generic transition route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quancheng.device_registry.models import DeviceStatus

S = DeviceStatus

TRANSITIONS: dict[DeviceStatus, tuple[DeviceStatus, ...]] = {
    S.REGISTERED: (S.IN_STOCK, S.RETIRED),
    S.IN_STOCK: (S.ISSUED, S.IN_MAINTENANCE, S.LOST, S.RETIRED),
    S.ISSUED: (S.RETURNED, S.LOST),
    S.RETURNED: (S.IN_STOCK, S.IN_MAINTENANCE, S.RETIRED),
    S.IN_MAINTENANCE: (S.IN_STOCK, S.RETIRED),
    S.LOST: (S.IN_STOCK, S.RETIRED),
    S.RETIRED: (),
}

# Targets reached only through their own routes (they need an officer / a pre-use check).
DEDICATED_ROUTES: dict[DeviceStatus, str] = {S.ISSUED: "issue", S.RETURNED: "return"}

# Audit action for arriving in each status.
AUDIT_ACTIONS: dict[DeviceStatus, str] = {
    S.REGISTERED: "device.register",
    S.IN_STOCK: "device.stock",
    S.ISSUED: "device.issue",
    S.RETURNED: "device.return",
    S.IN_MAINTENANCE: "device.maintenance",
    S.LOST: "device.lost",
    S.RETIRED: "device.retire",
}


def allowed(current: DeviceStatus, target: DeviceStatus) -> bool:
    return target in TRANSITIONS[current]


# Pre-use check thresholds (A-8: no fault, enough battery, enough free storage, clock set to the
# current date and time). A device outside any of them may not be issued.
MIN_BATTERY_PERCENT = 30
MIN_FREE_STORAGE_MB = 1024
MAX_CLOCK_OFFSET_SECONDS = 60.0


@dataclass(frozen=True)
class CheckFailure:
    item: str
    message: str
    message_zh: str


def check_failures(
    *,
    fault_free: bool,
    battery_percent: int,
    free_storage_mb: int,
    clock_offset_seconds: float,
) -> list[CheckFailure]:
    """Every item of a pre-use check that fails, in a fixed order; empty if the check passes."""
    failures: list[CheckFailure] = []
    if not fault_free:
        failures.append(CheckFailure("fault_free", "the device reports a fault", "设备有故障"))
    if battery_percent < MIN_BATTERY_PERCENT:
        failures.append(
            CheckFailure(
                "battery_percent",
                f"battery at {battery_percent}% is below {MIN_BATTERY_PERCENT}%",
                f"电量 {battery_percent}% 低于 {MIN_BATTERY_PERCENT}%",
            )
        )
    if free_storage_mb < MIN_FREE_STORAGE_MB:
        failures.append(
            CheckFailure(
                "free_storage_mb",
                f"free storage {free_storage_mb} MB is below {MIN_FREE_STORAGE_MB} MB",
                f"剩余存储空间 {free_storage_mb} MB 低于 {MIN_FREE_STORAGE_MB} MB",
            )
        )
    if not math.isfinite(clock_offset_seconds) or (
        abs(clock_offset_seconds) > MAX_CLOCK_OFFSET_SECONDS
    ):
        failures.append(
            CheckFailure(
                "clock_offset_seconds",
                f"device clock is off by {clock_offset_seconds:g} s "
                f"(more than {MAX_CLOCK_OFFSET_SECONDS:g} s)",
                f"设备时钟偏差 {clock_offset_seconds:g} 秒，超过 {MAX_CLOCK_OFFSET_SECONDS:g} 秒",
            )
        )
    return failures
