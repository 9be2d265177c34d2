"""The gateway authenticates every request: refused tokens get a 401 and are never forwarded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from quancheng.access_gateway.service.proxy import Upstreams
from quancheng.common.auth import BuiltinIssuer, Clearance, Role, load_or_create_key
from quancheng.common.testing.kit import Embedded, TokenFactory, seed_staff

DEVICE = {"kind": "body_camera", "serial_number": "BC-0001", "model": "DSJ-V9", "section": "JC1"}


@pytest.fixture
def forwarded(embedded: Embedded) -> list[str]:
    """Every request the gateway sends on to a service, as "METHOD service/path"."""
    upstreams = embedded.app.state.upstreams  # the embedded app is the gateway itself
    assert isinstance(upstreams, Upstreams)
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(f"{request.method} {request.url.host}{request.url.path}")

    for client in upstreams.clients.values():
        hooks = client.event_hooks
        client.event_hooks = {**hooks, "request": [*hooks["request"], record]}
    return seen


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj).encode())


@dataclass
class Forger:
    """Makes the tokens an attacker or a misconfigured client would send."""

    issuer: BuiltinIssuer
    key: rsa.RSAPrivateKey
    tmp_path: Path

    def claims(self) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer.issuer,
            "aud": self.issuer.audience,
            "sub": "mallory",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "roles": ["office"],
            "clearance": "top_secret",
        }

    def office(self, **extra: Any) -> str:
        return self.issuer.mint("mallory", [Role.OFFICE], extra=extra)

    def signed(self, claims: dict[str, Any], **header: Any) -> str:
        """Signed with the issuer's own key, as a token it never mints."""
        headers = {"kid": self.issuer.jwk["kid"], **header}
        return jwt.encode(claims, self.key, algorithm="RS256", headers=headers)

    def other_issuer(self, name: str) -> BuiltinIssuer:
        return BuiltinIssuer.from_directory(
            self.tmp_path / "other", issuer=name, audience=self.issuer.audience
        )


def no_token(_f: Forger) -> str | None:
    return None


def malformed(_f: Forger) -> str | None:
    return "not-a.jwt"


def expired(f: Forger) -> str | None:
    now = int(time.time())
    return f.office(iat=now - 7200, nbf=now - 7200, exp=now - 3600)


def not_yet_valid(f: Forger) -> str | None:
    return f.office(nbf=int(time.time()) + 600)


def wrong_issuer(f: Forger) -> str | None:
    return f.other_issuer("evil").mint("mallory", [Role.OFFICE])


def wrong_audience(f: Forger) -> str | None:
    return f.office(aud="some-other-system")


def no_audience(f: Forger) -> str | None:
    claims = f.claims()
    del claims["aud"]
    return f.signed(claims)


def unknown_critical_extension(f: Forger) -> str | None:
    extension = "urn:example:acting-for"
    return f.signed(f.claims(), crit=[extension], **{extension: "office-1"})


def alg_none(f: Forger) -> str | None:
    header = {"alg": "none", "typ": "JWT", "kid": f.issuer.jwk["kid"]}
    return f"{segment(header)}.{segment(f.claims())}."


