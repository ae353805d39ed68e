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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from awscrt import checksums as crt  # type: ignore[import-untyped]

from opensts.s3.errors import S3Error

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADER_PREFIX = "x-amz-checksum-"
# Decoded digest sizes, used to refuse a value that cannot be a checksum of that kind.
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
# x-amz-checksum-* headers that name a mode or type rather than carry a value.
_NOT_VALUES = ("x-amz-checksum-type", "x-amz-checksum-algorithm", "x-amz-checksum-mode")


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


# ---- what a request's headers promise about its body ---------------------------------------


def invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", message, 400)


def bad_checksum(algorithm: str) -> S3Error:
    return S3Error(
        "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400
    )


@dataclass(frozen=True)
class Plan:
    """The integrity checks a body must pass, read from the request headers."""

    algorithm: str | None = None  # the flexible checksum to compute, if any
    header_value: str | None = None  # its value from an x-amz-checksum-* header
    expected: bytes | None = None  # that value decoded
    trailer: str | None = None  # or the trailing header that will carry it
    md5: bytes | None = None  # Content-MD5, decoded


def plan(
    headers: Mapping[str, Sequence[str]], *, trailers_allowed: bool, body_checksums: bool = True
) -> Plan:
    """Read Content-MD5, x-amz-checksum-*, x-amz-trailer and x-amz-sdk-checksum-algorithm.

    ``headers`` maps lower-case names to their values. Raises S3's error for what S3
    refuses before reading the body (User Guide, "Checking object integrity").
    """
    md5 = _content_md5(headers)
    present = [
        (name, algorithm)
        for name in headers
        if (algorithm := algorithm_of_header(name)) is not None
    ]
    if any(
        name.startswith(HEADER_PREFIX) and algorithm_of_header(name) is None
        and name not in _NOT_VALUES
        for name in headers
    ):
        raise invalid_request(
            "The algorithm type you specified in x-amz-checksum- header is invalid."
        )
    if not body_checksums:
        present = []
    sdk = _first(headers, "x-amz-sdk-checksum-algorithm")
    if sdk is not None and sdk.upper() not in ALGORITHMS:
        raise invalid_request(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
        )
    trailer_algorithm: str | None = None
    trailer = _first(headers, "x-amz-trailer")
    if trailer is not None:
        names = [n.strip().lower() for n in trailer.split(",") if n.strip()]
        if not trailers_allowed or len(names) != 1 or algorithm_of_header(names[0]) is None:
            raise invalid_request(
                "The value specified in the x-amz-trailer header is not supported"
            )
        trailer_algorithm = algorithm_of_header(names[0])
    if len(present) + (trailer_algorithm is not None) > 1:
        raise invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    if sdk is not None and body_checksums and not present and trailer_algorithm is None:
        raise invalid_request(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
            "or x-amz-trailer headers were found."
        )
    algorithm = present[0][1] if present else trailer_algorithm
    if algorithm is None:
        return Plan(md5=md5)
    if sdk is not None and sdk.upper() != algorithm:
        raise invalid_request(
            f"Checksum Type mismatch occurred, expected checksum Type: {sdk.lower()}, "
            f"actual checksum Type: {algorithm.lower()}"
        )
    if not present:
        return Plan(algorithm=algorithm, trailer=header_name(algorithm), md5=md5)
    name = present[0][0]
    value = headers[name][0].strip()
    expected = decode_value(algorithm, value)
    if expected is None:
        raise invalid_request(f"Value for {name} header is invalid.")
    return Plan(algorithm=algorithm, header_value=value, expected=expected, md5=md5)


def _first(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0].strip() if values else None


def _content_md5(headers: Mapping[str, Sequence[str]]) -> bytes | None:
    value = _first(headers, "content-md5")
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 16:
        raise S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.", 400,
                      fields={"Content-MD5": value})
    return raw
