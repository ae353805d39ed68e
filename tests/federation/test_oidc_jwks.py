"""JwksCache behaviour against a loopback HTTPS server whose answers the test controls."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from opensts.federation.errors import IDPCommunicationError, InvalidIdentityToken
from opensts.federation.oidc import JwksCache

from .pki import ca_and_server


class FakeIdp:
    """Serves discovery and JWKS documents; counts requests per path."""

    def __init__(self, workdir: Path) -> None:
        ca, server_pair = ca_and_server("127.0.0.1")
        self.ca_file = workdir / "ca.pem"
        self.ca_file.write_text(ca.cert_pem)
        (workdir / "s.key").write_text(server_pair.key_pem)
        (workdir / "s.crt").write_text(server_pair.cert_pem)
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: dict[str, int] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.hits[self.path] = fake.hits.get(self.path, 0) + 1
                status, headers, body = fake.routes.get(self.path, (404, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(workdir / "s.crt", workdir / "s.key")
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.issuer = f"https://127.0.0.1:{self.httpd.server_address[1]}/tenant/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def publish(self, kids: list[str], cache_control: str | None = None) -> None:
        keys = []
        for kid in kids:
            jwk = json.loads(
                RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key())
            )
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        base = self.issuer.rstrip("/")
        discovery = {"issuer": self.issuer, "jwks_uri": f"{base}/keys"}
        self.routes["/tenant/.well-known/openid-configuration"] = (
            200,
            {"Content-Type": "application/json"},
            json.dumps(discovery).encode(),
        )
        headers = {"Content-Type": "application/json"}
        if cache_control:
            headers["Cache-Control"] = cache_control
        self.routes["/tenant/keys"] = (200, headers, json.dumps({"keys": keys}).encode())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_idp(tmp_path: Path) -> Iterator[FakeIdp]:
    idp = FakeIdp(tmp_path)
    yield idp
    idp.close()


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cache_for(idp: FakeIdp, clock: Clock, **kw: Any) -> JwksCache:
    return JwksCache(ca_bundle=str(idp.ca_file), clock=clock, **kw)


def test_discovery_with_trailing_slash_issuer(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["k1"])
    cache = cache_for(fake_idp, Clock())
    assert cache.signing_key(fake_idp.issuer, "k1").kid == "k1"
    assert fake_idp.hits["/tenant/.well-known/openid-configuration"] == 1


def test_default_ttl_then_refetch(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["k1"])
    clock = Clock()
    cache = cache_for(fake_idp, clock)
    cache.signing_key(fake_idp.issuer, "k1")
    clock.t += 3599
    cache.signing_key(fake_idp.issuer, "k1")
    assert fake_idp.hits["/tenant/keys"] == 1
    clock.t += 2
    cache.signing_key(fake_idp.issuer, "k1")
    assert fake_idp.hits["/tenant/keys"] == 2


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        ("public, max-age=120", 120),
        ("max-age=5", 60),  # clamped up to min_ttl
        ("max-age=9999999", 86400),  # clamped down to max_ttl
        ("no-store", 60),
    ],
)
def test_cache_control_max_age_within_bounds(fake_idp: FakeIdp, header: str, ttl: int) -> None:
    fake_idp.publish(["k1"], cache_control=header)
    clock = Clock()
    cache = cache_for(fake_idp, clock)
    cache.signing_key(fake_idp.issuer, "k1")
    clock.t += ttl - 1
    cache.signing_key(fake_idp.issuer, "k1")
    assert fake_idp.hits["/tenant/keys"] == 1
    clock.t += 2
    cache.signing_key(fake_idp.issuer, "k1")
    assert fake_idp.hits["/tenant/keys"] == 2


def test_unknown_kid_refetches_once_per_interval(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["k1"])
    clock = Clock()
    cache = cache_for(fake_idp, clock, refetch_interval=30)
    cache.signing_key(fake_idp.issuer, "k1")
    fake_idp.publish(["k2"])  # the IdP rotates its key
    # Too soon after the last fetch: no new request, the kid is unknown.
    with pytest.raises(InvalidIdentityToken, match="not found"):
        cache.signing_key(fake_idp.issuer, "k2")
    assert fake_idp.hits["/tenant/keys"] == 1
    clock.t += 31
    assert cache.signing_key(fake_idp.issuer, "k2").kid == "k2"
    assert fake_idp.hits["/tenant/keys"] == 2
    for _ in range(5):  # a burst of bogus kids costs at most one fetch per interval
        with pytest.raises(InvalidIdentityToken):
            cache.signing_key(fake_idp.issuer, "bogus")
    assert fake_idp.hits["/tenant/keys"] == 2


def test_missing_kid_needs_a_single_key(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["only"])
    assert cache_for(fake_idp, Clock()).signing_key(fake_idp.issuer, None).kid == "only"
    fake_idp.publish(["a", "b"])
    with pytest.raises(InvalidIdentityToken):
        cache_for(fake_idp, Clock()).signing_key(fake_idp.issuer, None)


def test_unreachable_idp() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = JwksCache(timeout_seconds=2)
    with pytest.raises(IDPCommunicationError) as info:
        cache.signing_key(f"https://127.0.0.1:{port}", "k")
    assert info.value.code == "IDPCommunicationError" and info.value.status == 400


def test_idp_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts TCP but never speaks TLS
        port = listener.getsockname()[1]
        cache = JwksCache(timeout_seconds=0.5)
        with pytest.raises(IDPCommunicationError):
            cache.signing_key(f"https://127.0.0.1:{port}", "k")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, b"{}", IDPCommunicationError),
        (200, b"not json", InvalidIdentityToken),
        (200, b"[]", InvalidIdentityToken),
        (200, b'{"keys": "nope"}', InvalidIdentityToken),
        (200, b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', InvalidIdentityToken),
        (200, b'{"keys": [' + b",".join([b'{"kty":"RSA"}'] * 101) + b"]}", InvalidIdentityToken),
        (200, b'{"pad": "' + b"x" * 300_000 + b'"}', InvalidIdentityToken),
    ],
)
def test_bad_jwks_documents(
    fake_idp: FakeIdp, status: int, body: bytes, error: type[Exception]
) -> None:
    fake_idp.publish(["k1"])
    fake_idp.routes["/tenant/keys"] = (status, {}, body)
    with pytest.raises(error, match="Couldn't retrieve verification key"):
        cache_for(fake_idp, Clock()).signing_key(fake_idp.issuer, "k1")


def test_private_key_material_is_dropped_and_symmetric_keys_ignored(fake_idp: FakeIdp) -> None:
    private = rsa.generate_private_key(65537, 2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private))
    assert "d" in jwk
    jwk.update(kid="k1")
    document = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, jwk]}
    fake_idp.publish([])
    fake_idp.routes["/tenant/keys"] = (200, {}, json.dumps(document).encode())
    cache = cache_for(fake_idp, Clock())
    key = cache.signing_key(fake_idp.issuer, "k1")
    assert isinstance(key.key, rsa.RSAPublicKey)
    with pytest.raises(InvalidIdentityToken):
        cache.signing_key(fake_idp.issuer, "hmac")


def test_concurrent_first_use_fetches_once(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["k1"])
    cache = cache_for(fake_idp, Clock())
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            cache.signing_key(fake_idp.issuer, "k1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert fake_idp.hits["/tenant/keys"] == 1


def test_http_jwks_uri_is_refused(fake_idp: FakeIdp) -> None:
    fake_idp.publish(["k1"])
    fake_idp.routes["/tenant/.well-known/openid-configuration"] = (
        200,
        {},
        b'{"jwks_uri": "http://127.0.0.1:1/keys"}',
    )
    with pytest.raises(InvalidIdentityToken):
        cache_for(fake_idp, Clock()).signing_key(fake_idp.issuer, "k1")
