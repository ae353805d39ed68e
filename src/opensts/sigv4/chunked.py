"""Check an S3 request body while it streams: aws-chunked decoding, chunk signatures, checksums.

Amazon S3 API Reference, sigv4-streaming ("Transferring payload in multiple chunks") and
sigv4-streaming-trailers, and the User Guide "Checking object integrity". A body is one of:

* plain, with ``x-amz-content-sha256`` a hex SHA-256 (checked at the end,
  ``XAmzContentSHA256Mismatch``) or ``UNSIGNED-PAYLOAD`` (not hashed);
* aws-chunked: ``<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n`` ... a zero-size
  chunk, then optional trailing headers and an empty line. With
  ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`` each chunk's signature chains the
  previous one, starting from the request's (seed) signature::

      AWS4-HMAC-SHA256-PAYLOAD \\n <x-amz-date> \\n <scope> \\n <previous signature> \\n
      hex(sha256("")) \\n hex(sha256(chunk data))

  and signed trailers end with ``x-amz-trailer-signature``, computed over
  ``AWS4-HMAC-SHA256-TRAILER \\n <date> \\n <scope> \\n <last chunk signature> \\n
  hex(sha256("name:value\\n" ...))``.

On top of either: ``Content-MD5``, one ``x-amz-checksum-*`` header or trailer
(``x-amz-trailer``), ``x-amz-decoded-content-length`` and ``Content-Length``.

Answers, where seen: InvalidChunkSizeError 403 with Chunk / BadChunkSize in S3's own answer
(aws/aws-sdk-cpp#2727), for unsigned chunks too (versity/versitygw#2085);
XAmzContentSHA256Mismatch with ClientComputedContentSHA256 / S3ComputedContentSHA256
(grosskur/lua-resty-aws#2); "The CRC32 you specified did not match the calculated
checksum." (aws/aws-sdk-ruby#3322); IncompleteBody, BadDigest / InvalidDigest for
Content-MD5 (S3's error list). From versitygw's S3 comparison, not seen first-hand: the
x-amz-trailer / x-amz-sdk-checksum-algorithm InvalidRequest texts and MalformedTrailerError.
Not verified: the answer to a body longer than x-amz-decoded-content-length.

The decoder never releases a byte it has not checked as far as it can be checked, and
always holds back the last decoded byte until ``finish()`` has verified everything: a
gateway that streams ``feed()``'s output to the backend can abort before the backend holds
a complete object. Signed chunk data is released only once that chunk's signature verified
(so memory is bounded by one chunk, at most ``max_chunk_size``); the framing lines are
bounded too. Work is linear in the body size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from opensts.s3.errors import S3Error
from opensts.sigv4 import checksums
from opensts.sigv4.canonical import EMPTY_SHA256
from opensts.sigv4.s3 import S3Auth, classify_content_sha256, signature_mismatch

MIN_CHUNK_SIZE = 8192  # every chunk but the last (sigv4-streaming)
DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024  # a signed chunk is buffered until verified
MAX_LINE = 4096  # chunk-size line / trailer line, CRLF excluded
MAX_TRAILER_LINES = 16
_CHUNK_LINE = re.compile(rb"([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-fA-F]{64}))?")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_STREAMING = ("streaming-signed", "streaming-signed-trailer", "streaming-unsigned-trailer")
_SIGNED_STREAMING = ("streaming-signed", "streaming-signed-trailer")
_TRAILER_KINDS = ("streaming-signed-trailer", "streaming-unsigned-trailer")
_ANONYMOUS_KINDS = ("unsigned", "streaming-unsigned-trailer", "sha256")


class _Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...

# ---- S3's answers --------------------------------------------------------------------------


def incomplete_body() -> S3Error:
    return S3Error(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
        400,
    )


def malformed_body() -> S3Error:
    """Framing that is not aws-chunked at all (a bad size line, a missing CRLF, junk)."""
    return S3Error("IncompleteBody", "The request body terminated unexpectedly", 400)


def malformed_trailer() -> S3Error:
    return S3Error(
        "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or did not conform to "
        "our published schema.",
        400,
    )


# ---- header analysis -----------------------------------------------------------------------


def _headers_dict(headers: Sequence[tuple[str, str]] | Mapping[str, str]) -> dict[str, list[str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, list[str]] = {}
    for name, value in items:
        out.setdefault(name.lower(), []).append(value.strip())
    return out


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _length(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise S3Error("InvalidArgument", f"Invalid {name} header value", 400,
                      fields={"ArgumentName": name, "ArgumentValue": value})
    return int(value)


def body_decoder(
    auth: S3Auth | None,
    headers: Sequence[tuple[str, str]] | Mapping[str, str],
    *,
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    body_checksums: bool = True,
) -> BodyDecoder:
    """The decoder for this request's body; ``auth`` None means an anonymous request.

    Raises S3Error for headers S3 refuses before reading the body (an invalid
    Content-MD5, two checksum headers, a trailer that is not a checksum, ...).
    ``body_checksums=False`` for operations whose ``x-amz-checksum-*`` headers describe
    something other than the body (CompleteMultipartUpload: the whole object); a trailer
    or Content-MD5 is still checked.
    """
    values = _headers_dict(headers)
    if auth is not None:
        payload = auth.payload
        claimed = auth.content_sha256
    else:
        claimed = _one(values, "x-amz-content-sha256")
        payload = "unsigned" if claimed is None else classify_content_sha256(claimed)
        if payload not in _ANONYMOUS_KINDS:
            raise checksums.invalid_request(
                "Anonymous requests don't support this x-amz-content-sha256 value. "
                "Please use UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER."
            )
    return BodyDecoder(
        auth, payload, claimed, values, max_chunk_size=max_chunk_size,
        body_checksums=body_checksums,
    )


class BodyDecoder:
    """Incremental checker of one request body: ``feed()`` chunks, then ``finish()``.

    ``feed`` returns the decoded payload bytes that are safe to forward now (always
    holding back at least the last one); ``finish`` verifies everything that can only be
    verified at the end and returns the held-back bytes, or raises S3's error. After an
    error the decoder stays failed: every later call raises the same error.
    """

    def __init__(
        self,
        auth: S3Auth | None,
        payload: str,
        claimed_sha256: str | None,
        headers: dict[str, list[str]],
        *,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
        body_checksums: bool = True,
    ):
        self._auth = auth
        self._payload = payload
        self._chunked = payload in _STREAMING
        self.chunked = self._chunked  # the body is aws-chunked on the wire
        self._signed_chunks = payload in _SIGNED_STREAMING
        if self._signed_chunks and (auth is None or not auth.signing_key):
            raise checksums.invalid_request(
                "Signed chunks need a SigV4 (AWS4-HMAC-SHA256) request"
            )
        self._claimed_sha256 = claimed_sha256
        self._max_chunk = max_chunk_size
        self._failed: S3Error | None = None
        self._done = False

        self._content_length = _length(_one(headers, "content-length"), "Content-Length")
        decoded = _one(headers, "x-amz-decoded-content-length")
        if self._chunked:
            if decoded is None:
                raise S3Error(
                    "MissingContentLength", "You must provide the Content-Length HTTP header.",
                    411,
                )
            self.decoded_length: int | None = _length(decoded, "x-amz-decoded-content-length")
        else:
            self.decoded_length = self._content_length

        self._sha256 = hashlib.sha256() if payload == "sha256" else None
        plan = checksums.plan(
            headers, trailers_allowed=payload in _TRAILER_KINDS, body_checksums=body_checksums
        )
        self._md5_expected = plan.md5
        self._md5: _Hasher | None = (
            hashlib.md5(usedforsecurity=False) if plan.md5 is not None else None
        )
        self._checksum = checksums.new_checksum(plan.algorithm) if plan.algorithm else None
        self._checksum_expected = plan.expected
        self._trailer_name = plan.trailer
        # Verified checksums to hand to the backend: a header's value is known now (and
        # checked by finish()); a trailer's is added when it arrives.
        self.checksum_headers: dict[str, str] = {}
        if plan.algorithm and plan.header_value is not None:
            self.checksum_headers[checksums.header_name(plan.algorithm)] = plan.header_value

        # framing state
        self._state = "size" if self._chunked else "raw"
        self._line = bytearray()
        self._remaining = 0  # data bytes left in the current chunk
        self._chunk = bytearray()  # signed chunk data awaiting its signature
        self._chunk_hash = hashlib.sha256()
        self._chunk_sig = b""
        self._chunk_index = 0
        self._last_size: int | None = None
        self._prev_sig = auth.signed.signature.encode("ascii", "replace") if auth else b""
        self._trailers: list[tuple[str, str]] = []
        self._trailer_sig: bytes | None = None

        self._encoded = 0  # bytes received on the wire
        self._decoded = 0  # payload bytes decoded
        self._tail = b""  # the held-back final byte

    # -- setup helpers

    # -- streaming

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes of the body; return the decoded bytes that may go on now."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._feed(data)
        except S3Error as exc:
            self._failed = exc
            raise

    def finish(self) -> bytes:
        """The body ended: verify everything; return the held-back bytes or raise."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._finish()
        except S3Error as exc:
            self._failed = exc
            raise

    def _feed(self, data: bytes) -> bytes:
        if self._done:
            raise RuntimeError("feed() after finish()")
        self._encoded += len(data)
        if self._content_length is not None and self._encoded > self._content_length:
            raise malformed_body()
        if not self._chunked:
            self._account(data)
            return self._release([data])
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(view)
        while pos < end:
            state = self._state
            if state == "data":
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                pos += take
                self._remaining -= take
                self._account(piece)
                if self._signed_chunks:
                    self._chunk_hash.update(piece)
                    self._chunk += piece
                else:
                    out.append(bytes(piece))
                if self._remaining == 0:
                    self._state = "data-crlf"
            elif state in ("size", "data-crlf", "trailer", "final-crlf"):
                line, pos = self._read_line(data, pos, end)
                if line is not None:
                    self._on_line(state, line, out)
            else:  # "done": nothing may follow the body's end
                raise malformed_body()
        return self._release(out)

    def _read_line(self, data: bytes, pos: int, end: int) -> tuple[bytes | None, int]:
        """Accumulate up to LF (at most MAX_LINE + 2 bytes); return (line, new pos).

        The line comes back without its CRLF; (None, end) while it is still incomplete.
        """
        limit = min(end, pos + MAX_LINE + 2 - len(self._line))
        nl = data.find(b"\n", pos, limit)
        if nl < 0:
            self._line += data[pos:limit]
            if len(self._line) >= MAX_LINE + 2:
                raise self._framing_error()
            return None, limit
        self._line += data[pos : nl + 1]
        line = bytes(self._line)
        self._line.clear()
        if not line.endswith(b"\r\n"):
            raise self._framing_error()
        return line[:-2], nl + 1

    def _framing_error(self) -> S3Error:
        return malformed_trailer() if self._state == "trailer" else malformed_body()

    def _on_line(self, state: str, line: bytes, out: list[bytes]) -> None:
        if state == "data-crlf":
            if line:
                raise malformed_body()
            if self._signed_chunks:
                self._verify_chunk()
                out.append(bytes(self._chunk))
                self._chunk.clear()
            self._state = "size"
        elif state == "size":
            self._on_size_line(line)
        elif state == "trailer":
            self._on_trailer_line(line)
        elif state == "final-crlf":
            if line:
                raise malformed_body()
            self._state = "done"

    def _on_size_line(self, line: bytes) -> None:
        match = _CHUNK_LINE.fullmatch(line)
        if match is None or (match.group(2) is None) == self._signed_chunks:
            raise malformed_body()
        size = int(match.group(1), 16)
        self._chunk_index += 1
        # Only the last chunk with data may be smaller than 8 KiB.
        if size > 0 and self._last_size is not None and self._last_size < MIN_CHUNK_SIZE:
            raise S3Error(
                "InvalidChunkSizeError",
                "Only the last chunk is allowed to have a size less than 8192 bytes",
                403,
                fields={"Chunk": str(self._chunk_index), "BadChunkSize": str(self._last_size)},
            )
        if self._signed_chunks and size > self._max_chunk:
            raise S3Error(
                "InvalidChunkSizeError",
                f"Chunk size exceeds this endpoint's limit of {self._max_chunk} bytes",
                403,
                fields={"Chunk": str(self._chunk_index), "BadChunkSize": str(size)},
            )
        if self.decoded_length is not None and self._decoded + size > self.decoded_length:
            raise too_long(self.decoded_length, self._decoded + size)
        self._chunk_sig = match.group(2) or b""
        self._chunk_hash = hashlib.sha256()
        if size > 0:
            self._last_size = size
            self._remaining = size
            self._state = "data"
            return
        if self._signed_chunks:
            self._verify_chunk()
        self._state = "trailer" if self._payload in _TRAILER_KINDS else "final-crlf"

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            self._state = "done"
            return
        if len(self._trailers) >= MAX_TRAILER_LINES or self._trailer_sig is not None:
            raise malformed_trailer()
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise malformed_trailer() from None
        name, colon, value = text.partition(":")
        name = name.strip().lower()
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise malformed_trailer()
        value = value.strip()
        if name == "x-amz-trailer-signature":
            if self._payload != "streaming-signed-trailer" or not re.fullmatch(
                r"[0-9a-fA-F]{64}", value
            ):
                raise malformed_trailer()
            self._trailer_sig = value.encode("ascii")
            return
        self._trailers.append((name, value))

    def _verify_chunk(self) -> None:
        assert self._auth is not None
        signed = self._auth.signed
        sts = chunk_string_to_sign(
            signed.timestamp, signed.scope, self._prev_sig.decode("ascii", "replace"),
            self._chunk_hash.hexdigest(),
        )
        given = self._chunk_sig.lower()
        if not hmac.compare_digest(_sign(self._auth.signing_key, sts), given):
            raise _chunk_mismatch(self._auth, sts, given)
        self._prev_sig = given

    def _account(self, piece: bytes | memoryview) -> None:
        self._decoded += len(piece)
        if self._sha256 is not None:
            self._sha256.update(piece)
        if self._md5 is not None:
            self._md5.update(piece)
        if self._checksum is not None:
            self._checksum.update(piece)

    def _release(self, pieces: list[bytes]) -> bytes:
        """Join the decoded pieces and keep back the last byte for ``finish()``."""
        if not any(pieces):
            return b""
        joined = self._tail + b"".join(pieces)
        self._tail = joined[-1:]
        return joined[:-1]

    # -- end of body

    def _finish(self) -> bytes:
        if self._done:
            raise RuntimeError("finish() called twice")
        if self._chunked and self._state != "done":
            raise incomplete_body()
        if self._content_length is not None and self._encoded != self._content_length:
            raise incomplete_body()
        if self.decoded_length is not None and self._decoded != self.decoded_length:
            if self._decoded < self.decoded_length:
                raise incomplete_body()
            raise too_long(self.decoded_length, self._decoded)
        if self._sha256 is not None:
            computed = self._sha256.hexdigest()
            if not hmac.compare_digest(computed, (self._claimed_sha256 or "").lower()):
                raise S3Error(
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    400,
                    fields={"ClientComputedContentSHA256": self._claimed_sha256 or "",
                            "S3ComputedContentSHA256": computed},
                )
        self._check_trailers()
        if self._md5 is not None and self._md5_expected is not None:
            calculated = self._md5.digest()
            if not hmac.compare_digest(calculated, self._md5_expected):
                raise S3Error(
                    "BadDigest", "The Content-MD5 you specified did not match what we received.",
                    400,
                    fields={"ExpectedDigest": self._md5_expected.hex(),
                            "CalculatedDigest": base64.b64encode(calculated).decode()},
                )
        if self._checksum is not None:
            expected = self._checksum_expected
            if expected is None or not hmac.compare_digest(self._checksum.digest(), expected):
                raise checksums.bad_checksum(self._checksum.algorithm)
        self._done = True
        tail, self._tail = self._tail, b""
        return tail

    def _check_trailers(self) -> None:
        if self._payload not in _TRAILER_KINDS:
            return
        if self._payload == "streaming-signed-trailer" and (self._trailers or self._trailer_name):
            if self._trailer_sig is None:
                raise malformed_trailer()
            self._verify_trailer_signature()
        expected_names = {self._trailer_name} if self._trailer_name else set()
        if {name for name, _ in self._trailers} != expected_names or len(self._trailers) != len(
            expected_names
        ):
            raise malformed_trailer()
        if self._trailer_name and self._checksum is not None:
            value = self._trailers[0][1]
            digest = checksums.decode_value(self._checksum.algorithm, value)
            if digest is None:
                raise checksums.invalid_request(
                    f"Value for {self._trailer_name} trailing header is invalid."
                )
            self._checksum_expected = digest
            self.checksum_headers[self._trailer_name] = value

    def _verify_trailer_signature(self) -> None:
        assert self._auth is not None and self._trailer_sig is not None
        signed = self._auth.signed
        sts = trailer_string_to_sign(
            signed.timestamp, signed.scope, self._prev_sig.decode("ascii", "replace"),
            self._trailers,
        )
        given = self._trailer_sig.lower()
        if not hmac.compare_digest(_sign(self._auth.signing_key, sts), given):
            raise _chunk_mismatch(self._auth, sts, given)