def hs256_with_public_key(f: Forger) -> str | None:
    # Key confusion: a verifier that trusted the header's alg would use the public PEM as secret.
    n, e = (int.from_bytes(b64decode(f.issuer.jwk[part]), "big") for part in ("n", "e"))
    public_pem = (
        rsa.RSAPublicNumbers(e, n)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": f.issuer.jwk["kid"]}
    signing_input = f"{segment(header)}.{segment(f.claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def made_up_kid(f: Forger) -> str | None:
    key = load_or_create_key(f.tmp_path / "other")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(f.claims(), pem, algorithm="RS256", headers={"kid": "key-2024-rotated"})


def other_keys_real_kid(f: Forger) -> str | None:
    return f.other_issuer(f.issuer.issuer).mint("mallory", [Role.OFFICE])


def tampered_roles(f: Forger) -> str | None:
    header, payload, signature = f.issuer.mint("mallory", [Role.OFFICER]).split(".")
    claims = json.loads(b64decode(payload))
    claims["roles"] = ["office"]
    return f"{header}.{segment(claims)}.{signature}"


REFUSED = [
    pytest.param(no_token, "unauthenticated", id="no-token"),
    pytest.param(malformed, "malformed_token", id="malformed"),
    pytest.param(expired, "token_expired", id="expired"),
    pytest.param(not_yet_valid, "invalid_claims", id="not-yet-valid"),
    pytest.param(wrong_issuer, "untrusted_issuer", id="wrong-issuer"),
    pytest.param(wrong_audience, "invalid_claims", id="wrong-audience"),
    pytest.param(no_audience, "invalid_claims", id="no-audience"),
    pytest.param(unknown_critical_extension, "invalid_token", id="unknown-critical-extension"),
    pytest.param(alg_none, "algorithm_refused", id="alg-none"),
    pytest.param(hs256_with_public_key, "algorithm_refused", id="hs256-public-key-as-secret"),
    pytest.param(made_up_kid, "unknown_key", id="unknown-kid-made-up"),
    pytest.param(other_keys_real_kid, "unknown_key", id="unknown-kid-of-other-key"),
    pytest.param(tampered_roles, "invalid_token", id="tampered-payload"),
]


@pytest.mark.parametrize(("make", "code"), REFUSED)
async def test_refused_token_gets_401_and_is_never_forwarded(
    embedded: Embedded,
    issuer: BuiltinIssuer,
    token: TokenFactory,
    forwarded: list[str],
    tmp_path: Path,
    make: Callable[[Forger], str | None],
    code: str,
) -> None:
    bad = make(Forger(issuer, load_or_create_key(embedded.settings.identity_dir), tmp_path))
    headers = embedded.auth(bad) if bad is not None else {}

    response = await embedded.client.post("/api/v1/devices", json=DEVICE, headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == code
    assert body["message_zh"]
    assert forwarded == []

    # The recorder does see a forwarded request, and the refused one left nothing behind.
    listing = await embedded.client.get(
        "/api/v1/devices", headers=embedded.auth(token("office-1", Role.OFFICE))
    )
    assert listing.status_code == 200, listing.text
    assert listing.json()["total"] == 0
    assert forwarded == ["GET device-registry/api/v1/devices"]


async def test_token_without_audience_is_refused_with_the_reason(
    embedded: Embedded, issuer: BuiltinIssuer, tmp_path: Path
) -> None:
    forger = Forger(issuer, load_or_create_key(embedded.settings.identity_dir), tmp_path)
    token = no_audience(forger)
    assert token is not None

    response = await embedded.client.get("/api/v1/me", headers=embedded.auth(token))

    assert response.status_code == 401, response.text
    body = response.json()
    assert (body["error"], body["message_zh"]) == ("invalid_claims", "访问令牌无效或已过期")
    assert '"aud"' in body["message"]


async def test_gateway_own_routes_need_a_token_too(embedded: Embedded) -> None:
    response = await embedded.client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthenticated"


async def test_valid_token_is_accepted_and_describes_the_caller(
    embedded: Embedded, token: TokenFactory
) -> None:
    tok = token("wang.wei", Role.OFFICER, Role.CUSTODIAN, section="JC1", clearance=Clearance.SECRET)

    response = await embedded.client.get("/api/v1/me", headers=embedded.auth(tok))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "wang.wei",
        "issuer": "quancheng",
        "roles": [
            {"role": "custodian", "label": "设备专管员"},
            {"role": "officer", "label": "执法人员"},
        ],
        "section": "JC1",
        "clearance": {"level": "secret", "label": "秘密"},
    }


async def test_token_without_the_office_role_cannot_register_a_device(
    embedded: Embedded, token: TokenFactory
) -> None:
    officer = token("officer-1", Role.OFFICER, Role.SECTION_HEAD, clearance=Clearance.TOP_SECRET)

    response = await embedded.client.post(
        "/api/v1/devices", json=DEVICE, headers=embedded.auth(officer)
    )

    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "forbidden"
    assert "办公室" in body["message_zh"]
    listing = await embedded.client.get(
        "/api/v1/devices", headers=embedded.auth(token("office-1", Role.OFFICE))
    )
    assert listing.json()["total"] == 0


async def test_office_can_register_a_device(embedded: Embedded, token: TokenFactory) -> None:
    office = token("office-1", Role.OFFICE)
    await seed_staff(embedded.client, embedded.auth(office))

    response = await embedded.client.post(
        "/api/v1/devices", json=DEVICE, headers=embedded.auth(office)
    )

    assert response.status_code == 201, response.text
    assert response.json()["registered_by"] == "office-1"


async def test_jwks_lists_the_builtin_public_key_without_a_token(
    embedded: Embedded, issuer: BuiltinIssuer
) -> None:
    response = await embedded.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert (key["kid"], key["kty"], key["alg"]) == (issuer.jwk["kid"], "RSA", "RS256")
    assert key["n"] == issuer.jwk["n"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
