"""services/issuer.py on a real runtime: strict verification of its own tokens against
forged ones (alg none, HS256 with the public key, alg/key mismatch, unknown kid, a foreign
key, expiry, audience, issuer), and key rotation and retirement with ``opensts keys``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from opensts.config import Settings
from opensts.federation.errors import ExpiredTokenException, InvalidIdentityToken
from opensts.services import issuer
from opensts.web.app import build_runtime
from tests.conftest import BIN

PATH = "cognito-identity"
PUBLIC = "https://sts.example.test"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Any]:
    settings = Settings.from_env(tmp_path / "data", create=True, env={
        "OPENSTS_PUBLIC_URL": PUBLIC, "OPENSTS_KEY_REFRESH_SECONDS": "0"})
    built, _ = build_runtime(settings)
    yield built
    built.audit.close()
    built.store.close()


def _claims(**extra: Any) -> dict[str, Any]:
    return {"aud": "pool", "sub": "someone", "exp": int(time.time()) + 300, **extra}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + (_b64(sign(head.encode())) if sign else "")


def _keys(data_dir: Path, *args: str) -> str:
    done = subprocess.run([str(BIN / "opensts"), "keys", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_own_tokens_verify_strictly(runtime: Any) -> None:
    for algorithm in ("RS256", "ES384"):
        token = issuer.sign_token(runtime, issuer_path=PATH, claims=_claims(),
                                  algorithm=algorithm)
        claims = issuer.verify_own_token(runtime, token, issuer_path=PATH, audience="pool")
        assert claims["iss"] == f"{PUBLIC}/{PATH}" and claims["sub"] == "someone"
        with pytest.raises(InvalidIdentityToken):
            issuer.verify_own_token(runtime, token, issuer_path=PATH, audience="other")
        with pytest.raises(InvalidIdentityToken):
            issuer.verify_own_token(runtime, token, issuer_path="oidc/123456789012",
                                    audience="pool")
        later = datetime.now(UTC) + timedelta(seconds=301)
        with pytest.raises(ExpiredTokenException):
            issuer.verify_own_token(runtime, token, issuer_path=PATH, audience="pool", now=later)
    with pytest.raises(InvalidIdentityToken):  # no exp
        issuer.verify_own_token(runtime, issuer.sign_token(
            runtime, issuer_path=PATH, claims={"aud": "pool"}), issuer_path=PATH,
            audience="pool")


def test_forged_tokens_are_refused(runtime: Any) -> None:
    ring = issuer.ring(runtime, datetime.now(UTC))
    rsa_key, ec_key = ring.primary("RS256"), ring.primary("ES384")
    claims = {**_claims(), "iss": f"{PUBLIC}/{PATH}", "iat": int(time.time())}
    public_pem = rsa_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {
        "alg none": _forge({"alg": "none", "kid": rsa_key.kid}, claims),
        "HS256 keyed with the public key": _forge(
            {"alg": "HS256", "kid": rsa_key.kid}, claims,
            lambda data: hmac.new(public_pem, data, hashlib.sha256).digest()),
        "ES384 header on the RSA key": jwt.encode(
            claims, ec_key.private_key, algorithm="ES384", headers={"kid": rsa_key.kid}),
        "unknown kid": jwt.encode(claims, rsa_key.private_key, algorithm="RS256",
                                  headers={"kid": "not-a-key"}),
        "no kid": jwt.encode(claims, rsa_key.private_key, algorithm="RS256"),
        "foreign key, our kid": jwt.encode(claims, foreign, algorithm="RS256",
                                           headers={"kid": rsa_key.kid}),
        "RS512 (not offered)": jwt.encode(claims, rsa_key.private_key, algorithm="RS512",
                                          headers={"kid": rsa_key.kid}),
        "tampered payload": ".".join([
            (parts := jwt.encode(claims, rsa_key.private_key, algorithm="RS256",
                                 headers={"kid": rsa_key.kid}).split("."))[0],
            _b64(json.dumps({**claims, "sub": "admin"}).encode()), parts[2]]),
    }
    for name, token in forged.items():
        with pytest.raises(InvalidIdentityToken):
            issuer.verify_own_token(runtime, token, issuer_path=PATH, audience="pool")
            pytest.fail(name)


def test_rotation_keeps_old_tokens_until_retired(runtime: Any) -> None:
    data_dir = runtime.settings.data_dir
    old = issuer.sign_token(runtime, issuer_path=PATH, claims=_claims(), algorithm="ES384")
    old_kid = jwt.get_unverified_header(old)["kid"]
    listed = _keys(data_dir, "list", "--kind", "identity-token")
    assert old_kid in listed and "ES384" in listed and "RS256" in listed
    with pytest.raises(AssertionError):  # the primary cannot be retired
        _keys(data_dir, "retire", old_kid)
    out = _keys(data_dir, "rotate", "--kind", "identity-token", "--algorithm", "ES384")
    new_kid = out.split()[1]
    new = issuer.sign_token(runtime, issuer_path=PATH, claims=_claims(), algorithm="ES384")
    assert jwt.get_unverified_header(new)["kid"] == new_kid != old_kid
    published = {k["kid"] for k in issuer.jwks(runtime)["keys"]}
    assert {old_kid, new_kid} <= published
    assert issuer.verify_own_token(runtime, old, issuer_path=PATH, audience="pool")
    _keys(data_dir, "retire", old_kid)
    assert old_kid not in {k["kid"] for k in issuer.jwks(runtime)["keys"]}
    with pytest.raises(InvalidIdentityToken):
        issuer.verify_own_token(runtime, old, issuer_path=PATH, audience="pool")
    assert issuer.verify_own_token(runtime, new, issuer_path=PATH, audience="pool")


def test_keys_are_sealed_at_rest(runtime: Any) -> None:
    rows = runtime.store.list_identity_token_keys()
    assert {r.algorithm for r in rows if r.primary} == {"RS256", "ES384"}
    ring = issuer.ring(runtime, datetime.now(UTC))
    for row in rows:
        der = ring.get(row.key_id).private_key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        assert der not in row.sealed_key and der[16:48] not in row.sealed_key
    with pytest.raises(Exception):  # noqa: B017 - a blob moved to another row does not open
        runtime.secret_box.open(rows[0].sealed_key,
                                context=issuer.CONTEXT + rows[1].key_id.encode())
