"""The built-in token issuer of embedded mode: an RSA key in the data dir, made on first start."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from quancheng.common.auth.principal import Clearance, Role

KEY_FILE = "signing-key.pem"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    # RFC 7638 thumbprint as the key id: stable for the key, different for any other.
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def load_or_create_key(directory: Path) -> rsa.RSAPrivateKey:
    """The issuer's key; created atomically on first use, so concurrent starts agree on one key."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = directory / f".{KEY_FILE}.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded


class BuiltinIssuer:
    def __init__(self, key: rsa.RSAPrivateKey, *, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = key
        self.jwk = public_jwk(key.public_key())

    @classmethod
    def from_directory(cls, directory: Path, *, issuer: str, audience: str) -> BuiltinIssuer:
        return cls(load_or_create_key(directory), issuer=issuer, audience=audience)

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk]}

    def mint(
        self,
        subject: str,
        roles: Iterable[Role],
        *,
        section: str | None = None,
        clearance: Clearance = Clearance.PUBLIC,
        ttl_seconds: int = 3600,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": sorted(r.value for r in roles),
            "clearance": clearance.value,
            **(extra or {}),
        }
        if section:
            claims["section"] = section
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.jwk["kid"]})
