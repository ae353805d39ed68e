"""Bucket-name and object-key rules.

Bucket names follow the Amazon S3 User Guide, "General purpose bucket naming rules"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3 to 63
characters; lowercase letters, digits, dots and hyphens; begins and ends with a letter or a
digit; no two adjacent dots; not an IP address; none of the reserved prefixes and suffixes.
The legacy us-east-1 names (uppercase, underscores, up to 255 characters) are not accepted:
every OpenSTS bucket is created or adopted under the current rules.

Object keys: "Naming Amazon S3 objects" (object-keys.html): a key is any UTF-8 sequence of
up to 1,024 bytes; longer keys get ``KeyTooLongError``.
"""

from __future__ import annotations

import re

from opensts.s3.errors import S3Error

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4_FORM = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_KEY_BYTES = 1024


def invalid_bucket_name(name: str) -> S3Error:
    return S3Error("InvalidBucketName", "The specified bucket is not valid.", 400,
                   fields={"BucketName": name})


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name, or None when it is (for messages and tests)."""
    if not 3 <= len(name) <= 63:
        return "length"
    if not _BUCKET.fullmatch(name):
        return "characters"
    if ".." in name:
        return "adjacent dots"
    if _IPV4_FORM.fullmatch(name):
        return "IP address form"
    if name.startswith(RESERVED_PREFIXES):
        return "reserved prefix"
    if name.endswith(RESERVED_SUFFIXES):
        return "reserved suffix"
    return None


def is_valid_bucket_name(name: str) -> bool:
    return bucket_name_problem(name) is None


def validate_bucket_name(name: str) -> None:
    """Raise S3's ``InvalidBucketName`` (400) unless ``name`` follows the naming rules."""
    if bucket_name_problem(name) is not None:
        raise invalid_bucket_name(name)


def key_too_long() -> S3Error:
    return S3Error("KeyTooLongError", "Your key is too long", 400)


def validate_key(key: str) -> None:
    """Raise ``KeyTooLongError`` (400) for a key over 1,024 bytes of UTF-8.

    Nothing else about a key is refused: ``..``, ``//``, ``/`` at either end, spaces and
    control characters are all valid key characters in S3 (the User Guide only advises
    against some of them)."""
    # Fast path: a str of at most 256 characters is at most 1024 UTF-8 bytes.
    if len(key) > MAX_KEY_BYTES // 4 and len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise key_too_long()
