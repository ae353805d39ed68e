"""Flexible checksums agree with botocore's own (the values boto3 puts in x-amz-checksum-*)."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from botocore import httpchecksum
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.sigv4 import checksums

BOTOCORE = {
    "CRC32": httpchecksum.CrtCrc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


def botocore_value(algorithm: str, pieces: list[bytes]) -> str:
    checksum = BOTOCORE[algorithm]()
    for piece in pieces:
        checksum.update(piece)
    return str(checksum.b64digest())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=6), st.sampled_from(checksums.ALGORITHMS))
def test_incremental_values_match_botocore(pieces: list[bytes], algorithm: str) -> None:
    running = checksums.new_checksum(algorithm)
    for piece in pieces:
        running.update(piece)
    assert checksums.b64(running.digest()) == botocore_value(algorithm, pieces)
    assert checksums.compute(algorithm, b"".join(pieces)) == botocore_value(algorithm, pieces)


def test_known_values() -> None:
    data = b"hello world"
    assert checksums.compute("CRC32", data) == base64.b64encode(
        zlib.crc32(data).to_bytes(4, "big")).decode()
    assert checksums.compute("SHA256", data) == base64.b64encode(
        hashlib.sha256(data).digest()).decode()
    # boto3 sends these for an empty body
    assert checksums.compute("CRC32", b"") == "AAAAAA=="
    assert checksums.compute("CRC64NVME", b"") == "AAAAAAAAAAA="


def test_header_names_and_values() -> None:
    assert checksums.algorithm_of_header("X-Amz-Checksum-CRC64NVME") == "CRC64NVME"
    assert checksums.algorithm_of_header("x-amz-checksum-md5") is None
    assert checksums.algorithm_of_header("x-amz-checksum-type") is None
    assert checksums.header_name("CRC32C") == "x-amz-checksum-crc32c"
    assert checksums.decode_value("CRC32", "AAAAAA==") == b"\0\0\0\0"
    for bad in ("AAAAAAAA", "AAA", "not base64", "AAAA AA==", "ÄAAAAA==", ""):
        assert checksums.decode_value("CRC32", bad) is None
    with pytest.raises(ValueError):
        checksums.new_checksum("MD5")
