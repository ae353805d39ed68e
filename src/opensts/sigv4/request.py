"""Parse what a SigV4 (or SigV4A) request claims about its own signature.

Two forms exist (AWS SigV4 specification, "Authentication methods"):

* Header form: ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/
  aws4_request, SignedHeaders=a;b, Signature=hex`` with the time in ``X-Amz-Date`` (or the
  HTTP ``Date`` header).
* Query form (presigned URL): ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
  ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature`` (and optionally
  ``X-Amz-Security-Token``) in the query string.

SigV4A (``AWS4-ECDSA-P256-SHA256``) has the same shape without a region in the scope; the
regions come from ``X-Amz-Region-Set``.

Parsing checks structure only; whether the claim is true is ``verify``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property

from opensts.sigv4.canonical import query_pairs
from opensts.sigv4.errors import IncompleteSignature

SIGV4 = "AWS4-HMAC-SHA256"
SIGV4A = "AWS4-ECDSA-P256-SHA256"
ALGORITHMS = (SIGV4, SIGV4A)
MAX_EXPIRES = 604800  # seven days: a derived signing key is only good that long

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_PRESIGN_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_QUERY_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


@dataclass(frozen=True)
class SignedRequest:
    """What a request claims: who signed it, for which scope and time, over which headers.

    ``region`` is the region string from the credential scope exactly as the client signed
    it (any string, even ``aws-global``); for SigV4A it is the raw ``X-Amz-Region-Set``.
    ``date`` is the scope date (``yyyymmdd``); ``amz_date`` the request time (UTC).
    """

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    security_token: str | None
    presigned: bool
    expires: int | None
    algorithm: str = SIGV4
    terminator: str = "aws4_request"
    region_set: tuple[str, ...] | None = None

    @cached_property
    def timestamp(self) -> str:
        """``amz_date`` in ISO 8601 basic format, as it appears in the string to sign."""
        return format_amz_date(self.amz_date)

    @property
    def scope(self) -> str:
        if self.algorithm == SIGV4A:
            return f"{self.date}/{self.service}/{self.terminator}"
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def format_amz_date(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"


def parse_amz_date(raw: str) -> datetime:
    """Parse ``yyyymmddThhmmssZ``; anything else is an IncompleteSignature."""
    value = raw.strip()
    if _AMZ_DATE.fullmatch(value):
        try:
            # strptime's own checks (field ranges) without its locale machinery.
            return datetime(
                int(value[0:4]), int(value[4:6]), int(value[6:8]),
                int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=UTC,
            )
        except ValueError:
            pass
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _header_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def parse_request(
    method: str, raw_path: str, raw_query: str, headers: Sequence[tuple[str, str]]
) -> SignedRequest | None:
    """Extract the signature claim, or None when the request carries no signature at all.

    Raises IncompleteSignature when a signature is present but malformed or incomplete.
    ``method`` and ``raw_path`` are accepted for symmetry with ``verify`` and not needed.
    """
    del method, raw_path
    # One pass over the headers (names lowered once) for every lookup below.
    index: dict[str, list[str]] = {}
    for key, value in headers:
        index.setdefault(key.lower(), []).append(value)
    auth = index.get("authorization", [])
    pairs = query_pairs(raw_query)
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    presigned = any(marker in params for marker in _PRESIGN_MARKERS)
    if auth and presigned:
        raise IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified"
        )
    if presigned:
        return _parse_query(params, index)
    if auth:
        if len(auth) > 1:
            raise IncompleteSignature("Only one Authorization header is allowed")
        return _parse_header(auth[0], index)
    return None


def _parse_header(value: str, headers: dict[str, list[str]]) -> SignedRequest:
    raw = value.strip()
    algorithm, _, rest = raw.partition(" ")
    fields: dict[str, str] = {}
    if algorithm in ALGORITHMS:
        for part in rest.split(","):
            part = part.strip()
            if not part:
                continue
            key, eq, val = part.partition("=")
            if not eq:
                raise IncompleteSignature(
                    f"'{part}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{raw}'."
                )
            fields[key.strip()] = val.strip()
    elif algorithm.startswith("AWS4-"):
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")

    amz_dates = headers.get("x-amz-date", [])
    http_dates = headers.get("date", [])
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not amz_dates and not http_dates:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignature(" ".join(problems) + f" Authorization={raw}")

    moment = parse_amz_date(amz_dates[0]) if amz_dates else _parse_http_date(http_dates[0])
    tokens = headers.get("x-amz-security-token", [])
    return _build(
        algorithm=algorithm,
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        moment=moment,
        token=tokens[0] if tokens else None,
        presigned=False,
        expires=None,
        region_set=_first(headers.get("x-amz-region-set", [])),
    )


def _parse_query(params: dict[str, list[str]], headers: dict[str, list[str]]) -> SignedRequest:
    missing = [name for name in _QUERY_REQUIRED if not params.get(name, [""])[0]]
    if missing:
        raise IncompleteSignature(
            " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
            + " Re-examine the query-string parameters."
        )
    repeated = sorted(
        name for name, values in params.items() if name.startswith("X-Amz-") and len(values) > 1
    )
    if repeated:
        raise IncompleteSignature(f"Duplicate query-string parameter: '{repeated[0]}'")
    algorithm = params["X-Amz-Algorithm"][0]
    if algorithm not in ALGORITHMS:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    expires: int | None = None
    if "X-Amz-Expires" in params:
        expires = _parse_expires(params["X-Amz-Expires"][0])
    token = _first(params.get("X-Amz-Security-Token", []))
    if token is None:
        token = _first(headers.get("x-amz-security-token", []))
    region_set = _first(params.get("X-Amz-Region-Set", []))
    if region_set is None:
        region_set = _first(headers.get("x-amz-region-set", []))
    return _build(
        algorithm=algorithm,
        credential=params["X-Amz-Credential"][0],
        signed_headers=params["X-Amz-SignedHeaders"][0],
        signature=params["X-Amz-Signature"][0],
        moment=parse_amz_date(params["X-Amz-Date"][0]),
        token=token,
        presigned=True,
        expires=expires,
        region_set=region_set,
    )


def _parse_expires(raw: str) -> int:
    if not raw.isascii() or not raw.lstrip("-").isdigit():
        raise IncompleteSignature("X-Amz-Expires should be a number")
    # int() refuses more than 4300 digits with a ValueError; anything past 12 is too large.
    value = int(raw) if len(raw) <= 12 else (-1 if raw.startswith("-") else MAX_EXPIRES + 1)
    if value < 0:
        raise IncompleteSignature("X-Amz-Expires must be non-negative")
    if value > MAX_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    return value


def _parse_http_date(raw: str) -> datetime:
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )
    return moment.astimezone(UTC)


def _first(values: Sequence[str]) -> str | None:
    return values[0] if values else None


def _build(
    *,
    algorithm: str,
    credential: str,
    signed_headers: str,
    signature: str,
    moment: datetime,
    token: str | None,
    presigned: bool,
    expires: int | None,
    region_set: str | None,
) -> SignedRequest:
    parts = credential.split("/")
    want = 4 if algorithm == SIGV4A else 5
    if len(parts) != want or not all(parts):
        shape = (
            "/yyyymmdd/service/aws4_request"
            if want == 4
            else ("/yyyymmdd/region/service/aws4_request")
        )
        raise IncompleteSignature(
            f"Credential must have the form '<access key id>{shape}': '{credential}'"
        )
    names = tuple(name.strip().lower() for name in signed_headers.split(";"))
    if not all(names):
        raise IncompleteSignature(f"Malformed 'SignedHeaders' parameter: '{signed_headers}'")
    if algorithm == SIGV4A:
        if not region_set:
            raise IncompleteSignature(
                "SigV4A requests require the 'X-Amz-Region-Set' header or query parameter."
            )
        access_key_id, date, service, terminator = parts
        region = region_set
        regions: tuple[str, ...] | None = tuple(r.strip() for r in region_set.split(","))
    else:
        access_key_id, date, region, service, terminator = parts
        regions = None
    return SignedRequest(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=names,
        signature=signature,
        amz_date=moment,
        security_token=token,
        presigned=presigned,
        expires=expires,
        algorithm=algorithm,
        terminator=terminator,
        region_set=regions,
    )
