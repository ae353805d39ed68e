"""AssumeRoleWithWebIdentity token checks against tokens from a real oidc-provider."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from opensts.errors import InvalidParameterValue, ValidationError
from opensts.federation.errors import (
    ExpiredTokenException,
    IDPCommunicationError,
    InvalidIdentityToken,
)
from opensts.federation.oidc import (
    JwksCache,
    OidcProvider,
    WebIdentity,
    provider_arn,
    verify_web_identity_token,
)

from .oidc_peer import OidcPeer

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def provider(oidc_peer: OidcPeer) -> OidcProvider:
    return OidcProvider(
        oidc_peer.issuer,
        provider_arn(ACCOUNT, oidc_peer.issuer),
        ("sts.amazonaws.com", "second-client"),
    )


@pytest.fixture
def cache(oidc_peer: OidcPeer) -> Iterator[JwksCache]:
    jwks = JwksCache(ca_bundle=str(oidc_peer.ca_file))
    yield jwks
    jwks.close()


def verify(token: str, provider: OidcProvider, cache: JwksCache, **kw: Any) -> WebIdentity:
    kw.setdefault("now", dt.datetime.now(dt.UTC))
    return verify_web_identity_token(
        token,
        providers=lambda iss: provider if iss == provider.url else None,
        jwks=cache,
        **kw,
    )


def forge(peer: OidcPeer, claims: dict[str, Any], *, alg: str = "RS256", **header: Any) -> str:
    """A token signed with the peer's own key (which its JWKS publishes)."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    body = {"iss": peer.issuer, "sub": "forged", "aud": "sts.amazonaws.com", "iat": now}
    body["exp"] = now + 300
    body.update(claims)
    key = peer.rsa_key if alg.startswith("RS") else peer.ec_key
    kid = header.pop("kid", "rsa-1" if alg.startswith("RS") else "ec-1")
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid, **header})


# --- accepted ------------------------------------------------------------------------------


