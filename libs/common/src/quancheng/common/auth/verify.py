"""RS256 token verification against the JWKS of every trusted issuer (built-in and external IdPs).

Only RS256 is ever accepted: ``alg: none``, HMAC tokens (e.g. HS256 "signed" with the public key)
and keys the issuer's JWKS does not list are refused before any claim is trusted. Every token must
carry ``iss``, ``sub``, ``aud`` and ``exp``; one with a ``crit`` header is refused (RFC 7515
§4.1.11: no JWS extension is implemented here).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import httpx
import jwt
from jwt import PyJWK
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSubjectError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWTError,
)

from quancheng.common.auth.principal import Principal

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp"]
_CLAIM_ERRORS = (
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSubjectError,
    MissingRequiredClaimError,
)


class AuthError(Exception):
    """A token that can't be trusted; ``code`` is stable for clients, ``reason`` explains."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class KeySource(Protocol):
    async def key(self, kid: str) -> dict[str, Any] | None: ...


class StaticKeys:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {k["kid"]: k for k in jwks.get("keys", []) if "kid" in k}

    async def key(self, kid: str) -> dict[str, Any] | None:
        return self._keys.get(kid)


class RemoteJwks:
    """An external IdP's JWKS, cached; an unknown kid triggers at most one refresh per interval."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        cache_seconds: int = 300,
        min_refresh_seconds: float = 30.0,
    ) -> None:
        self._url = url
        self._client = client
        self._cache_seconds = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    def _stale_for(self, kid: str) -> bool:
        age = time.monotonic() - self._fetched_at
        return age > self._cache_seconds or (kid not in self._keys and age > self._min_refresh)

    async def key(self, kid: str) -> dict[str, Any] | None:
        if self._stale_for(kid):
            async with self._lock:
                # Asked again under the lock: a burst of requests waits for one fetch.
                if self._stale_for(kid):
                    await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        try:
            response = await self._client.get(self._url, timeout=10.0)
            response.raise_for_status()
            keys = response.json().get("keys", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise AuthError("jwks_unavailable", f"issuer keys unavailable: {exc}") from exc
        self._keys = {k["kid"]: k for k in keys if isinstance(k, dict) and "kid" in k}
        self._fetched_at = time.monotonic()


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    audience: str
    keys: KeySource


class TokenVerifier:
    def __init__(self, issuers: list[TrustedIssuer], *, leeway_seconds: int = 30) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
        except DecodeError as exc:
            raise AuthError("malformed_token", "the token is not a well-formed JWT") from exc
        except InvalidTokenError as exc:  # e.g. a crit naming an extension PyJWT lacks
            raise AuthError("invalid_token", f"the token is refused: {exc}") from exc
        header: dict[str, Any] = unverified["header"]
        if "crit" in header:
            # The one extension PyJWT implements, b64 (RFC 7797), is not used by tokens here.
            raise AuthError(
                "invalid_token", f"critical header extensions are refused: {header['crit']}"
            )
        if header.get("alg") != ALGORITHM:
            raise AuthError("algorithm_refused", f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("unknown_key", "the token names no key (kid)")
        iss = unverified["payload"].get("iss")
        if not isinstance(iss, str):
            raise AuthError("untrusted_issuer", "the token names no issuer (iss)")
        trusted = self._issuers.get(iss)
        if trusted is None:
            raise AuthError("untrusted_issuer", "the token's issuer is not trusted")
        key = await trusted.keys.key(kid)
        if key is None:
            raise AuthError("unknown_key", "the issuer does not list the token's key")
        try:
            public_key = _public_key(json.dumps(key, sort_keys=True))
        except PyJWTError as exc:
            raise AuthError("unknown_key", f"the issuer's key can't be used: {exc}") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                audience=trusted.audience,
                issuer=trusted.issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except ExpiredSignatureError as exc:
            raise AuthError("token_expired", "the token has expired") from exc
        except _CLAIM_ERRORS as exc:
            raise AuthError("invalid_claims", f"the token's claims are refused: {exc}") from exc
        except PyJWTError as exc:
            raise AuthError("invalid_token", f"the token is refused: {exc}") from exc
        return Principal.from_claims(claims)


@lru_cache(maxsize=64)
def _public_key(jwk_json: str) -> PyJWK:
    """An issuer's key, ready to check signatures; built once (building it from the JWK costs
    more than checking a signature, and every request would pay it)."""
    return PyJWK.from_json(jwk_json, ALGORITHM)
