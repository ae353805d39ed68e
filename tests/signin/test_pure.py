"""The pure pieces: PKCE, DPoP proof checks, loopback rules, back-off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from opensts.cli.login import dpop_proof, pkce_pair
from opensts.services.signin import clients, rfc7636, rfc9449, throttle

URL = "http://127.0.0.1:8777/v1/token"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_pkce_rfc7636_appendix_b_vector_and_aliases() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert rfc7636.verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert rfc7636.normalize_method("SHA-256") == rfc7636.normalize_method("S256") == "S256"
    assert rfc7636.normalize_method("plain") is None
    good, challenge = pkce_pair()
    assert rfc7636.verify(good, challenge)
    assert not rfc7636.verify(verifier, challenge)
    assert not rfc7636.verify("short", rfc7636.s256("short"))


def test_dpop_accepts_botocore_shape_and_rejects_tampering() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    proof = dpop_proof(key, URL, NOW)
    checked = rfc9449.verify_proof(proof, method="POST", url=URL + "?x=1", now=NOW)
    assert len(checked.jkt) == 43
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(proof, method="GET", url=URL, now=NOW)
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(proof, method="POST", url="http://evil/v1/token", now=NOW)
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(proof, method="POST", url=URL, now=NOW + timedelta(minutes=6))
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(proof, method="POST", url=URL, now=NOW - timedelta(minutes=2))
    header, payload, _signature = proof.split(".")
    other = dpop_proof(ec.generate_private_key(ec.SECP256R1()), URL, NOW).split(".")
    with pytest.raises(rfc9449.InvalidProof):  # another key's signature
        rfc9449.verify_proof(f"{header}.{payload}.{other[2]}", method="POST", url=URL, now=NOW)
    with pytest.raises(rfc9449.InvalidProof):  # alg none
        unsigned = jwt.encode({"htm": "POST", "htu": URL, "iat": 1, "jti": "x"}, None,
                              algorithm="none", headers={"typ": "dpop+jwt"})
        rfc9449.verify_proof(unsigned, method="POST", url=URL, now=NOW)
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(None, method="POST", url=URL, now=NOW)


def test_dpop_rejects_a_private_key_in_the_header() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    proof = jwt.encode({"htm": "POST", "htu": URL, "iat": int(NOW.timestamp()), "jti": "1"},
                       key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})
    with pytest.raises(rfc9449.InvalidProof):
        rfc9449.verify_proof(proof, method="POST", url=URL, now=NOW)


@pytest.mark.parametrize(("uri", "ok"), [
    ("http://127.0.0.1:5555/oauth/callback", True),
    ("http://[::1]:5555/oauth/callback", True),
    ("http://127.0.0.2:5555/oauth/callback", True),
    ("http://localhost:5555/oauth/callback", False),
    ("https://127.0.0.1:5555/oauth/callback", False),
    ("http://127.0.0.1/oauth/callback", False),
    ("http://127.0.0.1:5555/oauth/callback#frag", False),
    ("http://user@127.0.0.1:5555/oauth/callback", False),
    ("http://127.0.0.1.evil.com:5555/oauth/callback", False),
])
def test_loopback_redirects(uri: str, ok: bool) -> None:
    assert clients.redirect_uri_allowed(clients.SAME_DEVICE, uri, "http://s:1") is ok


def test_back_off_grows_and_is_forgotten() -> None:
    policy = throttle.USER
    assert throttle.retry_after(policy, 5, NOW, NOW) == 2
    assert throttle.retry_after(policy, 4, NOW, NOW) == 0
    assert throttle.retry_after(policy, 8, NOW, NOW) == 16
    assert throttle.retry_after(policy, 40, NOW, NOW) == policy.max_seconds
    assert throttle.retry_after(policy, 40, NOW, NOW + timedelta(hours=2)) == 0


def test_credentials_stamps_follow_the_password_hash() -> None:
    from argon2 import PasswordHasher

    from opensts.services.signin import stamps

    hasher = PasswordHasher()
    first, again = hasher.hash("Same-Password-1"), hasher.hash("Same-Password-1")
    stamp = stamps.stamp(b"k" * 32, "AIDAUSER", first)
    assert stamps.matches(stamp, stamps.stamp(b"k" * 32, "AIDAUSER", first))
    # The same password set again is a new salted hash: a new stamp.
    assert not stamps.matches(stamp, stamps.stamp(b"k" * 32, "AIDAUSER", again))
    assert not stamps.matches(stamp, stamps.stamp(b"k" * 32, "AIDAOTHER", first))
    assert not stamps.matches(stamp, stamps.stamp(b"x" * 32, "AIDAUSER", first))
    assert not stamps.matches(None, stamp) and not stamps.matches("", stamp)
    assert first not in stamp and len(stamp) == 32
