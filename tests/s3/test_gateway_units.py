"""The gateway's own small pieces, without a server: what is forwarded, what is refused,
how the storage's answers are read (a real asyncio server stands in for the storage)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from opensts.config import ConfigError, Settings, backend_url
from opensts.s3.errors import S3Error
from opensts.web.s3.backend import backend_error, forwarded_headers, response_headers
from opensts.web.s3.deletes import parse_delete, render_delete
from opensts.web.s3.http1 import BackendUnavailable, Http1Client
from opensts.web.s3.objects import check_key, parse_copy_source


def test_forwarded_headers_are_an_allow_list() -> None:
    sent = [("authorization", "AWS4-HMAC-SHA256 ..."), ("x-amz-security-token", "t"),
            ("x-amz-date", "d"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("host", "gateway"), ("content-type", "text/plain"), ("range", "bytes=0-1"),
            ("x-amz-meta-colour", "blue"), ("content-encoding", "aws-chunked,gzip"),
            ("x-amz-decoded-content-length", "5"), ("x-forwarded-for", "10.0.0.1"),
            ("x-amz-checksum-crc32", "AAAAAA=="), ("connection", "keep-alive"),
            ("x-amz-expected-bucket-owner", "123456789012")]
    assert forwarded_headers(sent) == [
        ("content-type", "text/plain"), ("range", "bytes=0-1"),
        ("x-amz-meta-colour", "blue"), ("content-encoding", "gzip")]
    assert forwarded_headers([("content-encoding", "aws-chunked")]) == []


def test_response_headers_drop_the_storages_ids() -> None:
    got = response_headers([(b"ETag", b'"x"'), (b"x-amz-request-id", b"theirs"),
                            (b"x-amz-id-2", b"theirs"), (b"Server", b"SeaweedFS"),
                            (b"Content-Length", b"3"), (b"x-amz-version-id", b"v1")])
    assert got == [(b"etag", b'"x"'), (b"content-length", b"3"), (b"x-amz-version-id", b"v1")]


def test_backend_errors_keep_code_and_message() -> None:
    error = backend_error(409, b'<?xml version="1.0"?><Error><Code>BucketNotEmpty</Code>'
                               b"<Message>The bucket you tried to delete is not empty</Message>"
                               b"<BucketName>b</BucketName><RequestId>theirs</RequestId></Error>")
    assert (error.code, error.status, error.fields) == ("BucketNotEmpty", 409,
                                                        {"BucketName": "b"})
    assert backend_error(404, b"").code == "NotFound"
    assert backend_error(500, b"<html>oops</html>").code == "InternalError"
    # Entities are not expanded.
    evil = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<Error><Code>&x;</Code></Error>")
    assert "root:" not in backend_error(400, evil).code


def test_delete_documents() -> None:
    quiet, objects = parse_delete(b"<Delete xmlns='http://s3.amazonaws.com/doc/2006-03-01/'>"
                                  b"<Quiet>true</Quiet><Object><Key>a</Key></Object>"
                                  b"<Object><Key>b&amp;c</Key><VersionId>v</VersionId>"
                                  b"</Object></Delete>")
    assert quiet and objects == [("a", None), ("b&c", "v")]
    assert parse_delete(render_delete(quiet, objects)) == (quiet, objects)
    too_many = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"
    for bad in (b"", b"<Delete/>", b"<Other/>", b"<Delete><Object/></Delete>", too_many,
                b'<!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key></Object>'
                b"</Delete>", b"not xml"):
        with pytest.raises(S3Error) as refused:
            parse_delete(bad)
        assert refused.value.code == "MalformedXML", bad[:40]


@pytest.mark.parametrize("key", ["../x", "a/../b", "./a", "a//b", "/a", "a/./b", "a/.."])
def test_keys_the_storage_would_rewrite(key: str) -> None:
    with pytest.raises(S3Error) as refused:
        check_key(key)
    assert refused.value.code == "InvalidArgument"


@pytest.mark.parametrize("key", ["a", "a/b", "dir/", "a..b", ".hidden", "a/.b/c", "x y+z"])
def test_keys_kept(key: str) -> None:
    check_key(key)


def test_copy_source() -> None:
    assert parse_copy_source("/b/a%20key%2Fx?versionId=v%2B1") == ("b", "a key/x", "v+1")
    assert parse_copy_source("b/k") == ("b", "k", None)
    for bad in ("b", "/b/", "b/k?other=1"):
        with pytest.raises(S3Error):
            parse_copy_source(bad)


def test_backend_settings(tmp_path: object) -> None:
    assert backend_url("HTTP://Storage:8333/") == "http://storage:8333"
    for bad in ("ftp://x", "http://u:p@x", "http://x/path", "x"):
        with pytest.raises(ConfigError):
            backend_url(bad)
    from pathlib import Path

    env = {"OPENSTS_MASTER_KEY": "A" * 43 + "=", "OPENSTS_S3_BACKEND_URL": "http://s:1",
           "OPENSTS_S3_BACKEND_ACCESS_KEY_ID": "k",
           "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY": "very-secret"}
    settings = Settings.from_env(Path(str(tmp_path)), env)
    assert settings.s3_data_events == "all" and "very-secret" not in repr(settings)
    with pytest.raises(ConfigError):
        Settings.from_env(Path(str(tmp_path)), {**env, "OPENSTS_S3_DATA_EVENTS": "some"})
    with pytest.raises(ConfigError):
        Settings.from_env(Path(str(tmp_path)),
                          {**env, "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY": ""})


# -- the HTTP/1.1 client against a scripted storage -------------------------------------------

async def _storage(answers: list[bytes]) -> tuple[asyncio.AbstractServer, int, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(b"connection")
        while answers:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else b""
            seen.append(head + body)
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


def test_http1_lengths_chunks_reuse_and_heads() -> None:
    async def run() -> None:
        server, port, seen = await _storage([
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: x\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n"
            b"0\r\nx-trailer: t\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",  # HEAD: no body follows
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ])
        client = Http1Client("127.0.0.1", port)
        first = await client.request("GET", "/b/k", [("Host", "s")])
        assert (first.status, first.header("etag"), await first.read(100)) == (200, "x",
                                                                               b"hello")
        await first.aclose()
        second = await client.request("GET", "/b/k2", [("Host", "s")])
        assert await second.read(100) == b"abcde"
        await second.aclose()
        head = await client.request("HEAD", "/b/k", [("Host", "s")])
        assert head.status == 200 and await head.read(100) == b""
        await head.aclose()

        async def pieces() -> AsyncIterator[bytes]:
            yield b"ab"
            yield b"c"

        put = await client.request("PUT", "/b/k", [("Host", "s"), ("Content-Length", "3")],
                                   pieces())
        assert put.status == 204
        await put.aclose()
        assert seen[-1].endswith(b"\r\n\r\nabc")
        assert seen.count(b"connection") == 1 and len(seen) == 5  # one, kept alive
        await client.aclose()
        server.close()

    asyncio.run(run())


def test_http1_failures_are_backend_unavailable() -> None:
    async def run() -> None:
        server, port, _ = await _storage([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                          b"Connection: close\r\n\r\nshort"])
        client = Http1Client("127.0.0.1", port)
        answer = await client.request("GET", "/b/k", [("Host", "s")])
        with pytest.raises(BackendUnavailable):
            await answer.read(100)
        await answer.aclose()
        server.close()
        await server.wait_closed()
        with pytest.raises(BackendUnavailable):
            await Http1Client("127.0.0.1", port, connect_timeout=2).request(
                "GET", "/", [("Host", "s")])
        with pytest.raises(ValueError):
            await client.request("GET", "/", [("Host", "s"), ("X", "a\r\nInjected: 1")])

    asyncio.run(run())


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",  # status not a number
    b"SMTP ready\r\n\r\n",  # not HTTP at all
    b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",  # bad Content-Length
    b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",  # header without a colon
    b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",  # head too big
])
def test_malformed_storage_answer_is_s3s_503(answer: bytes) -> None:
    from opensts.web.s3.backend import Backend

    async def run() -> None:
        server, port, _ = await _storage([answer])
        settings = Settings(data_dir=None, database_url="", master_key=b"", account_id=None,  # type: ignore[arg-type]
                            root_access_key_id=None, root_secret_access_key=None,
                            s3_backend_url=f"http://127.0.0.1:{port}",
                            s3_backend_access_key_id="k", s3_backend_secret_access_key="s")
        backend = Backend(settings)
        with pytest.raises(S3Error) as raised:
            await backend.send(backend.build("GET", "b", "k", [], []))
        assert (raised.value.code, raised.value.status) == ("ServiceUnavailable", 503)
        await backend.aclose()
        server.close()

    asyncio.run(run())


def test_malformed_chunk_framing_is_backend_unavailable() -> None:
    async def run() -> None:
        server, port, _ = await _storage([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                                          b"\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"])
        client = Http1Client("127.0.0.1", port)
        with pytest.raises(BackendUnavailable):  # when it is parsed: with the head or later
            answer = await client.request("GET", "/b/k", [("Host", "s")])
            try:
                await answer.read(100)
            finally:
                await answer.aclose()
        assert not client._idle  # a broken connection is never reused
        server.close()

    asyncio.run(run())


def test_only_s3_query_parameters_reach_the_storage() -> None:
    from opensts.web.s3.backend import Backend

    settings = Settings(data_dir=None, database_url="", master_key=b"", account_id=None,  # type: ignore[arg-type]
                        root_access_key_id=None, root_secret_access_key=None,
                        s3_backend_url="http://storage:8333", s3_backend_access_key_id="k",
                        s3_backend_secret_access_key="s")
    request = Backend(settings).build(
        "GET", "b", "k", [("versionId", "v 1"), ("X-Amz-Signature", "x"), ("x-id", "GetObject"),
                          ("seaweedfs-special", "1"), ("response-content-type", "a/b")], [])
    assert request.target == "/b/k?versionId=v%201&response-content-type=a%2Fb"
