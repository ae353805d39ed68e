from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensts.credentials.ids import (
    account_from_access_key_id,
    new_access_key_id,
    new_secret_access_key,
    new_unique_id,
)

accounts = st.integers(min_value=0, max_value=999_999_999_999).map(lambda n: f"{n:012d}")


def test_decodes_published_example() -> None:
    # Key id from the public research on the format (Tal Beery; awsteele.com).
    assert account_from_access_key_id("ASIAY34FZKBOKMUTVV7A") == "609629065308"


@given(accounts, st.sampled_from(["AKIA", "ASIA"]))
def test_account_round_trip(account: str, prefix: str) -> None:
    key_id = new_access_key_id(prefix, account)  # type: ignore[arg-type]
    assert len(key_id) == 20
    assert key_id.startswith(prefix)
    assert re.fullmatch(r"[A-Z]{4}[A-Z2-7]{16}", key_id)
    assert account_from_access_key_id(key_id) == account


def test_published_account_encodes_to_published_prefix() -> None:
    key_id = new_access_key_id("ASIA", "609629065308")
    assert key_id.startswith("ASIAY34FZKBO")


def test_key_ids_are_random() -> None:
    ids = {new_access_key_id("AKIA", "123456789012") for _ in range(200)}
    assert len(ids) == 200


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ASIA",
        "ASIAY34FZKBOKMUTVV7",  # 19 chars
        "ASIAY34FZKBOKMUTVV7AA",  # 21 chars
        "asiay34fzkbokmutvv7a",  # lower case
        "ASIAY34FZKBOKMUTVV1A",  # '1' is not base32
        "AS1AY34FZKBOKMUTVV7A",
        "ASIAY34FZKBOKMUTVV7=",
    ],
)
def test_undecodable_key_ids(bad: str) -> None:
    assert account_from_access_key_id(bad) is None


def test_old_generation_key_has_no_account() -> None:
    # First payload bit 0: base32 'A'..'P' as the fifth character.
    assert account_from_access_key_id("AKIAIOSFODNN7EXAMPLE") is None


def test_out_of_range_account_field() -> None:
    head = (1 << 47) | (((1 << 40) - 1) << 7)
    key_id = "AKIA" + base64.b32encode(head.to_bytes(6, "big") + bytes(4)).decode()
    assert account_from_access_key_id(key_id) is None


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", ""])
def test_new_access_key_id_rejects_bad_account(account: str) -> None:
    with pytest.raises(ValueError):
        new_access_key_id("AKIA", account)


def test_new_access_key_id_rejects_bad_prefix() -> None:
    with pytest.raises(ValueError):
        new_access_key_id("AIDA", "123456789012")  # type: ignore[arg-type]


def test_secret_access_key_shape() -> None:
    secrets_seen = {new_secret_access_key() for _ in range(100)}
    assert len(secrets_seen) == 100
    for secret in secrets_seen:
        assert len(secret) == 40
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)


@pytest.mark.parametrize("prefix", ["AIDA", "AROA", "ANPA", "AGPA", "ANVA", "AIPA"])
def test_unique_id_shape(prefix: str) -> None:
    ids = {new_unique_id(prefix) for _ in range(50)}
    assert len(ids) == 50
    for unique_id in ids:
        assert re.fullmatch(prefix + r"[A-Z2-7]{17}", unique_id)


@pytest.mark.parametrize("prefix", ["", "AID", "aida", "BIDA", "AIDAX"])
def test_unique_id_rejects_bad_prefix(prefix: str) -> None:
    with pytest.raises(ValueError):
        new_unique_id(prefix)
