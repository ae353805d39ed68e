"""S3's flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256, computed incrementally.

Amazon S3 User Guide, "Checking object integrity in Amazon S3": a client names an algorithm
(``x-amz-sdk-checksum-algorithm``) and sends the value either in a header
``x-amz-checksum-<algorithm>`` or as a trailing header of an aws-chunked body, always the
base64 of the big-endian digest. The CRCs come from the AWS Common Runtime
(``awscrt.checksums``), the same code the AWS SDKs use; the SHAs from ``hashlib``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Protocol

from awscrt import checksums as crt  # type: ignore[import-untyped]

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADER_PREFIX = "x-amz-checksum-"
# Decoded digest sizes, used to refuse a value that cannot be a checksum of that kind.
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


class Checksum(Protocol):
    algorithm: str

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self._value = 0
        if algorithm == "CRC32":
            self._fn, self._size = crt.crc32, 4
        elif algorithm == "CRC32C":
            self._fn, self._size = crt.crc32c, 4
        else:
            self._fn, self._size = crt.crc64nvme, 8

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


class _Sha:
    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self._hash = hashlib.sha1(usedforsecurity=False) if algorithm == "SHA1" else (
            hashlib.sha256()
        )

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def new_checksum(algorithm: str) -> Checksum:
    """A running checksum for one of ``ALGORITHMS`` (upper case, as S3 names them)."""
    name = algorithm.upper()
    if name in ("CRC32", "CRC32C", "CRC64NVME"):
        return _Crc(name)
    if name in ("SHA1", "SHA256"):
        return _Sha(name)
    raise ValueError(f"unsupported checksum algorithm {algorithm!r}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def compute(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data``, as S3 sends it in ``x-amz-checksum-*``."""
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return b64(checksum.digest())


def header_name(algorithm: str) -> str:
    return HEADER_PREFIX + algorithm.lower()


def algorithm_of_header(name: str) -> str | None:
    """``x-amz-checksum-crc32`` -> ``CRC32``; None for anything that is not a known one."""
    lower = name.strip().lower()
    if not lower.startswith(HEADER_PREFIX):
        return None
    algorithm = lower[len(HEADER_PREFIX) :].upper()
    return algorithm if algorithm in DIGEST_SIZES else None


def decode_value(algorithm: str, value: str) -> bytes | None:
    """The digest bytes of a base64 value, or None when it is not a valid value of that kind."""
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == DIGEST_SIZES[algorithm] else None
