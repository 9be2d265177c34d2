"""TokenVerifier with the built-in issuer and an external IdP whose JWKS is fetched over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from quancheng.common.auth import (
    AuthError,
    BuiltinIssuer,
    Clearance,
    Principal,
    RemoteJwks,
    Role,
    StaticKeys,
    TokenVerifier,
    TrustedIssuer,
)
from quancheng.common.auth import verify as verify_module

IDP = "https://idp.district.example/realms/law"
IDP_JWKS_URL = "https://idp.district.example/realms/law/jwks"
IDP_AUDIENCE = "district-platform"
MIN_REFRESH = 30.0
CACHE = 300


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def builtin_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def builtin(builtin_key: rsa.RSAPrivateKey) -> BuiltinIssuer:
    return BuiltinIssuer(builtin_key, issuer="quancheng", audience="quancheng")


@pytest.fixture(scope="module")
def idp_signer() -> BuiltinIssuer:
    """Signs as the external IdP does; only its public key is served by the fake IdP."""
    return BuiltinIssuer(new_key(), issuer=IDP, audience=IDP_AUDIENCE)


@pytest.fixture(scope="module")
def rotated_signer() -> BuiltinIssuer:
    """The IdP's next key, published only after a rotation."""
    return BuiltinIssuer(new_key(), issuer=IDP, audience=IDP_AUDIENCE)


class FakeIdp:
    """The IdP's JWKS endpoint; counts how often it is fetched."""

    def __init__(self, *signers: BuiltinIssuer) -> None:
        self.keys = [s.jwk for s in signers]
        self.fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == IDP_JWKS_URL
        self.fetches += 1
        return httpx.Response(200, json={"keys": self.keys})


