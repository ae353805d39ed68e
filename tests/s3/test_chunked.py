"""The aws-chunked body decoder: AWS's published vectors, real client bodies, and attacks.

Vectors: the sigv4-streaming example of the Amazon S3 API Reference ("Example: PUT
Object": 66560 bytes of "a" in a 64 KiB chunk, a 1 KiB chunk and the final empty chunk,
with its published seed and chunk signatures), the trailer signature of the AWS Common
Runtime's chunk-signer test (aws-crt-swift ChunkSignerTests, trailers first/second/third),
awscrt signing the seed of a trailer request, and boto3's own aws-chunked bodies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.s3.errors import S3Error
from opensts.sigv4 import checksums
from opensts.sigv4.canonical import EMPTY_SHA256
from opensts.sigv4.chunked import (
    body_decoder,
    chunk_string_to_sign,
    forwarded_content_encoding,
    trailer_string_to_sign,
)
from opensts.sigv4.s3 import S3Auth, parse_s3, verify_s3
from opensts.sigv4.signing import derive_signing_key
from tests.s3.sigv4_wire import AKID, HTTP, HTTPS, SECRET, Wire, capture, decode_all

# ---- the AWS documentation example -------------------------------------------------------

DOC_TIME = datetime(2013, 5, 24, tzinfo=UTC)
DOC_SCOPE = "20130524/us-east-1/s3/aws4_request"
DOC_STAMP = "20130524T000000Z"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
CHUNK_2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
CHUNK_FINAL = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
CRT_TRAILER_SIGNATURE = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"
KEY = derive_signing_key(SECRET, "20130524", "us-east-1", "s3")


def doc_headers(content_sha256: str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                signature: str = SEED, **extra: str) -> list[tuple[str, str]]:
    signed = (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class"
    )
    return [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", DOC_STAMP),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Authorization", f"AWS4-HMAC-SHA256 Credential={AKID}/{DOC_SCOPE}, "
                          f"SignedHeaders={signed}, Signature={signature}"),
        ("x-amz-content-sha256", content_sha256),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", extra.pop("decoded", "66560")),
        ("Content-Length", extra.pop("length", "66824")),
        *extra.items(),
    ]


def doc_auth() -> S3Auth:
    headers = doc_headers()
    signed = parse_s3("PUT", "/examplebucket/chunkObject.txt", "", headers)
    assert signed is not None
    return verify_s3(signed, method="PUT", raw_path="/examplebucket/chunkObject.txt",
                     raw_query="", headers=headers, secret_access_key=SECRET, now=DOC_TIME)


def frame(size: int, sig: str | None, data: bytes) -> bytes:
    ext = f";chunk-signature={sig}" if sig else ""
    return f"{size:x}{ext}\r\n".encode() + data + b"\r\n"


def doc_body() -> bytes:
    return (frame(65536, CHUNK_1, b"a" * 65536) + frame(1024, CHUNK_2, b"a" * 1024)
            + f"0;chunk-signature={CHUNK_FINAL}\r\n\r\n".encode())


def sign_chunks(key: bytes, seed: str, chunks: list[bytes], stamp: str = DOC_STAMP,
                scope: str = DOC_SCOPE) -> tuple[list[str], bytes]:
    """An independent encoder (plain hmac), checked against the published signatures below."""
    sigs, body, prev = [], b"", seed
    for data in [*chunks, b""]:
        sts = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, prev, EMPTY_SHA256,
                         hashlib.sha256(data).hexdigest()))
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        sigs.append(prev)
        body += frame(len(data), prev, data) if data else f"0;chunk-signature={prev}\r\n".encode()
    return sigs, body


def test_doc_example_seed_signature_verifies() -> None:
    auth = doc_auth()
    assert auth.payload == "streaming-signed" and auth.auth_type == "REST-HEADER"
    assert auth.signing_key == KEY


def test_doc_example_chunk_signatures() -> None:
    assert chunk_string_to_sign(DOC_STAMP, DOC_SCOPE, SEED, hashlib.sha256(b"a" * 65536)
                                .hexdigest()).endswith(
        "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a")
    sigs, _ = sign_chunks(KEY, SEED, [b"a" * 65536, b"a" * 1024])
    assert sigs == [CHUNK_1, CHUNK_2, CHUNK_FINAL]


def test_crt_trailer_signature_vector() -> None:
    sts = trailer_string_to_sign(DOC_STAMP, DOC_SCOPE, CHUNK_FINAL,
                                 [("first", "1st"), ("second", "2nd"), ("third", "3rd")])
    assert hmac.new(KEY, sts.encode(), hashlib.sha256).hexdigest() == CRT_TRAILER_SIGNATURE


@pytest.mark.parametrize("step", [1, 5, 86, 8192, 65536, 10**6])
def test_doc_example_body_decodes(step: int) -> None:
    decoder = body_decoder(doc_auth(), doc_headers())
    assert decode_all(decoder, doc_body(), step) == b"a" * 66560
    assert decoder.decoded_length == 66560


def expect(code: str, body: bytes, headers: list[tuple[str, str]] | None = None,
           auth: S3Auth | None = None, step: int = 4096) -> S3Error:
    decoder = body_decoder(auth or doc_auth(), headers or doc_headers())
    released = b""
    with pytest.raises(S3Error) as info:
        for i in range(0, len(body), step):
            released += decoder.feed(body[i : i + step])
        decoder.finish()
    assert info.value.code == code, info.value
    with pytest.raises(S3Error):  # the decoder stays failed
        decoder.finish()
    # Whatever went on before the failure is never the whole object.
    declared = int(dict((k.lower(), v) for k, v in (headers or doc_headers()))[
        "x-amz-decoded-content-length"])
    assert len(released) < declared or declared == 0
    return info.value


def test_tampered_chunk_signature() -> None:
    body = doc_body().replace(CHUNK_2.encode(), CHUNK_2[:-1].encode() + b"0")
    error = expect("SignatureDoesNotMatch", body)
    assert error.status == 403 and "AWS4-HMAC-SHA256-PAYLOAD" in error.fields["StringToSign"]
    assert SECRET not in repr(error.fields)


def test_tampered_chunk_data() -> None:
    body = bytearray(doc_body())
    body[66000] = ord("b")
    expect("SignatureDoesNotMatch", bytes(body))


def test_tampered_final_signature() -> None:
    body = doc_body().replace(CHUNK_FINAL.encode(), CHUNK_1.encode())
    expect("SignatureDoesNotMatch", body)


def test_reordered_chunks() -> None:
    sigs, _ = sign_chunks(KEY, SEED, [b"a" * 9000, b"b" * 9000, b"c" * 10])
    body = (frame(9000, sigs[1], b"b" * 9000) + frame(9000, sigs[0], b"a" * 9000)
            + frame(10, sigs[2], b"c" * 10) + f"0;chunk-signature={sigs[3]}\r\n\r\n".encode())
    headers = doc_headers(decoded="18010", length=str(len(body)))
    expect("SignatureDoesNotMatch", body, headers)


def test_dropped_chunk() -> None:
    sigs, _ = sign_chunks(KEY, SEED, [b"a" * 9000, b"b" * 9000, b"c" * 10])
    body = (frame(9000, sigs[0], b"a" * 9000) + frame(10, sigs[2], b"c" * 10)
            + f"0;chunk-signature={sigs[3]}\r\n\r\n".encode())
    expect("SignatureDoesNotMatch", body, doc_headers(decoded="9010", length=str(len(body))))


def test_truncated_body() -> None:
    body = doc_body()
    for cut in (10, 65600, len(body) - 4, len(body) - 2):
        expect("IncompleteBody", body[:cut])


def test_oversize_chunk_size_line() -> None:
    body = b"1" + b"0" * 10000 + b"\r\n"
    expect("IncompleteBody", body, doc_headers(length=str(len(body))), step=97)
    expect("IncompleteBody", b"10000;chunk-signature=" + b"a" * 5000,
           doc_headers(length="99999"))


def test_malformed_size_lines() -> None:
    for line in (b"0x10;chunk-signature=" + CHUNK_1.encode(), b" 10000;chunk-signature=" +
                 CHUNK_1.encode(), b"10000", b"-1;chunk-signature=" + CHUNK_1.encode(),
                 b"10000;chunk-signature=" + CHUNK_1[:-2].encode()):
        expect("IncompleteBody", line + b"\r\n" + b"a" * 65536 + b"\r\n",
               doc_headers(length="99999"))


def test_decoded_length_lies() -> None:
    expect("IncompleteBody", doc_body(), doc_headers(decoded="66561"))
    error = expect("InvalidRequest", doc_body(), doc_headers(decoded="66559"))
    assert error.fields["NumberBytesExpected"] == "66559"


def test_content_length_lies() -> None:
    expect("IncompleteBody", doc_body(), doc_headers(length="66825"))
    expect("IncompleteBody", doc_body(), doc_headers(length="66823"))


def test_data_after_the_end() -> None:
    expect("IncompleteBody", doc_body() + b"x", doc_headers(length="66825"))


def test_small_chunk_not_last() -> None:
    _, body = sign_chunks(KEY, SEED, [b"a" * 100, b"b" * 9000])
    error = expect("InvalidChunkSizeError", body + b"\r\n",
                   doc_headers(decoded="9100", length=str(len(body) + 2)))
    # As S3 answers (aws/aws-sdk-cpp#2727, versity/versitygw#1683): 403, the number of the
    # chunk that followed the short one, and the short size.
    assert error.status == 403
    assert error.fields == {"Chunk": "2", "BadChunkSize": "100"}


def test_missing_decoded_length() -> None:
    headers = [h for h in doc_headers() if h[0] != "x-amz-decoded-content-length"]
    with pytest.raises(S3Error) as info:
        body_decoder(doc_auth(), headers)
    assert info.value.code == "MissingContentLength"


def test_empty_signed_chunked_body() -> None:
    _, body = sign_chunks(KEY, SEED, [])
    body += b"\r\n"
    decoder = body_decoder(doc_auth(), doc_headers(decoded="0", length=str(len(body))))
    assert decode_all(decoder, body) == b""


# ---- signed chunks with a signed trailer (the Java SDK v2 default) ------------------------


def crt_signed_trailer_request(data: bytes, algorithm: str = "CRC32C") -> tuple[Wire, S3Auth]:
    """A seed signed by awscrt (the SDKs' signer), and a body framed and signed chunk by chunk."""
    when = datetime.now(UTC).replace(microsecond=0)
    trailer = checksums.header_name(algorithm)
    headers = crt_http.HttpHeaders([
        ("Host", "127.0.0.1:9000"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", str(len(data))),
        ("x-amz-trailer", trailer),
        ("x-amz-sdk-checksum-algorithm", algorithm),
    ])
    request = crt_http.HttpRequest("PUT", "/bk/dir/a%20key.bin", headers)
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(AKID, SECRET),
        region="us-east-1", service="s3", date=when,
        use_double_uri_encode=False, should_normalize_uri_path=False,
        signed_body_value="STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
    )
    crt_auth.aws_sign_request(request, config).result()
    pairs = list(request.headers)
    signed = parse_s3("PUT", request.path, "", pairs)
    assert signed is not None
    auth = verify_s3(signed, method="PUT", raw_path=request.path, raw_query="", headers=pairs,
                     secret_access_key=SECRET, now=when)
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    sigs, body = sign_chunks(auth.signing_key, signed.signature, chunks, signed.timestamp,
                             signed.scope)
    value = checksums.compute(algorithm, data)
    sts = trailer_string_to_sign(signed.timestamp, signed.scope, sigs[-1], [(trailer, value)])
    tsig = hmac.new(auth.signing_key, sts.encode(), hashlib.sha256).hexdigest()
    body += f"{trailer}:{value}\r\nx-amz-trailer-signature:{tsig}\r\n\r\n".encode()
    return Wire("PUT", request.path, "", pairs, body), auth


@pytest.mark.parametrize("size", [0, 1, 65536, 200_000])
def test_signed_trailer_body(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    wire, auth = crt_signed_trailer_request(data)
    assert auth.payload == "streaming-signed-trailer"
    decoder = wire.decoder(auth)
    assert decode_all(decoder, wire.body, 3333) == data
    assert decoder.checksum_headers == {"x-amz-checksum-crc32c": checksums.compute("CRC32C", data)}


def test_signed_trailer_tampered_checksum_value() -> None:
    wire, auth = crt_signed_trailer_request(b"q" * 10000)
    good = checksums.compute("CRC32C", b"q" * 10000).encode()
    wrong = checksums.compute("CRC32C", b"r" * 10000).encode()
    # The checksum changed but the trailer signature still covers the old one.
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(auth), wire.body.replace(good, wrong))
    assert info.value.code == "SignatureDoesNotMatch"


def test_signed_trailer_missing_signature() -> None:
    wire, auth = crt_signed_trailer_request(b"q" * 10000)
    body = wire.body[: wire.body.index(b"x-amz-trailer-signature")] + b"\r\n"
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(auth), body)
    assert info.value.code == "MalformedTrailerError"


