"""GetCredentialsForIdentity over HTTP beside AssumeRole, same run. Prints numbers; asserts
nothing.

Starts ``opensts serve`` (pinned to CPU 0, wrk to CPU 1 when there are two CPUs), trusting a
node oidc-provider peer, makes an identity pool through boto3 with an unauthenticated and
an authenticated role, and replays pre-built requests with wrk (bench/_load.py):
AssumeRole (SigV4-signed), GetCredentialsForIdentity for a guest identity (no login: the
role session with the guests' scope-down policy) and for a signed-in identity (the peer's
RS256 JWT verified on every request, as AssumeRoleWithWebIdentity does). Reports req/s and
p50/p99 with ratios against AssumeRole (issue 15's target: >= 60 %).

Run: .venv/bin/python bench/cognito.py [--seconds 5] [--connections 8]
(needs node + tests/peers/oidc-provider and wrk: scripts/install-test-tools)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

TARGET = "AWSCognitoIdentityService.GetCredentialsForIdentity"


def json_request(endpoint: str, target: str, payload: dict[str, Any]) -> bytes:
    """A raw HTTP/1.1 JSON 1.1 POST without SigV4 (GetCredentialsForIdentity is public)."""
    body = json.dumps(payload)
    head = (f"POST / HTTP/1.1\r\nHost: {urlsplit(endpoint).netloc}\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n")
    return (head + body).encode()


def trust(pool: str, amr: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool},
                      "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]})


def warm(server: Any, batch: list[bytes], marker: bytes, name: str) -> None:
    from assume_role import send_raw

    for raw in batch:
        status, body = send_raw(server.port, raw)
        if status != 200 or marker not in body:
            raise RuntimeError(f"{name}: HTTP {status}: {body[:600]!r}\n{server.log_tail()}")


def main(seconds: float, connections: int) -> None:
    import boto3
    from _load import LoadError, run_wrk, write_wrk_script
    from _servers import ROOT_KEY, ROOT_SECRET, start_opensts
    from assume_role import check, presign, set_up
    from botocore.config import Config

    from tests.federation.oidc_peer import peer_available, start_peer

    reason = peer_available()
    if reason is not None:
        print(f"skipped: {reason}")
        return
    two_cpus = (os.cpu_count() or 1) >= 2
    server_cpu, wrk_cpu = (0, 1) if two_cpus else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        peer = start_peer(work, [{"client_id": "bench-app", "audience": "bench-app"}])
        server = start_opensts(work, server_cpu, {"OPENSTS_CA_BUNDLE": str(peer.ca_file)})
        try:
            endpoint = server.endpoint

            def client(service: str) -> Any:
                return boto3.session.Session().client(
                    service, endpoint_url=endpoint, region_name="us-east-1",
                    aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                    config=Config(retries={"max_attempts": 1}))

            iam, ci = client("iam"), client("cognito-identity")
            caller = set_up(endpoint, ROOT_KEY, ROOT_SECRET)
            provider = iam.create_open_id_connect_provider(
                Url=peer.issuer, ClientIDList=["bench-app"])["OpenIDConnectProviderArn"]
            pool = ci.create_identity_pool(IdentityPoolName="bench",
                                           AllowUnauthenticatedIdentities=True,
                                           OpenIdConnectProviderARNs=[provider])[
                "IdentityPoolId"]
            roles = {kind: iam.create_role(RoleName=f"bench-{kind}",
                                           AssumeRolePolicyDocument=trust(pool, kind))[
                "Role"]["Arn"] for kind in ("authenticated", "unauthenticated")}
            ci.set_identity_pool_roles(IdentityPoolId=pool, Roles=roles)
            guest = ci.get_id(IdentityPoolId=pool)["IdentityId"]
            name = provider.split(":oidc-provider/", 1)[1]
            token = peer.token("bench-app")
            user = ci.get_id(IdentityPoolId=pool, Logins={name: token})["IdentityId"]
            batches = {
                "AssumeRole": presign(endpoint, caller, 200)["AssumeRole"],
                "GetCredentialsForIdentity (guest)": [
                    json_request(endpoint, TARGET, {"IdentityId": guest})],
                "GetCredentialsForIdentity (OIDC)": [
                    json_request(endpoint, TARGET, {"IdentityId": user,
                                                    "Logins": {name: token}})],
            }
            check(server, {"AssumeRole": batches["AssumeRole"][:2]}, True)
            for label, batch in batches.items():
                if label != "AssumeRole":
                    warm(server, batch, b'"SecretKey"', label)
            print(f"{'operation':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'requests':>9} {'non-2xx':>8}")
            rps: dict[str, float] = {}
            for label, batch in batches.items():
                script = work / f"{len(rps)}.lua"
                write_wrk_script(script, batch, 10**9)
                rounds = [run_wrk(f"{endpoint}/", script, seconds=seconds,
                                  connections=connections, cpu=wrk_cpu) for _ in range(3)]
                r = sorted(rounds, key=lambda x: x.rps)[1]  # the median of three
                rps[label] = r.rps
                print(f"{label:<36} {r.rps:>8.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
                      f"{r.requests:>9} {r.non_2xx:>8}", flush=True)
            for label in list(batches)[1:]:
                print(f"{label} / AssumeRole = {rps[label] / rps['AssumeRole']:6.1%}")
        except LoadError as exc:
            print(f"skipped: {exc}")
        finally:
            server.stop()
            peer.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    main(args.seconds, args.connections)
