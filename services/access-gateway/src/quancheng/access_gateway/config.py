from datetime import timedelta
from pathlib import Path
from typing import Any

from quancheng.common.db import MigrationSet

SERVICE_NAME = "access-gateway"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")

# Local accounts: this many failed sign-ins in a row lock an account for LOCKOUT (or until the
# office unlocks it); passwords are at least MIN_PASSWORD_LENGTH long.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

# Operations of the merged OpenAPI that a client calls without a token, by path and method.
PUBLIC_OPERATIONS: dict[str, tuple[str, ...]] = {
    "/healthz": ("get",),
    "/readyz": ("get",),
    "/.well-known/jwks.json": ("get",),
    "/openapi.json": ("get",),
    "/api/v1/device-tokens": ("post",),
    "/api/v1/sign-in": ("post",),
    "/api/v1/playback/{ticket}": ("get",),  # a ticket, not a token: what a <video> can present
}

_TUS_VERSION = {"Tus-Resumable": {"description": "1.0.0", "schema": {"type": "string"}}}
_OFFSET = {"Upload-Offset": {"description": "bytes received", "schema": {"type": "integer"}}}
# Statuses (with their headers) that operations give beyond those every operation may: tus's own
# (tus 1.0.0: 412 for a missing or other Tus-Resumable, 460 for a checksum mismatch), and a bulk
# import's refusal of a file that is neither CSV nor XLSX.
OWN_RESPONSES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("/files/", "post"): {
        "201": {**_TUS_VERSION, **_OFFSET, "Location": {"schema": {"type": "string"}}},
        "412": _TUS_VERSION,
        "415": _TUS_VERSION,
        "460": _TUS_VERSION,
    },
    ("/files/{upload_id}", "head"): {
        "200": {**_TUS_VERSION, **_OFFSET},
        "410": _TUS_VERSION,
        "412": _TUS_VERSION,
    },
    ("/files/{upload_id}", "patch"): {
        "204": {**_TUS_VERSION, **_OFFSET},
        "410": _TUS_VERSION,
        "412": _TUS_VERSION,
        "415": _TUS_VERSION,
        "423": _TUS_VERSION,
        "460": _TUS_VERSION,
        "507": _TUS_VERSION,
    },
    ("/files/{upload_id}", "delete"): {
        "204": _TUS_VERSION,
        "410": _TUS_VERSION,
        "412": _TUS_VERSION,
        "423": _TUS_VERSION,
    },
    ("/api/v1/imports", "post"): {"415": {}},
}

# Where the gateway asks, on every request a device token makes, whether the credentials behind
# it still work (revoked credentials, or a lost or retired device, stop at once).
DEVICE_TOKEN_STATUS = ("device-registry", "/api/v1/device-tokens/current")