# ---- boto3's bodies: hex SHA-256 over HTTP, unsigned chunks with a trailer over HTTPS ------

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("endpoint", [HTTP, HTTPS])
def test_boto3_put_object_bodies(endpoint: str, algorithm: str) -> None:
    data = b"0123456789abcdef" * 70000  # > 1 MiB: several of boto3's 1 MiB chunks
    wire = capture("put_object", endpoint, Bucket="bk", Key="k", Body=data,
                   ChecksumAlgorithm=algorithm)
    auth = wire.verify()
    assert auth.payload == ("sha256" if endpoint == HTTP else "streaming-unsigned-trailer")
    decoder = wire.decoder(auth)
    assert decode_all(decoder, wire.body, 65536) == data
    assert decoder.checksum_headers == {
        checksums.header_name(algorithm): checksums.compute(algorithm, data)
    }


def test_boto3_wrong_trailing_checksum() -> None:
    data = b"x" * 20000
    wire = capture("put_object", HTTPS, Bucket="bk", Key="k", Body=data)
    good = checksums.compute("CRC32", data).encode()
    body = wire.body.replace(good, checksums.compute("CRC32", b"y").encode())
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(), body)
    assert (info.value.code, info.value.status) == ("BadDigest", 400)
    assert info.value.message == "The CRC32 you specified did not match the calculated checksum."


