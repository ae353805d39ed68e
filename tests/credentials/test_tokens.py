"""Session tokens: round trips, rotation, and attacks (tampering, truncation, key confusion)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.credentials.errors import InvalidToken
from opensts.credentials.ids import new_access_key_id, new_secret_access_key, new_unique_id
from opensts.credentials.tokens import MAX_TOKEN_CHARS, KeyRing


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _forge(key_id: str, key: bytes, plaintext: bytes, version: int = 1) -> str:
    """Build a token by hand with a real key: proves the checks after decryption matter."""
    header = bytes([version, len(key_id)]) + key_id.encode()
    nonce = bytes(12)
    return _b64(header + nonce + AESGCM(key).encrypt(nonce, plaintext, header))


@pytest.fixture
def keys() -> list[tuple[str, bytes]]:
    return [KeyRing.generate_key() for _ in range(3)]


@pytest.fixture
def ring(keys: list[tuple[str, bytes]]) -> KeyRing:
    return KeyRing(keys[:1], primary=keys[0][0])


def assume_role_claims() -> dict[str, Any]:
    """What the STS service seals for a typical AssumeRole session."""
    account = "123456789012"
    role_id = new_unique_id("AROA")
    return {
        "type": "AssumedRole",
        "acct": account,
        "arn": f"arn:aws:sts::{account}:assumed-role/deploy-role/ci-session-1234",
        "pid": f"{role_id}:ci-session-1234",
        "role_arn": f"arn:aws:iam::{account}:role/deploy-role",
        "role_id": role_id,
        "role_name": "deploy-role",
        "sn": "ci-session-1234",
        "op": "AssumeRole",
        "tags": {"team": "platform", "env": "prod"},
        "ttk": ["team"],
        "si": "alice",
        "akid": new_access_key_id("ASIA", account),
        "sk": new_secret_access_key(),
        "iat": 1795000000,
        "exp": 1795003600,
    }


def test_round_trip(ring: KeyRing) -> None:
    claims = assume_role_claims()
    assert ring.unseal(ring.seal(claims)) == claims


def test_typical_assume_role_token_is_small(ring: KeyRing) -> None:
    token = ring.seal(assume_role_claims())
    assert len(token) < 1500


def test_token_is_url_safe_and_unpadded(ring: KeyRing) -> None:
    token = ring.seal(assume_role_claims())
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_secret_not_visible_in_token(ring: KeyRing) -> None:
    claims = assume_role_claims()
    raw = _unb64(ring.seal(claims))
    assert claims["sk"].encode() not in raw
    assert b"deploy-role" not in raw


def test_tokens_for_same_claims_differ(ring: KeyRing) -> None:
    claims = assume_role_claims()
    assert ring.seal(claims) != ring.seal(claims)


json_values = st.recursive(
    # JSON as RFC 8259 interoperates (orjson): 64-bit integers, finite floats.
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=8))
def test_round_trip_any_json_claims(claims: dict[str, Any]) -> None:
    key_id, key = "k1", bytes(range(32))
    ring = KeyRing([(key_id, key)], primary=key_id)
    assert ring.unseal(ring.seal(claims)) == claims


def test_rotation_keeps_old_tokens_valid(keys: list[tuple[str, bytes]]) -> None:
    old_ring = KeyRing(keys[:1], primary=keys[0][0])
    old_token = old_ring.seal({"n": 1})
    rotated = KeyRing(keys[:2], primary=keys[1][0])
    new_token = rotated.seal({"n": 2})
    assert rotated.unseal(old_token) == {"n": 1}
    assert rotated.unseal(new_token) == {"n": 2}
    # The new primary is named in the token's header.
    assert _unb64(new_token)[2 : 2 + len(keys[1][0])] == keys[1][0].encode()
    # Once the old key is retired, its tokens die; the old ring never knew the new key.
    retired = KeyRing(keys[1:2], primary=keys[1][0])
    with pytest.raises(InvalidToken):
        retired.unseal(old_token)
    with pytest.raises(InvalidToken):
        old_ring.unseal(new_token)


def test_swapped_key_ring_rejects(keys: list[tuple[str, bytes]]) -> None:
    token = KeyRing(keys[:1], primary=keys[0][0]).seal({"a": 1})
    # Same key id, different key material: another deployment's ring.
    other = KeyRing([(keys[0][0], keys[1][1])], primary=keys[0][0])
    with pytest.raises(InvalidToken):
        other.unseal(token)


def test_replay_under_another_key_id_rejects(keys: list[tuple[str, bytes]]) -> None:
    """Rewriting the header to name another key in the ring must fail (header is AAD)."""
    (id_a, key_a), (id_b, key_b) = keys[0], keys[1]
    ring = KeyRing([(id_a, key_a), (id_b, key_b)], primary=id_a)
    raw = _unb64(ring.seal({"a": 1}))
    assert len(id_a) == len(id_b)
    swapped = raw[:2] + id_b.encode() + raw[2 + len(id_a) :]
    with pytest.raises(InvalidToken):
        ring.unseal(_b64(swapped))


def test_every_bit_flip_rejected(ring: KeyRing) -> None:
    raw = _unb64(ring.seal({"akid": "ASIAEXAMPLE", "exp": 1}))
    for index in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[index] ^= 1 << bit
            with pytest.raises(InvalidToken):
                ring.unseal(_b64(bytes(tampered)))


def test_every_character_substitution_rejected(ring: KeyRing) -> None:
    token = ring.seal({"a": 1})
    # The last character may carry unused low bits of base64; every other must matter.
    for index in range(len(token) - 1):
        replacement = "A" if token[index] != "A" else "B"
        with pytest.raises(InvalidToken):
            ring.unseal(token[:index] + replacement + token[index + 1 :])


def test_every_truncation_rejected(ring: KeyRing) -> None:
    token = ring.seal({"a": 1})
    for cut in range(len(token)):
        with pytest.raises(InvalidToken):
            ring.unseal(token[:cut])


def test_appended_bytes_rejected(ring: KeyRing) -> None:
    raw = _unb64(ring.seal({"a": 1}))
    with pytest.raises(InvalidToken):
        ring.unseal(_b64(raw + b"\x00"))


def test_unknown_key_id_rejected(ring: KeyRing) -> None:
    assert "zz" not in ring.key_ids
    with pytest.raises(InvalidToken):
        ring.unseal(_forge("zz", bytes(32), zlib.compress(b"{}")))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "A",
        "AAAA",
        "not a token",
        "IQoJb3JpZ2luX2VjEPT//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",  # an AWS token shape
        "AQ==",
        "A" * (MAX_TOKEN_CHARS + 1),
        "\u00e9" * 10,
        "QUJD\n",
    ],
)
def test_garbage_rejected(ring: KeyRing, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        ring.unseal(garbage)


def test_non_string_rejected(ring: KeyRing) -> None:
    with pytest.raises(InvalidToken):
        ring.unseal(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        ring.unseal(None)  # type: ignore[arg-type]


def test_forged_wrong_version_rejected(keys: list[tuple[str, bytes]]) -> None:
    key_id, key = keys[0]
    ring = KeyRing([(key_id, key)], primary=key_id)
    assert ring.unseal(_forge(key_id, key, zlib.compress(b'{"a":1}'))) == {"a": 1}
    assert ring.unseal(_forge(key_id, key, b'{"a":1}', version=2)) == {"a": 1}  # plain
    with pytest.raises(InvalidToken):
        ring.unseal(_forge(key_id, key, zlib.compress(b'{"a":1}'), version=2))
    with pytest.raises(InvalidToken):
        ring.unseal(_forge(key_id, key, b'{"a":1}', version=3))


def test_small_claims_plain_large_compressed(ring: KeyRing) -> None:
    small = {"a": "x" * 100}
    large = {"a": "x" * 4000}
    assert _unb64(ring.seal(small))[0] == 2
    assert _unb64(ring.seal(large))[0] == 1
    assert len(ring.seal(large)) < 1000  # compressed
    assert ring.unseal(ring.seal(small)) == small
    assert ring.unseal(ring.seal(large)) == large


@pytest.mark.parametrize(
    "plaintext",
    [
        zlib.compress(b"[1,2]"),  # JSON, but not an object
        zlib.compress(b"not json"),
        zlib.compress(b"\xff\xfe"),  # not UTF-8
        b"not zlib at all",
        zlib.compress(b'{"a":1}')[:-2],  # truncated stream
        zlib.compress(b'{"a":1}') + b"trailing",
    ],
)
def test_authentic_but_malformed_payload_rejected(
    keys: list[tuple[str, bytes]], plaintext: bytes
) -> None:
    key_id, key = keys[0]
    ring = KeyRing([(key_id, key)], primary=key_id)
    with pytest.raises(InvalidToken):
        ring.unseal(_forge(key_id, key, plaintext))


def test_decompression_bomb_rejected(keys: list[tuple[str, bytes]]) -> None:
    key_id, key = keys[0]
    ring = KeyRing([(key_id, key)], primary=key_id)
    bomb = zlib.compress(b'{"a":"' + b"x" * (8 << 20) + b'"}', 9)
    with pytest.raises(InvalidToken):
        ring.unseal(_forge(key_id, key, bomb))


def test_invalid_token_is_opaque(ring: KeyRing) -> None:
    with pytest.raises(InvalidToken) as first:
        ring.unseal("AAAA")
    with pytest.raises(InvalidToken) as second:
        ring.unseal(ring.seal({"a": 1})[:-5])
    assert str(first.value) == str(second.value)
    assert first.value.code == "InvalidClientTokenId"
    assert first.value.status == 403
    assert first.value.__cause__ is None and second.value.__cause__ is None


def test_key_ring_validation(keys: list[tuple[str, bytes]]) -> None:
    key_id, key = keys[0]
    with pytest.raises(ValueError):
        KeyRing([(key_id, key)], primary="missing")
    with pytest.raises(ValueError):
        KeyRing([(key_id, key), (key_id, keys[1][1])], primary=key_id)
    with pytest.raises(ValueError):
        KeyRing([(key_id, key[:16])], primary=key_id)
    with pytest.raises(ValueError):
        KeyRing([("bad id!", key)], primary="bad id!")
    with pytest.raises(ValueError):
        KeyRing([], primary=key_id)


def test_key_ring_repr_hides_material(keys: list[tuple[str, bytes]]) -> None:
    ring = KeyRing(keys, primary=keys[0][0])
    text = repr(ring)
    for _, material in keys:
        assert material.hex() not in text and repr(material) not in text
    assert ring.primary == keys[0][0]
    assert ring.key_ids == tuple(k for k, _ in keys)


def test_generate_key_shape() -> None:
    key_id, key = KeyRing.generate_key()
    assert len(key) == 32
    assert KeyRing([(key_id, key)], primary=key_id).primary == key_id
    assert KeyRing.generate_key() != (key_id, key)


def test_seal_rejects_non_json(ring: KeyRing) -> None:
    with pytest.raises(TypeError):
        ring.seal({"when": object()})


def test_claims_json_is_compact(ring: KeyRing, keys: list[tuple[str, bytes]]) -> None:
    """Compact JSON: a small claim set's plaintext is the compact encoding (version 2)."""
    key_id, key = keys[0]
    raw = _unb64(ring.seal({"a": [1, 2], "b": "x"}))
    header_len = 2 + len(key_id)
    nonce = raw[header_len : header_len + 12]
    plaintext = AESGCM(key).decrypt(nonce, raw[header_len + 12 :], raw[:header_len])
    assert raw[0] == 2
    assert plaintext == json.dumps({"a": [1, 2], "b": "x"}, separators=(",", ":")).encode()