def test_rs256_access_token_with_aws_tags(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    ident = verify(oidc_peer.token("ci-runner"), provider, cache)
    assert ident.issuer == oidc_peer.issuer
    assert ident.provider_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/" + oidc_peer.issuer[8:]
    assert ident.subject == "ci-runner"
    assert ident.audience == "sts.amazonaws.com"
    assert ident.principal_tags == {"Project": "Automation", "CostCenter": "987654"}
    assert ident.transitive_tag_keys == ("Project",)
    assert ident.source_identity == "Admin"
    assert ident.claims["client_id"] == "ci-runner"
    assert ident.expires_at > dt.datetime.now(dt.UTC)
    prefix = oidc_peer.issuer.removeprefix("https://")
    keys = ident.condition_keys()
    assert keys[f"{prefix}:aud"] == "sts.amazonaws.com"
    assert keys[f"{prefix}:sub"] == "ci-runner"
    assert keys["aws:FederatedProvider"] == provider.arn


def test_es256_access_token(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    token = oidc_peer.token("ec-runner")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert verify(token, provider, cache).subject == "ec-runner"


def test_keys_are_cached(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    for _ in range(3):
        verify(oidc_peer.token("ci-runner"), provider, cache)
    assert cache.fetch_count == 1


def test_azp_and_amr_and_list_audience(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    token = forge(
        oidc_peer,
        {"aud": ["unrelated", "second-client"], "azp": "web-app", "amr": ["pwd", "mfa"]},
    )
    ident = verify(token, provider, cache)
    assert ident.audience == "second-client"
    keys = ident.condition_keys()
    prefix = provider.key_prefix
    assert keys[f"{prefix}:azp"] == "web-app"
    assert keys[f"{prefix}:amr"] == ["pwd", "mfa"]
    # AWS also accepts a token whose azp (not aud) is the registered client ID.
    ident = verify(forge(oidc_peer, {"aud": "x", "azp": "second-client"}), provider, cache)
    assert ident.audience == "second-client"


def test_roles_claim(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
    ident = verify(forge(oidc_peer, {"https://aws.amazon.com/roles": role}), provider, cache)
    assert ident.authorizes_role(role)
    assert not ident.authorizes_role(f"arn:aws:iam::{ACCOUNT}:role/Admin")
    assert verify(forge(oidc_peer, {}), provider, cache).authorizes_role(role)


# --- refused ---------------------------------------------------------------------------------


def test_wrong_audience(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    with pytest.raises(InvalidIdentityToken, match=r"^Incorrect token audience$") as info:
        verify(oidc_peer.token("other-app"), provider, cache)
    assert info.value.status == 400


def test_unregistered_issuer(oidc_peer: OidcPeer, cache: JwksCache) -> None:
    token = oidc_peer.token("ci-runner")
    with pytest.raises(InvalidIdentityToken) as info:
        verify_web_identity_token(
            token, providers=lambda iss: None, jwks=cache, now=dt.datetime.now(dt.UTC)
        )
    assert info.value.message == (
        f"No OpenIDConnect provider found in your account for {oidc_peer.issuer}"
    )


def test_trailing_slash_is_significant(oidc_peer: OidcPeer, cache: JwksCache) -> None:
    slashed = OidcProvider(oidc_peer.issuer + "/", "arn:x", ("sts.amazonaws.com",))
    with pytest.raises(InvalidIdentityToken, match="No OpenIDConnect provider found"):
        verify_web_identity_token(
            oidc_peer.token("ci-runner"),
            providers=lambda iss: slashed if iss.rstrip("/") == oidc_peer.issuer else None,
            jwks=cache,
            now=dt.datetime.now(dt.UTC),
        )


def test_expired_token(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    token = oidc_peer.token("ci-runner")
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    later = dt.datetime.fromtimestamp(exp + 10, dt.UTC)
    with pytest.raises(ExpiredTokenException) as info:
        verify(token, provider, cache, now=later)
    assert info.value.code == "ExpiredTokenException" and info.value.status == 400
    assert info.value.message == (
        f"Token expired: current date/time {exp + 10} must be before the expiration date/time{exp}"
    )


def test_issued_in_the_future_and_not_before(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    with pytest.raises(InvalidIdentityToken, match="future"):
        verify(forge(oidc_peer, {"iat": now + 3600, "exp": now + 7200}), provider, cache)
    with pytest.raises(InvalidIdentityToken, match="not valid yet"):
        verify(forge(oidc_peer, {"nbf": now + 3600}), provider, cache)
    # Within the leeway both are fine.
    verify(forge(oidc_peer, {"iat": now + 60, "nbf": now + 60}), provider, cache)


@pytest.mark.parametrize("value", [1.5e10, "9999999999", True, None])
def test_non_integer_timestamps(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache, value: Any
) -> None:
    claims: dict[str, Any] = {"exp": value}
    with pytest.raises(InvalidIdentityToken, match="integer"):
        verify(forge(oidc_peer, claims), provider, cache)


def test_missing_exp(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    token = forge(oidc_peer, {})
    claims = jwt.decode(token, options={"verify_signature": False})
    del claims["exp"]
    with pytest.raises(InvalidIdentityToken, match="no exp"):
        verify(jwt.encode(claims, oidc_peer.rsa_key, "RS256", {"kid": "rsa-1"}), provider, cache)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    good = oidc_peer.token("ci-runner")
    _, payload, _ = good.split(".")
    header = _b64url(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}.AAAA"):
        with pytest.raises(InvalidIdentityToken, match="RS256"):
            verify(token, provider, cache)


def test_hs256_signed_with_the_rsa_public_key(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    """Algorithm confusion: the public key used as an HMAC secret."""
    public_pem = oidc_peer.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = oidc_peer.token("ci-runner")
    _, payload, _ = good.split(".")
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidIdentityToken, match="RS256"):
        verify(f"{header}.{payload}.{_b64url(signature)}", provider, cache)


def test_rs256_header_on_ec_key_and_wrong_signature(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    token = forge(oidc_peer, {}, alg="RS256", kid="ec-1")
    with pytest.raises(InvalidIdentityToken, match="does not match its signing key"):
        verify(token, provider, cache)
    good = oidc_peer.token("ci-runner")
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    tampered = f"{head}.{_b64url(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(InvalidIdentityToken, match="signature is invalid"):
        verify(tampered, provider, cache)


def test_token_signed_by_an_unknown_key(
    oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": oidc_peer.issuer, "sub": "x", "aud": "sts.amazonaws.com", "exp": now + 60}
    for kid in ("rsa-1", "attacker-kid"):
        token = jwt.encode(claims, attacker, "RS256", {"kid": kid})
        with pytest.raises(InvalidIdentityToken):
            verify(token, provider, cache)
    # The unknown kid caused one early refetch; a second one inside the interval did not.
    token = jwt.encode(claims, attacker, "RS256", {"kid": "another-unknown"})
    with pytest.raises(InvalidIdentityToken, match="not found"):
        verify(token, provider, cache)
    assert cache.fetch_count == 1


def test_oversize_and_garbage(provider: OidcProvider, cache: JwksCache) -> None:
    with pytest.raises(ValidationError, match="less than or equal to 20000"):
        verify("a" * 20_001, provider, cache)
    with pytest.raises(ValidationError, match="greater than or equal to 4"):
        verify("abc", provider, cache)
    for garbage in ("not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"):
        with pytest.raises(InvalidIdentityToken):
            verify(garbage, provider, cache)


def test_bad_aws_claims(oidc_peer: OidcPeer, provider: OidcProvider, cache: JwksCache) -> None:
    tags = "https://aws.amazon.com/tags"
    with pytest.raises(InvalidParameterValue, match="transitive tag key must be included"):
        verify(
            forge(
                oidc_peer,
                {tags: {"principal_tags": {"a": ["1"]}, "transitive_tag_keys": ["b"]}},
            ),
            provider,
            cache,
        )
    with pytest.raises(InvalidIdentityToken, match="exactly one value"):
        verify(forge(oidc_peer, {tags: {"principal_tags": {"a": ["1", "2"]}}}), provider, cache)
    with pytest.raises(InvalidIdentityToken, match="Source Identity"):
        verify(
            forge(oidc_peer, {"https://aws.amazon.com/source_identity": "aws:root"}),
            provider,
            cache,
        )


def test_untrusted_tls_is_a_communication_error(
    oidc_peer: OidcPeer, provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENSTS_CA_BUNDLE", raising=False)
    untrusting = JwksCache()
    try:
        with pytest.raises(IDPCommunicationError):
            verify(oidc_peer.token("ci-runner"), provider, untrusting)
    finally:
        untrusting.close()


def test_ca_bundle_from_environment(
    oidc_peer: OidcPeer, provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSTS_CA_BUNDLE", str(oidc_peer.ca_file))
    from_env = JwksCache()
    try:
        assert verify(oidc_peer.token("ci-runner"), provider, from_env).subject == "ci-runner"
    finally:
        from_env.close()
