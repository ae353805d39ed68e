"""Credential endpoints for workloads: the container credentials endpoint and IMDSv2.

``opensts serve-credentials`` runs this next to a workload, like the ECS agent or EC2's
instance metadata service: it assumes a configured role (an "instance profile") with its
own source credentials and hands the role's credentials to the SDK's own providers,
renewing them well before they expire (IMDS rotates at least five minutes before
expiration, EC2 User Guide "Retrieve security credentials from instance metadata").

* Container (SDK reference "Container credential provider"): ``GET <full URI>`` with the
  ``Authorization`` header equal to the configured token (compared in constant time);
  answer ``{"AccessKeyId","SecretAccessKey","Token","Expiration","AccountId"}``.
* IMDSv2 (EC2 User Guide "Use IMDSv2"): ``PUT /latest/api/token`` with
  ``X-aws-ec2-metadata-token-ttl-seconds`` (1-21600) returns a session token; every GET
  must carry it in ``X-aws-ec2-metadata-token`` (401 otherwise: v1 is disabled, as AWS
  recommends). ``.../iam/security-credentials/`` names the role, ``.../<role>`` returns
  ``{"Code":"Success","LastUpdated","Type":"AWS-HMAC",...,"Expiration"}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from opensts.sigv4.canonical import canonical_headers
from opensts.sigv4.signing import credential_scope, derive_signing_key, signature, string_to_sign

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
REFRESH_BEFORE = timedelta(minutes=20)
IMDS_MAX_TTL = 21600


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime
    account_id: str
    last_updated: datetime


def sign_query_request(
    url: str, body: bytes, *, key: str, secret: str, token: str | None, region: str,
    now: datetime, service: str = "sts",
) -> dict[str, str]:
    """SigV4 headers for a form POST to ``url`` (what botocore sends for STS)."""
    host = urlsplit(url).netloc
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
               ("host", host), ("x-amz-date", amz_date)]
    if token:
        headers.append(("x-amz-security-token", token))
    names = sorted(h[0] for h in headers)
    path = urlsplit(url).path or "/"
    canonical = "\n".join([
        "POST", path, "", canonical_headers(headers, names), ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = credential_scope(amz_date[:8], region, service)
    signed = signature(derive_signing_key(secret, amz_date[:8], region, service),
                       string_to_sign(canonical, amz_date=amz_date, scope=scope))
    result = {k: v for k, v in headers if k != "host"}
    result["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                               f"SignedHeaders={';'.join(names)}, Signature={signed}")
    return result


class RoleVendor:
    """Assumes ``role_arn`` with the source credentials and caches the result."""

    def __init__(self, endpoint: str, role_arn: str, *, source: tuple[str, str, str | None],
                 region: str = "us-east-1", session_name: str = "opensts-workload",
                 duration: int = 3600, clock: Callable[[], datetime] | None = None):
        self.endpoint = endpoint.rstrip("/") + "/"
        self.role_arn = role_arn
        self.role_name = role_arn.rsplit("/", 1)[-1]
        self.source = source
        self.region = region
        self.session_name = session_name
        self.duration = duration
        self.clock = clock or (lambda: datetime.now(UTC))
        self._cached: Credentials | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Credentials:
        async with self._lock:
            now = self.clock()
            if self._cached is None or self._cached.expiration - now < REFRESH_BEFORE:
                self._cached = await self._assume(now)
            return self._cached

    async def _assume(self, now: datetime) -> Credentials:
        body = urlencode({"Action": "AssumeRole", "Version": "2011-06-15",
                          "RoleArn": self.role_arn, "RoleSessionName": self.session_name,
                          "DurationSeconds": str(self.duration)}).encode()
        key, secret, token = self.source
        headers = sign_query_request(self.endpoint, body, key=key, secret=secret, token=token,
                                     region=self.region, now=now)
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.endpoint, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"AssumeRole failed ({response.status_code}): {response.text}")
        # The response is our own server's XML (trusted endpoint chosen by the operator).
        root = ElementTree.fromstring(response.content)  # noqa: S314
        creds = root.find(f".//{STS_NS}Credentials")
        user = root.find(f".//{STS_NS}AssumedRoleUser/{STS_NS}Arn")
        if creds is None or user is None:
            raise RuntimeError("AssumeRole returned no credentials")

        def text(name: str) -> str:
            return creds.findtext(f"{STS_NS}{name}") or ""

        expiration = datetime.strptime(text("Expiration"), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC)
        return Credentials(text("AccessKeyId"), text("SecretAccessKey"), text("SessionToken"),
                           expiration, (user.text or "").split(":")[4], now)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_workload_app(vendor: RoleVendor, container_token: str,
                       container_path: str = "/v1/credentials") -> Starlette:
    imds_tokens: dict[str, float] = {}

    async def container(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), container_token.encode()):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        creds = await vendor.get()
        return JSONResponse({
            "AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token, "Expiration": _iso(creds.expiration),
            "AccountId": creds.account_id, "RoleArn": vendor.role_arn,
        })

    async def imds_token(request: Request) -> Response:
        # IMDSv2 refuses forwarded requests (X-Forwarded-For), so that a proxy on the host
        # cannot be abused to fetch a token (EC2 User Guide, "Use IMDSv2").
        if "x-forwarded-for" in request.headers:
            return PlainTextResponse("Forbidden", status_code=403)
        ttl_text = request.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= IMDS_MAX_TTL:
            return PlainTextResponse("Bad Request", status_code=400)
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        for old in [t for t, exp in imds_tokens.items() if exp <= now]:
            del imds_tokens[old]
        imds_tokens[token] = now + int(ttl_text)
        return PlainTextResponse(token, headers={
            "x-aws-ec2-metadata-token-ttl-seconds": ttl_text})

    def imds_ok(request: Request) -> bool:
        token = request.headers.get("x-aws-ec2-metadata-token", "")
        expires = imds_tokens.get(token)
        return expires is not None and expires > time.monotonic()

    async def role_list(request: Request) -> Response:
        if not imds_ok(request):
            return PlainTextResponse("Unauthorized", status_code=401)
        return PlainTextResponse(vendor.role_name)

    async def role_credentials(request: Request) -> Response:
        if not imds_ok(request):
            return PlainTextResponse("Unauthorized", status_code=401)
        if request.path_params["role"] != vendor.role_name:
            return PlainTextResponse("Not Found", status_code=404)
        creds = await vendor.get()
        body: dict[str, Any] = {
            "Code": "Success", "LastUpdated": _iso(creds.last_updated), "Type": "AWS-HMAC",
            "AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token, "Expiration": _iso(creds.expiration),
        }
        return JSONResponse(body)

    prefix = "/latest/meta-data/iam/security-credentials"
    return Starlette(routes=[
        Route(container_path, container, methods=["GET"]),
        Route("/latest/api/token", imds_token, methods=["PUT"]),
        Route(prefix + "/", role_list, methods=["GET"]),
        Route(prefix + "/{role}", role_credentials, methods=["GET"]),
    ])
