"""Bucket-name and key rules (User Guide, "General purpose bucket naming rules")."""

from __future__ import annotations

import pytest

from opensts.s3.errors import S3Error
from opensts.s3.names import (
    bucket_name_problem,
    is_valid_bucket_name,
    validate_bucket_name,
    validate_key,
)

VALID = [
    "abc", "a" * 63, "my-bucket", "my.bucket.name", "0bucket9", "bucket-1.example",
    "docexamplebucket1", "log-delivery-march-2020", "my-hosted-content", "1.2.3", "x-s3",
    "xn-abc", "sthree", "s3alias", "amzn-s3-demo", "a--b",
]
INVALID = {
    "ab": "length",
    "a" * 64: "length",
    "": "length",
    "My-Bucket": "characters",
    "my_bucket": "characters",
    "-bucket": "characters",
    "bucket-": "characters",
    ".bucket": "characters",
    "bucket.": "characters",
    "bu cket": "characters",
    "bücket": "characters",
    "my..bucket": "adjacent dots",
    "192.168.5.4": "IP address form",
    "999.999.999.999": "IP address form",
    "xn--bucket": "reserved prefix",
    "sthree-bucket": "reserved prefix",
    "amzn-s3-demo-bucket": "reserved prefix",
    "bucket-s3alias": "reserved suffix",
    "bucket--ol-s3": "reserved suffix",
    "bucket.mrap": "reserved suffix",
    "bucket--x-s3": "reserved suffix",
    "bucket--table-s3": "reserved suffix",
    "bucket/key": "characters",
}


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert bucket_name_problem(name) is None
    validate_bucket_name(name)


@pytest.mark.parametrize(("name", "problem"), INVALID.items())
def test_invalid_names(name: str, problem: str) -> None:
    assert bucket_name_problem(name) == problem
    assert not is_valid_bucket_name(name)
    with pytest.raises(S3Error) as caught:
        validate_bucket_name(name)
    err = caught.value
    assert (err.code, err.status, err.message) == (
        "InvalidBucketName", 400, "The specified bucket is not valid.")
    assert err.fields == {"BucketName": name}


def test_key_length_counts_utf8_bytes() -> None:
    validate_key("k" * 1024)
    validate_key("é" * 512)  # 1024 bytes
    validate_key("../..//%2F x")  # every character is allowed in a key
    for key in ("k" * 1025, "é" * 513, "😀" * 257):
        with pytest.raises(S3Error) as caught:
            validate_key(key)
        assert (caught.value.code, caught.value.status) == ("KeyTooLongError", 400)
