"""Authentication and roles: RS256 JWTs from trusted issuers, a built-in issuer, deny by default."""

from quancheng.common.auth.deps import (
    CurrentPrincipal,
    OfficeStaff,
    bearer_token,
    current_principal,
    require_roles,
)
from quancheng.common.auth.issuer import BuiltinIssuer, load_or_create_key, public_jwk
from quancheng.common.auth.principal import Clearance, Principal, Role
from quancheng.common.auth.verify import (
    AuthError,
    KeySource,
    RemoteJwks,
    StaticKeys,
    TokenVerifier,
    TrustedIssuer,
)

__all__ = [
    "AuthError",
    "BuiltinIssuer",
    "Clearance",
    "CurrentPrincipal",
    "KeySource",
    "OfficeStaff",
    "Principal",
    "RemoteJwks",
    "Role",
    "StaticKeys",
    "TokenVerifier",
    "TrustedIssuer",
    "bearer_token",
    "current_principal",
    "load_or_create_key",
    "public_jwk",
    "require_roles",
]