def test_boto3_tampered_unsigned_chunk_data() -> None:
    data = b"x" * 20000
    wire = capture("put_object", HTTPS, Bucket="bk", Key="k", Body=data)
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(), wire.body.replace(b"xxxx", b"xxxy", 1))
    assert info.value.code == "BadDigest"


def test_boto3_wrong_header_checksum_and_sha256() -> None:
    data = b"x" * 20000
    wire = capture("put_object", HTTP, Bucket="bk", Key="k", Body=data)
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(), b"y" + data[1:])
    assert info.value.code == "XAmzContentSHA256Mismatch"
    assert info.value.fields["ClientComputedContentSHA256"] == hashlib.sha256(data).hexdigest()
    assert info.value.fields["S3ComputedContentSHA256"] == hashlib.sha256(
        b"y" + data[1:]).hexdigest()


def test_boto3_empty_put() -> None:
    for endpoint in (HTTP, HTTPS):
        wire = capture("put_object", endpoint, Bucket="bk", Key="k", Body=b"")
        decoder = wire.decoder()
        assert decode_all(decoder, wire.body) == b""


def test_boto3_content_md5() -> None:
    data = b"m" * 5000
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - S3's Content-MD5
    wire = capture("put_object", HTTP, Bucket="bk", Key="k", Body=data, ContentMD5=md5)
    assert decode_all(wire.decoder(), wire.body) == data
    other = base64.b64encode(hashlib.md5(b"z").digest()).decode()  # noqa: S324
    bad = [(k, other
            if k.lower() == "content-md5" else v) for k, v in wire.headers]
    decoder = body_decoder(wire.verify(), bad)
    with pytest.raises(S3Error) as info:
        decode_all(decoder, wire.body)
    assert info.value.code == "BadDigest"
    broken = [(k, "not-md5" if k.lower() == "content-md5" else v) for k, v in wire.headers]
    with pytest.raises(S3Error) as info:
        body_decoder(wire.verify(), broken)
    assert info.value.code == "InvalidDigest"


