"""A small signed AWS client for the CLI: IAM (query/XML), Organizations (JSON 1.1), S3 (REST).

``opensts policy explain --endpoint-url`` reads live policies with the caller's own
credentials, so what it may read is what those credentials may read. boto3 is a test-only
dependency, so requests are signed here with ``opensts.sigv4.outbound`` and sent with httpx.

Credentials come from the places the AWS CLI looks, in its order (botocore's credential
chain, the parts that apply to an OpenSTS endpoint): the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``; skipped when a profile is named
explicitly), then the profile in the shared credentials file
(``$AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``), then in the config file
(``opensts login``'s ``login_session``, ``credential_process``, static keys).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shlex
import subprocess
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from opensts.sigv4.canonical import uri_encode
from opensts.sigv4.outbound import sign_headers

IAM_VERSION, STS_VERSION = "2010-05-08", "2011-06-15"
ORGANIZATIONS_TARGET = "AWSOrganizationsV20161128"
_IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    source: str  # where they were found, for messages (never the secret)


class AwsCallError(Exception):
    """An AWS error answer: its code and message, as the server sent them."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _ini(path: Path, section: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    return dict(parser[section]) if parser.has_section(section) else {}


def _static(values: dict[str, str], source: str) -> Credentials | None:
    key, secret = values.get("aws_access_key_id"), values.get("aws_secret_access_key")
    if key and secret:
        return Credentials(key, secret, values.get("aws_session_token") or None, source)
    return None


def _from_process(command: str, profile: str) -> Credentials:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60,
                              check=True)
        out = json.loads(done.stdout)
        return Credentials(out["AccessKeyId"], out["SecretAccessKey"], out.get("SessionToken"),
                           f"credential_process of profile {profile}")
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(
            f"credential_process of profile {profile!r} failed: {type(exc).__name__}") from None


