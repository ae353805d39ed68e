"""Micro-benchmark of the authentication hot path: SigV4 verify, SigV4A verify, token unseal.

Run: .venv/bin/python bench/sigv4.py   (prints numbers; asserts nothing)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opensts.credentials.ids import new_access_key_id, new_secret_access_key
from opensts.credentials.tokens import KeyRing
from opensts.sigv4 import SigningKeyCache, parse_request, verify
from opensts.sigv4.sigv4a import derive_private_key, sign, signature_matches

HOST = "127.0.0.1:8777"


def per_second(label: str, fn: Callable[[], object], seconds: float = 1.0) -> None:
    fn()
    count = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        count += 100
    print(f"{label:<48} {count / elapsed:>10,.0f} /s   {elapsed / count * 1e6:8.1f} us")


def main() -> None:
    secret = new_secret_access_key()
    akid = new_access_key_id("AKIA", "123456789012")
    body = (
        b"Action=AssumeRole&Version=2011-06-15"
        b"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s"
    )
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(akid, secret, "T" * 600), "sts", "us-east-1").add_auth(request)
    prepared = request.prepare()
    headers = [("Host", HOST), *prepared.headers.items()]
    path = urlsplit(prepared.url).path
    signed = parse_request("POST", path, "", headers)
    assert signed is not None
    cache = SigningKeyCache()

    def check(key_cache: SigningKeyCache | None) -> Callable[[], None]:
        def run() -> None:
            parsed = parse_request("POST", path, "", headers)
            assert parsed is not None
            verify(
                parsed,
                method="POST",
                raw_path=path,
                raw_query="",
                headers=headers,
                body=body,
                secret_access_key=secret,
                now=parsed.amz_date,
                key_cache=key_cache,
                services={"sts"},
            )

        return run

    per_second("SigV4 parse+verify (no key cache)", check(None))
    per_second("SigV4 parse+verify (key cache)", check(cache))

    private = derive_private_key(akid, secret)
    per_second("SigV4A key derivation (uncached)", lambda: derive_private_key(akid, secret))
    stamp = signed.timestamp
    sts = f"AWS4-ECDSA-P256-SHA256\n{stamp}\n{stamp[:8]}/sts/aws4_request\n" + "0" * 64
    sig = sign(private, sts)
    public = cache.get_v4a_public_key(akid, secret)
    per_second(
        "SigV4A ECDSA verify (derived key cached)", lambda: signature_matches(public, sts, sig)
    )

    key_id, material = KeyRing.generate_key()
    ring = KeyRing([(key_id, material)], primary=key_id)
    claims = {
        "type": "AssumedRole",
        "acct": "123456789012",
        "arn": "arn:aws:sts::123456789012:assumed-role/deploy-role/ci-session-1234",
        "pid": "AROAEXAMPLEEXAMPLE123:ci-session-1234",
        "role_arn": "arn:aws:iam::123456789012:role/deploy-role",
        "role_id": "AROAEXAMPLEEXAMPLE123",
        "role_name": "deploy-role",
        "sn": "ci-session-1234",
        "op": "AssumeRole",
        "akid": new_access_key_id("ASIA", "123456789012"),
        "sk": new_secret_access_key(),
        "iat": 1795000000,
        "exp": 1795003600,
    }
    token = ring.seal(claims)
    print(f"{'typical AssumeRole session token length':<48} {len(token):>10} chars")
    policy = (
        '{"Version":"2012-10-17","Statement":['
        + ",".join(
            f'{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{i}/*"}}'
            for i in range(25)
        )
        + "]}"
    )
    big = dict(claims, pol=policy[:2048], tags={f"key-{i}": f"value-{i}" * 10 for i in range(50)})
    print(f"{'token with 2 KB policy + 50 tags, length':<48} {len(ring.seal(big)):>10} chars")
    per_second("token seal", lambda: ring.seal(claims))
    per_second("token unseal", lambda: ring.unseal(token))


if __name__ == "__main__":
    main()
