"""CreateOAuth2Token refreshes/s and p99 next to AssumeRole, against one fresh server.

Usage: python bench/token_refresh.py [N]   (prints numbers; no assertions)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import start_server, stop_server
from tests.signin.helpers import Browser, Client, make_user


def report(name: str, samples: list[float], wall: float) -> None:
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    p50 = statistics.median(samples)
    print(f"{name:<22} {len(samples) / wall:8.1f} req/s   p50 {p50 * 1000:6.2f} ms"
          f"   p99 {p99 * 1000:6.2f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            iam = server.client("iam")
            user = make_user(iam, server.account_id)
            client = Client(server.endpoint)
            code = Browser(server.endpoint).login(user, challenge=client.challenge)["code"]
            token = client.exchange(code).json()["refreshToken"]
            samples: list[float] = []
            start = time.perf_counter()
            for _ in range(n):
                t0 = time.perf_counter()
                response = client.refresh(token)
                samples.append(time.perf_counter() - t0)
                token = response.json()["refreshToken"]
            report("CreateOAuth2Token", samples, time.perf_counter() - start)

            import json
            role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "sts:AssumeRole", "Principal": {"AWS": user.arn}}]}))
            # The role trusts the bench user (the account root may not assume roles).
            key = iam.create_access_key(UserName=user.name)["AccessKey"]
            sts = server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
            samples = []
            start = time.perf_counter()
            for i in range(n):
                t0 = time.perf_counter()
                sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName=f"b{i}")
                samples.append(time.perf_counter() - t0)
            report("AssumeRole", samples, time.perf_counter() - start)
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