class Clock:
    """Stands in for the verify module's monotonic clock, so refresh intervals can be crossed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(verify_module, "time", fake)
    return fake


@pytest.fixture
def idp(idp_signer: BuiltinIssuer) -> FakeIdp:
    return FakeIdp(idp_signer)


@pytest.fixture
async def verifier(
    builtin: BuiltinIssuer, idp: FakeIdp, clock: Clock
) -> AsyncIterator[TokenVerifier]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(idp.handle)) as client:
        remote = RemoteJwks(
            IDP_JWKS_URL, client, cache_seconds=CACHE, min_refresh_seconds=MIN_REFRESH
        )
        yield TokenVerifier(
            [
                TrustedIssuer(builtin.issuer, builtin.audience, StaticKeys(builtin.jwks)),
                TrustedIssuer(IDP, IDP_AUDIENCE, remote),
            ]
        )


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        await verifier.verify(token)
    return caught.value.code


def segment(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


Signer = Callable[..., str]


@pytest.fixture(scope="module")
def sign(builtin_key: rsa.RSAPrivateKey, builtin: BuiltinIssuer) -> Signer:
    """Signs with the built-in key what its issuer never mints: claims left out, header extras."""

    def signed(claims: dict[str, Any], **header: Any) -> str:
        protected = {"alg": "RS256", "typ": "JWT", "kid": builtin.jwk["kid"], **header}
        signing_input = f"{segment(protected)}.{segment(claims)}"
        signature = builtin_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    return signed


def full_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "quancheng",
        "aud": "quancheng",
        "sub": "office-1",
        "iat": now,
        "exp": now + 600,
        "roles": ["office"],
    }


async def test_builtin_token_is_accepted_alongside_an_external_idp(
    verifier: TokenVerifier, builtin: BuiltinIssuer, idp: FakeIdp
) -> None:
    token = builtin.mint("office-1", [Role.OFFICE], clearance=Clearance.SECRET)

    principal = await verifier.verify(token)

    assert principal == Principal(
        "office-1", "quancheng", frozenset({Role.OFFICE}), clearance=Clearance.SECRET
    )
    assert idp.fetches == 0


async def test_idp_token_is_accepted_with_the_audience_of_its_trusted_issuer(
    verifier: TokenVerifier, idp_signer: BuiltinIssuer
) -> None:
    token = idp_signer.mint("officer-7", [Role.OFFICER], section="JC1")

    principal = await verifier.verify(token)

    assert (principal.subject, principal.issuer) == ("officer-7", IDP)
    assert principal.roles == {Role.OFFICER}
    assert principal.section == "JC1"


async def test_idp_token_meant_for_the_builtin_audience_is_refused(
    verifier: TokenVerifier, idp_signer: BuiltinIssuer
) -> None:
    token = idp_signer.mint("officer-7", [Role.OFFICER], extra={"aud": "quancheng"})

    assert await refused(verifier, token) == "invalid_claims"


async def test_token_signed_here_with_every_required_claim_is_accepted(
    verifier: TokenVerifier, sign: Signer
) -> None:
    principal = await verifier.verify(sign(full_claims()))

    assert principal.subject == "office-1"
    assert principal.roles == {Role.OFFICE}


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        pytest.param("aud", "invalid_claims", id="aud"),
        pytest.param("exp", "invalid_claims", id="exp"),
        pytest.param("sub", "invalid_claims", id="sub"),
        pytest.param("iss", "untrusted_issuer", id="iss"),
    ],
)
async def test_token_lacking_a_required_claim_is_refused_naming_it(
    verifier: TokenVerifier, sign: Signer, claim: str, code: str
) -> None:
    claims = full_claims()
    del claims[claim]

    with pytest.raises(AuthError) as caught:
        await verifier.verify(sign(claims))

    assert caught.value.code == code
    assert re.search(rf"\b{claim}\b", caught.value.reason), caught.value.reason


@pytest.mark.parametrize(
    "aud",
    ["district-platform", ["district-platform", "archive"], "", [], None, 7],
    ids=["other", "others-only", "empty-string", "empty-list", "null", "number"],
)
async def test_token_for_another_audience_is_refused(
    verifier: TokenVerifier, builtin: BuiltinIssuer, aud: Any
) -> None:
    token = builtin.mint("office-1", [Role.OFFICE], extra={"aud": aud})

    assert await refused(verifier, token) == "invalid_claims"


async def test_token_for_several_audiences_including_ours_is_accepted(
    verifier: TokenVerifier, builtin: BuiltinIssuer
) -> None:
    token = builtin.mint("office-1", [Role.OFFICE], extra={"aud": ["archive", "quancheng"]})

    assert (await verifier.verify(token)).subject == "office-1"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        pytest.param(
            {"crit": ["urn:example:ttl"], "urn:example:ttl": 60}, "invalid_token", id="unknown"
        ),
        pytest.param({"crit": ["urn:example:ttl"]}, "invalid_token", id="unknown-and-absent"),
        pytest.param({"crit": ["exp"], "exp": 0}, "invalid_token", id="names-a-claim"),
        pytest.param({"crit": ["b64"], "b64": True}, "invalid_token", id="b64"),
        pytest.param({"crit": ["b64"], "b64": False}, "malformed_token", id="unencoded-payload"),
        pytest.param({"crit": []}, "invalid_token", id="empty"),
        pytest.param({"crit": "urn:example:ttl"}, "invalid_token", id="not-a-list"),
    ],
)
async def test_token_with_a_critical_header_extension_is_refused(
    verifier: TokenVerifier, sign: Signer, header: dict[str, Any], code: str
) -> None:
    # RFC 7515 §4.1.11: a verifier must refuse critical extensions it does not implement.
    assert await refused(verifier, sign(full_claims(), **header)) == code


async def test_each_issuer_key_is_built_once_for_many_verifications(
    verifier: TokenVerifier, builtin: BuiltinIssuer, idp_signer: BuiltinIssuer
) -> None:
    verify_module._public_key.cache_clear()

    for subject in ("a", "b", "c"):
        await verifier.verify(builtin.mint(subject, [Role.OFFICE]))
        await verifier.verify(idp_signer.mint(subject, [Role.OFFICER]))

    assert verify_module._public_key.cache_info().misses == 2


async def test_builtin_key_cannot_sign_for_the_idp(
    verifier: TokenVerifier, builtin: BuiltinIssuer
) -> None:
    token = builtin.mint("intruder", [Role.OFFICE], extra={"iss": IDP, "aud": IDP_AUDIENCE})

    assert await refused(verifier, token) == "unknown_key"


async def test_idp_jwks_is_fetched_once_for_several_verifications(
    verifier: TokenVerifier, idp_signer: BuiltinIssuer, idp: FakeIdp, clock: Clock
) -> None:
    await verifier.verify(idp_signer.mint("a", [Role.OFFICER]))
    clock.now += CACHE - 1
    await verifier.verify(idp_signer.mint("b", [Role.OFFICER]))

    assert idp.fetches == 1


async def test_key_withdrawn_by_the_idp_is_refused_once_the_cache_expires(
    verifier: TokenVerifier, idp_signer: BuiltinIssuer, idp: FakeIdp, clock: Clock
) -> None:
    await verifier.verify(idp_signer.mint("a", [Role.OFFICER]))
    idp.keys = []
    clock.now += CACHE + 1

    assert await refused(verifier, idp_signer.mint("a", [Role.OFFICER])) == "unknown_key"
    assert idp.fetches == 2


async def test_rotated_key_is_accepted_after_one_refresh(
    verifier: TokenVerifier,
    idp_signer: BuiltinIssuer,
    rotated_signer: BuiltinIssuer,
    idp: FakeIdp,
    clock: Clock,
) -> None:
    await verifier.verify(idp_signer.mint("a", [Role.OFFICER]))
    idp.keys.append(rotated_signer.jwk)
    clock.now += MIN_REFRESH + 1

    principal = await verifier.verify(rotated_signer.mint("b", [Role.OFFICER]))

    assert principal.subject == "b"
    assert idp.fetches == 2


async def test_flood_of_unknown_kids_does_not_refetch_within_the_refresh_interval(
    verifier: TokenVerifier,
    idp_signer: BuiltinIssuer,
    rotated_signer: BuiltinIssuer,
    idp: FakeIdp,
    clock: Clock,
) -> None:
    await verifier.verify(idp_signer.mint("a", [Role.OFFICER]))
    for _ in range(20):
        clock.now += 1
        assert await refused(verifier, rotated_signer.mint("x", [Role.OFFICER])) == "unknown_key"
    assert idp.fetches == 1

    clock.now += MIN_REFRESH
    assert await refused(verifier, rotated_signer.mint("x", [Role.OFFICER])) == "unknown_key"
    assert idp.fetches == 2


def _connection_refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _server_error(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="maintenance")


def _not_json(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<html>login</html>")


def _not_a_jwks(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=["not", "a", "jwks"])


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(_connection_refused, id="connection-refused"),
        pytest.param(_server_error, id="http-503"),
        pytest.param(_not_json, id="not-json"),
        pytest.param(_not_a_jwks, id="not-a-jwks"),
    ],
)
async def test_unusable_idp_jwks_is_refused_as_jwks_unavailable(
    handler: Callable[[httpx.Request], httpx.Response], idp_signer: BuiltinIssuer
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        verifier = TokenVerifier(
            [TrustedIssuer(IDP, IDP_AUDIENCE, RemoteJwks(IDP_JWKS_URL, client))]
        )

        assert await refused(verifier, idp_signer.mint("a", [Role.OFFICER])) == "jwks_unavailable"


async def test_token_not_yet_valid_by_less_than_the_leeway_is_accepted(
    verifier: TokenVerifier, builtin: BuiltinIssuer
) -> None:
    nbf = int(time.time()) + 20  # clock skew within the 30 s leeway
    token = builtin.mint("a", [Role.OFFICER], extra={"nbf": nbf, "iat": nbf})

    assert (await verifier.verify(token)).subject == "a"


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        pytest.param({"roles": ["office", "root", "admin"]}, {Role.OFFICE}, id="unknown-dropped"),
        pytest.param({"roles": ["officer", 7, None]}, {Role.OFFICER}, id="non-strings-dropped"),
        pytest.param({"roles": "archivist"}, {Role.ARCHIVIST}, id="single-string"),
        pytest.param({}, set(), id="missing"),
    ],
)
def test_principal_keeps_only_known_roles(claims: dict[str, Any], roles: set[Role]) -> None:
    principal = Principal.from_claims({"sub": "s", "iss": "i", **claims})

    assert principal.roles == roles


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({}, id="missing"),
        pytest.param({"clearance": "ultra"}, id="unknown"),
        pytest.param({"clearance": "SECRET"}, id="wrong-case"),
        pytest.param({"clearance": 4}, id="not-a-string"),
    ],
)
def test_principal_without_a_known_clearance_is_public(claims: dict[str, Any]) -> None:
    principal = Principal.from_claims({"sub": "s", "iss": "i", **claims})

    assert principal.clearance is Clearance.PUBLIC


def test_principal_takes_a_known_clearance_and_section() -> None:
    principal = Principal.from_claims(
        {"sub": "s", "iss": "i", "clearance": "confidential", "section": "JC2"}
    )

    assert principal.clearance is Clearance.CONFIDENTIAL
    assert principal.section == "JC2"


LOWEST_FIRST = [
    Clearance.PUBLIC,
    Clearance.INTERNAL,
    Clearance.SECRET,
    Clearance.CONFIDENTIAL,
    Clearance.TOP_SECRET,
]


@pytest.mark.parametrize("holder", LOWEST_FIRST)
def test_clearance_allows_its_own_level_and_those_below_only(holder: Clearance) -> None:
    rank = LOWEST_FIRST.index(holder)

    allowed = {level for level in LOWEST_FIRST if holder.allows(level)}

    assert allowed == set(LOWEST_FIRST[: rank + 1])


async def test_a_burst_of_requests_on_a_cold_cache_fetches_the_jwks_once(
    idp_signer: BuiltinIssuer,
) -> None:
    fetches = 0

    async def slow_idp(_request: httpx.Request) -> httpx.Response:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.05)  # the others arrive while this fetch is under way
        return httpx.Response(200, json={"keys": [idp_signer.jwk]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow_idp)) as client:
        verifier = TokenVerifier(
            [TrustedIssuer(IDP, IDP_AUDIENCE, RemoteJwks(IDP_JWKS_URL, client))]
        )
        token = idp_signer.mint("platform", [Role.INTEGRATION])
        principals = await asyncio.gather(*(verifier.verify(token) for _ in range(20)))

    assert {p.subject for p in principals} == {"platform"}
    assert fetches == 1


@pytest.mark.parametrize(
    "claims",
    [{"roles": 7}, {"roles": {"office": True}}, {"clearance": ["secret"]}, {"clearance": 3}],
    ids=["roles-number", "roles-object", "clearance-list", "clearance-number"],
)
async def test_odd_claims_in_a_signed_token_grant_nothing(
    verifier: TokenVerifier, builtin: BuiltinIssuer, claims: dict[str, Any]
) -> None:
    token = builtin.mint("odd", [Role.OFFICE], extra=claims)

    principal = await verifier.verify(token)

    assert principal.clearance is Clearance.PUBLIC
    assert principal.roles <= {Role.OFFICE}
    if "roles" in claims:
        assert principal.roles == frozenset()