def test_checksum_header_rules() -> None:
    wire = capture("put_object", HTTP, Bucket="bk", Key="k", Body=b"abc")
    auth = wire.verify()

    def code(headers: list[tuple[str, str]]) -> str:
        with pytest.raises(S3Error) as info:
            body_decoder(auth, headers)
        return info.value.code

    base = [h for h in wire.headers if not h[0].lower().startswith("x-amz-checksum")]
    assert code([*base, ("x-amz-checksum-crc32", "AAAA"), ("x-amz-checksum-sha1", "AAAA")]) == (
        "InvalidRequest")
    assert code([*base, ("x-amz-checksum-crc32", "not base64!")]) == "InvalidRequest"
    assert code([*base, ("x-amz-checksum-md7", "AAAA")]) == "InvalidRequest"
    assert code(base) == "InvalidRequest"  # x-amz-sdk-checksum-algorithm without a value
    assert code([*base, ("x-amz-trailer", "x-amz-checksum-crc32")]) == "InvalidRequest"


def test_anonymous_bodies() -> None:
    decoder = body_decoder(None, [("Content-Length", "3")])
    assert decode_all(decoder, b"abc") == b"abc"
    with pytest.raises(S3Error) as info:
        body_decoder(None, [("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
                            ("x-amz-decoded-content-length", "0")])
    assert info.value.code == "InvalidRequest"


# ---- the hold-back invariant ---------------------------------------------------------------


def _splits(draw_points: list[int], body: bytes) -> list[bytes]:
    points = sorted({p % (len(body) + 1) for p in draw_points})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=12))