def find_credentials(profile: str | None) -> Credentials:
    """The caller's credentials (see the module docstring for the order)."""
    from opensts.cli.login import config_path, read_profile, refreshed_token

    if profile is None:
        env_key, env_secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get(
            "AWS_SECRET_ACCESS_KEY")
        if env_key and env_secret:
            return Credentials(env_key, env_secret, os.environ.get("AWS_SESSION_TOKEN") or None,
                               "environment")
    name = profile or os.environ.get("AWS_PROFILE") or "default"
    shared = Path(os.path.expanduser(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")))
    found = _static(_ini(shared, name), f"{shared} [{name}]")
    if found:
        return found
    settings = read_profile(name)
    if settings.get("login_session"):
        access = refreshed_token(name, datetime.now(UTC))["accessToken"]
        return Credentials(access["accessKeyId"], access["secretAccessKey"],
                           access["sessionToken"], f"login session of profile {name}")
    if settings.get("credential_process"):
        return _from_process(settings["credential_process"], name)
    found = _static(settings, f"{config_path()} [{name}]")
    if found:
        return found
    raise click.ClickException(
        f"no AWS credentials found (environment, profile {name!r} of {shared} or "
        f"{config_path()})")


def profile_region(profile: str | None) -> str:
    from opensts.cli.login import read_profile

    return (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            or read_profile(profile or os.environ.get("AWS_PROFILE") or "default").get("region")
            or "us-east-1")


class AwsClient:
    """Signed calls to one endpoint with one set of credentials."""

    def __init__(self, endpoint: str, credentials: Credentials, region: str,
                 timeout: float = 30.0):
        self.endpoint = endpoint.rstrip("/")
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.credentials = credentials
        self.region = region
        verify: str | bool = os.environ.get("AWS_CA_BUNDLE") or True
        self.http = httpx.Client(timeout=timeout, verify=verify, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, query: str, service: str, body: bytes,
              headers: list[tuple[str, str]], *, s3: bool = False) -> httpx.Response:
        payload_hash = hashlib.sha256(body).hexdigest()
        creds = self.credentials
        signed = sign_headers(
            method=method, raw_path=path, raw_query=query,
            headers=[("Host", self.host), *headers],
            access_key_id=creds.access_key_id, secret_access_key=creds.secret_access_key,
            session_token=creds.session_token, region=self.region, service=service,
            now=datetime.now(UTC), payload_hash=payload_hash, normalize=not s3,
            content_sha256_header=s3)
        url = self.endpoint + path + (f"?{query}" if query else "")
        try:
            return self.http.request(method, url, content=body,
                                     headers=[(k, v) for k, v in signed if k != "Host"])
        except httpx.HTTPError as exc:
            raise click.ClickException(f"{self.endpoint} did not answer: {exc}") from None

    def iam(self, action: str, **params: str) -> Any:
        """An IAM query call; the XML answer's ``{Action}Result`` element (lxml)."""
        return self._query("iam", IAM_VERSION, _IAM_NS, action, params)

    def caller_account(self) -> str:
        """The account of these credentials (sts:GetCallerIdentity, which needs no
        permission)."""
        result = self._query("sts", STS_VERSION, _STS_NS, "GetCallerIdentity", {})
        account = result.findtext(f"{_STS_NS}Account")
        if not account:
            raise _bad_answer("GetCallerIdentity has no Account")
        return str(account)

    def _query(self, service: str, version: str, ns: str, action: str,
               params: dict[str, str]) -> Any:
        from opensts.federation.saml.xmlsafe import parse_untrusted

        body = urllib.parse.urlencode({"Action": action, "Version": version, **params})
        response = self._send("POST", "/", "", service, body.encode(), [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")])
        root = parse_untrusted(response.content, _bad_answer)
        if response.status_code != 200:
            code = root.findtext(f".//{ns}Code") or root.findtext(".//Code") or "Error"
            message = root.findtext(f".//{ns}Message") or root.findtext(".//Message") or ""
            raise AwsCallError(code, message, response.status_code)
        result = root.find(f"{ns}{action}Result")
        if result is None:
            raise _bad_answer(f"no {action}Result")
        return result

    def organizations(self, action: str, **body: Any) -> dict[str, Any]:
        response = self._send("POST", "/", "", "organizations", json.dumps(body).encode(), [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", f"{ORGANIZATIONS_TARGET}.{action}")])
        try:
            data = response.json() if response.content else {}
        except ValueError:
            raise _bad_answer("not JSON") from None
        if response.status_code != 200:
            code = str(data.get("__type", "Error")).rpartition("#")[2]
            raise AwsCallError(code, str(data.get("message") or data.get("Message") or ""),
                               response.status_code)
        return data if isinstance(data, dict) else {}

    def s3_get(self, bucket: str, subresource: str) -> httpx.Response:
        """GET /bucket?subresource (path style, as OpenSTS serves S3 at its endpoint)."""
        path = "/" + uri_encode(bucket)
        response = self._send("GET", path, f"{subresource}=", "s3", b"", [], s3=True)
        if response.status_code != 200:
            from opensts.federation.saml.xmlsafe import parse_untrusted

            try:
                root = parse_untrusted(response.content, _bad_answer)
                code, message = root.findtext("Code") or "Error", root.findtext("Message") or ""
            except click.ClickException:
                code, message = f"HTTP{response.status_code}", ""
            raise AwsCallError(code, message, response.status_code)
        return response


def _bad_answer(reason: str) -> click.ClickException:
    return click.ClickException(f"the endpoint's answer could not be read ({reason})")


def text(element: Any, path: str) -> str | None:
    """The text of an IAM XML child (``a/b`` paths in IAM's namespace)."""
    found = element.find("/".join(_IAM_NS + p for p in path.split("/")))
    return None if found is None else (found.text or "")


def members(element: Any, path: str) -> list[Any]:
    """The ``member`` elements of an IAM XML list."""
    found = element.find("/".join(_IAM_NS + p for p in path.split("/")))
    return [] if found is None else list(found.findall(f"{_IAM_NS}member"))
