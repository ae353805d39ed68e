from __future__ import annotations

import pytest

from opensts.credentials.at_rest import Secret, SecretBox, SecretBoxError


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(SecretBox.generate_key())


def test_round_trip(box: SecretBox) -> None:
    blob = box.seal(b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", context=b"access-key:AKIAX")
    assert b"wJalr" not in blob
    assert (
        box.open(blob, context=b"access-key:AKIAX") == b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    )


def test_empty_plaintext(box: SecretBox) -> None:
    assert box.open(box.seal(b"", context=b"c"), context=b"c") == b""


def test_nonces_differ(box: SecretBox) -> None:
    assert box.seal(b"same", context=b"c") != box.seal(b"same", context=b"c")


def test_wrong_context_fails(box: SecretBox) -> None:
    blob = box.seal(b"secret", context=b"access-key:AKIA1")
    with pytest.raises(SecretBoxError):
        box.open(blob, context=b"access-key:AKIA2")


def test_wrong_master_key_fails(box: SecretBox) -> None:
    blob = box.seal(b"secret", context=b"c")
    with pytest.raises(SecretBoxError):
        SecretBox(SecretBox.generate_key()).open(blob, context=b"c")


def test_every_bit_flip_fails(box: SecretBox) -> None:
    blob = box.seal(b"secret value", context=b"c")
    for index in range(len(blob)):
        for bit in range(8):
            tampered = bytearray(blob)
            tampered[index] ^= 1 << bit
            with pytest.raises(SecretBoxError):
                box.open(bytes(tampered), context=b"c")


@pytest.mark.parametrize("cut", [0, 1, 12, 28, -1])
def test_truncation_fails(box: SecretBox, cut: int) -> None:
    blob = box.seal(b"secret", context=b"c")
    with pytest.raises(SecretBoxError):
        box.open(blob[:cut], context=b"c")


def test_error_is_opaque_internal_failure(box: SecretBox) -> None:
    with pytest.raises(SecretBoxError) as caught:
        box.open(b"\x01" + bytes(40), context=b"c")
    assert caught.value.status == 500
    assert caught.value.code == "InternalFailure"


@pytest.mark.parametrize("key", [b"", b"x" * 16, b"x" * 31, b"x" * 33])
def test_master_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError):
        SecretBox(key)


def test_box_repr_hides_key() -> None:
    key = b"K" * 32
    assert "KKKK" not in repr(SecretBox(key))


def test_secret_masks_everywhere() -> None:
    secret = Secret("wJalrXUtnFEMI")
    assert "wJalr" not in repr(secret)
    assert "wJalr" not in str(secret)
    assert "wJalr" not in f"{secret}"
    assert "wJalr" not in f"{secret!r}"
    assert "wJalr" not in "%s" % (secret,)  # noqa: UP031 - logging-style formatting
    assert "wJalr" not in repr([secret])
    assert secret.reveal() == "wJalrXUtnFEMI"


def test_secret_equality_and_hashing() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    with pytest.raises(TypeError):
        hash(Secret("a"))
    assert not Secret("")
    assert len(Secret("abc")) == 3