def test_hold_back_signed_chunks(points: list[int]) -> None:
    body = doc_body()
    decoder = body_decoder(doc_auth(), doc_headers())
    released = 0
    for piece in _splits(points, body):
        released += len(decoder.feed(piece))
        assert released < 66560  # never the whole object before finish()
    assert released + len(decoder.finish()) == 66560


BOTO_WIRE = capture("put_object", HTTPS, Bucket="bk", Key="k", Body=b"h" * 30000)
BOTO_SHA = capture("put_object", HTTP, Bucket="bk", Key="k", Body=b"h" * 30000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**5), max_size=12), st.booleans(),
       st.booleans())
def test_hold_back_unsigned_and_sha256(points: list[int], trailer: bool, corrupt: bool) -> None:
    wire = BOTO_WIRE if trailer else BOTO_SHA
    body = wire.body
    if corrupt:  # the last payload byte changes: only finish() can tell
        at = body.index(b"\r\n0\r\n") - 1 if trailer else len(body) - 1
        body = body[:at] + b"H" + body[at + 1 :]
    decoder = body_decoder(wire.verify(now=wire.signed().amz_date + timedelta(seconds=1)),
                           wire.headers)
    released = 0
    for piece in _splits(points, body):
        released += len(decoder.feed(piece))
        assert released < 30000
    if corrupt:
        with pytest.raises(S3Error):
            decoder.finish()
    else:
        assert released + len(decoder.finish()) == 30000


def test_complete_multipart_upload_checksum_is_not_the_body_checksum() -> None:
    # ChecksumCRC32 of CompleteMultipartUpload describes the object, not the XML body.
    wire = capture("complete_multipart_upload", HTTP, Bucket="bk", Key="k", UploadId="u1",
                   ChecksumCRC32="AAAAAA==",
                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"e"'}]})
    assert wire.header("x-amz-checksum-crc32") == "AAAAAA=="
    with pytest.raises(S3Error) as info:
        decode_all(wire.decoder(), wire.body)
    assert info.value.code == "BadDigest"
    decoder = body_decoder(wire.verify(), wire.headers, body_checksums=False)
    assert decode_all(decoder, wire.body) == wire.body
    assert decoder.checksum_headers == {}


def test_forwarded_content_encoding() -> None:
    assert forwarded_content_encoding("aws-chunked") is None
    assert forwarded_content_encoding("aws-chunked, gzip") == "gzip"
    assert forwarded_content_encoding("gzip,AWS-CHUNKED") == "gzip"
    assert forwarded_content_encoding(None) is None
    assert body_decoder(doc_auth(), doc_headers()).chunked