def chunk_string_to_sign(timestamp: str, scope: str, previous: str, data_sha256: str) -> str:
    """String to sign of one chunk (sigv4-streaming, "Defining the chunk body")."""
    return "\n".join(
        ("AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256, data_sha256)
    )


def trailer_string_to_sign(
    timestamp: str, scope: str, previous: str, trailers: Sequence[tuple[str, str]]
) -> str:
    """String to sign of the trailing headers (sigv4-streaming-trailers)."""
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return "\n".join(("AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous, digest))


def _sign(key: bytes, sts: str) -> bytes:
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest().encode("ascii")


def forwarded_content_encoding(value: str | None) -> str | None:
    """Content-Encoding for the decoded body: ``aws-chunked`` removed (None when nothing is left).

    sigv4-streaming: "aws-chunked" describes the signed framing only; any other coding
    (``gzip``) describes the object and is kept.
    """
    if value is None:
        return None
    kept = [part.strip() for part in value.split(",")
            if part.strip() and part.strip().lower() != "aws-chunked"]
    return ", ".join(kept) or None


def too_long(expected: int, provided: int) -> S3Error:
    return S3Error(
        "InvalidRequest",
        "The number of decoded bytes exceeds x-amz-decoded-content-length.",
        400,
        fields={"NumberBytesExpected": str(expected), "NumberBytesProvided": str(provided)},
    )


def _chunk_mismatch(auth: S3Auth, sts: str, given: bytes) -> S3Error:
    error = signature_mismatch(auth.signed, sts)
    error.fields["SignatureProvided"] = given.decode("ascii", "replace")
    return error
