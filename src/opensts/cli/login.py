"""``opensts login``/``logout``/``credential-process``/``serve-credentials``.

``login`` does what the AWS CLI v2's ``aws login`` does (aws-clients.md §2b) against an
OpenSTS endpoint, and writes the same files, so plain boto3 and the AWS CLI refresh the
credentials by themselves through botocore's LoginProvider:

* the token cache ``$AWS_LOGIN_CACHE_DIRECTORY`` or ``~/.aws/login/cache/<sha256(session
  ARN)>.json`` (``accessToken``, ``tokenType``, ``clientId``, ``refreshToken``, ``idToken``,
  ``dpopKey`` as a SEC1 PEM), written atomically with mode 0600;
* the profile in ``$AWS_CONFIG_FILE`` or ``~/.aws/config``: ``login_session``, ``region``
  and a ``services`` section sending ``signin``, ``sts`` and ``iam`` to OpenSTS.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import http.server
import json
import os
import secrets
import select
import string
import sys
import tempfile
import threading
import uuid
import webbrowser
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"
REFRESH_THRESHOLD = timedelta(minutes=5)  # botocore's LoginCredentialFetcher threshold
LOGIN_TIMEOUT = 600  # seconds to wait for the browser, or for the pasted code (--remote)
# Served by this command's loopback listener, so it cannot use the server's stylesheet:
# the same look (card, type, colours) inline.
SUCCESS_PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed in \xc2\xb7 OpenSTS sign-in</title><style>
:root { color-scheme: light dark; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { padding: 1rem 1.5rem; font-weight: 600; }
main { max-width: 28rem; margin: 2rem auto; padding: 1.5rem 2rem 2rem; border-radius: .5rem;
       border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); }
h1 { font-size: 1.4rem; margin-top: 0; }
.ok { border-left: 4px solid #2e7d32; padding: .25rem .75rem;
      background: color-mix(in srgb, #2e7d32 10%, transparent); }
</style></head><body><header>\xe2\x97\x86 OpenSTS</header><main><h1>You are signed in</h1>
<p role="status" class="ok">The command line received your credentials. You can close this
window.</p></main></body></html>"""


# -- files botocore reads -------------------------------------------------------------------

def cache_dir() -> Path:
    configured = os.environ.get("AWS_LOGIN_CACHE_DIRECTORY")
    if configured:
        return Path(os.path.expandvars(os.path.expanduser(configured)))
    return Path.home() / ".aws" / "login" / "cache"


def cache_path(login_session: str) -> Path:
    return cache_dir() / (hashlib.sha256(login_session.encode()).hexdigest() + ".json")


def config_path() -> Path:
    return Path(os.path.expanduser(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_token(login_session: str) -> dict[str, Any]:
    path = cache_path(login_session)
    if not path.exists():
        raise click.ClickException(f"no login cache for {login_session}; run 'opensts login'")
    return dict(json.loads(path.read_text()))


def save_token(login_session: str, token: dict[str, Any]) -> None:
    _write_private(cache_path(login_session), json.dumps(token, indent=1))


def _section(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def read_profile(profile: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(config_path())
    section = _section(profile)
    return dict(parser[section]) if parser.has_section(section) else {}


def write_profile(profile: str, login_session: str, region: str, endpoint: str) -> None:
    parser = configparser.RawConfigParser()
    path = config_path()
    parser.read(path)
    section = _section(profile)
    services = f"opensts-{profile}"
    if not parser.has_section(section):
        parser.add_section(section)
    for key in ("aws_access_key_id", "aws_secret_access_key", "role_arn",
                "credential_process", "sso_session"):
        if parser.has_option(section, key):
            raise click.ClickException(
                f"profile {profile!r} already holds other credentials ({key}); "
                "choose another --profile")
    parser.set(section, "login_session", login_session)
    parser.set(section, "region", region)
    parser.set(section, "services", services)
    service_section = f"services {services}"
    if not parser.has_section(service_section):
        parser.add_section(service_section)
    for service in ("signin", "sts", "iam"):
        parser.set(service_section, service, f"\nendpoint_url = {endpoint}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        parser.write(handle)


def configured_endpoint(profile_name: str, region: str = "us-east-1") -> str | None:
    """The signin endpoint configured for a profile, resolved by botocore itself (so
    exactly the one botocore's LoginProvider will refresh against): the
    ``AWS_ENDPOINT_URL_SIGNIN`` / ``AWS_ENDPOINT_URL`` environment variables, the profile's
    ``services`` section, its ``endpoint_url``. None when nothing is configured, where
    botocore would fall back to AWS's own endpoint, never the one meant here."""
    import botocore.session  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.exceptions import ProfileNotFound  # type: ignore[import-untyped]

    session = botocore.session.Session(profile=profile_name)
    try:
        resolved = session.create_client("signin", region_name=region).meta.endpoint_url
        default = session.create_client("signin", region_name=region, config=Config(
            ignore_configured_endpoint_urls=True)).meta.endpoint_url
    except ProfileNotFound:
        # A profile `login` is about to create: only the environment can name it.
        if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        return (os.environ.get("AWS_ENDPOINT_URL_SIGNIN")
                or os.environ.get("AWS_ENDPOINT_URL") or None)
    return None if resolved == default else str(resolved)


def endpoint_of(profile: dict[str, str], profile_name: str) -> str | None:
    """The signin endpoint of a profile (``configured_endpoint`` in its region)."""
    return configured_endpoint(profile_name, profile.get("region") or "us-east-1")


# -- OAuth client pieces ----------------------------------------------------------------------

def new_dpop_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def dpop_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def load_dpop_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise click.ClickException("the cached dpopKey is not an EC key")
    return key


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def dpop_proof(key: ec.EllipticCurvePrivateKey, url: str, now: datetime) -> str:
    """RFC 9449 §4.2 proof, shaped like botocore's ``_build_dpop_header``."""
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "x": _b64(numbers.x), "y": _b64(numbers.y), "crv": "P-256"}
    payload = {"htm": "POST", "htu": url, "iat": int(now.timestamp()),
               "jti": str(uuid.uuid4())}
    return jwt.encode(payload, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": jwk})


def pkce_pair() -> tuple[str, str]:
    verifier = "".join(secrets.choice(VERIFIER_ALPHABET) for _ in range(64))
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def base_uri(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def token_call(endpoint: str, body: dict[str, Any], key: ec.EllipticCurvePrivateKey,
               path: str = "/v1/token") -> dict[str, Any]:
    url = base_uri(endpoint) + path
    response = httpx.post(url, json=body, timeout=30,
                          headers={"DPoP": dpop_proof(key, url, datetime.now(UTC))})
    data = response.json() if response.content else {}
    if response.status_code != 200:
        raise click.ClickException(
            f"{path} failed: {data.get('error', response.status_code)}: {data.get('message', '')}")
    return dict(data)


class _Callback(http.server.BaseHTTPRequestHandler):
    result: dict[str, str] | None = None
    done: threading.Event

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/oauth/callback":
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        type(self).result = query
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(SUCCESS_PAGE)))
        self.end_headers()
        self.wfile.write(SUCCESS_PAGE)
        type(self).done.set()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _wait_for_callback(open_url: Any, build_url: Any, timeout: int) -> dict[str, str]:
    class Callback(_Callback):
        # Per call: a fresh event and result, not shared with an earlier sign-in.
        done = threading.Event()
        result = None

    handler = Callback
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
        open_url(build_url(redirect_uri), redirect_uri)
        if not handler.done.wait(timeout):
            raise click.ClickException(
                f"no sign-in from the browser within {_duration(timeout)}; run "
                "'opensts login' again")
        result = dict(handler.result or {})
        result["redirect_uri"] = redirect_uri
        return result
    finally:
        server.shutdown()
        server.server_close()


def _duration(seconds: int) -> str:
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _prompt_within(text: str, timeout: int) -> str:
    """``click.prompt`` that gives up after ``timeout`` seconds. It waits with ``select``
    on stdin (a terminal becomes readable when a line is entered), not with a reader
    thread: a thread blocked in stdin's read cannot be stopped and takes the process down
    at exit. Windows cannot select on stdin: there the prompt waits as long as it takes."""
    if os.name == "nt":
        return str(click.prompt(text))
    click.echo(f"{text}: ", nl=False)
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        click.echo("", err=True)
        raise click.ClickException(
            f"no verification code was entered within {_duration(timeout)}; run "
            "'opensts login --remote' again (or give it more time with --timeout)")
    line = sys.stdin.readline()
    if not line:  # end of input
        raise click.Abort()
    return line


# -- commands -----------------------------------------------------------------------------------

@click.command("login")
@click.option("--profile", default=lambda: os.environ.get("AWS_PROFILE", "default"),
              show_default="AWS_PROFILE or default",
              help="the profile to write (login_session, region, services)")
@click.option("--remote", is_flag=True, help="sign in on another device and paste the code")
@click.option("--endpoint-url",
              help="the OpenSTS server, e.g. http://host:8777 (default: the profile's "
              "signin endpoint as botocore resolves it: AWS_ENDPOINT_URL_SIGNIN, "
              "AWS_ENDPOINT_URL, the profile's services section or endpoint_url)")
@click.option("--region", default=lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
              show_default="AWS_DEFAULT_REGION or us-east-1",
              help="the region written to the profile")
@click.option("--no-browser", is_flag=True, help="print the URL instead of opening a browser")
@click.option("--timeout", type=click.IntRange(min=1), default=LOGIN_TIMEOUT,
              show_default=True,
              help="seconds to wait for the browser sign-in (with --remote: for the "
              "verification code to be pasted) before giving up")
def login(profile: str, remote: bool, endpoint_url: str | None, region: str,
          no_browser: bool, timeout: int) -> None:
    """Sign in through the browser; write the profile and botocore's login token cache."""
    if not endpoint_url:
        endpoint_url = configured_endpoint(profile, region)
    if not endpoint_url:
        raise click.ClickException(
            f"no OpenSTS endpoint for profile {profile!r}: pass --endpoint-url, or set "
            "endpoint_url in the profile (~/.aws/config) or AWS_ENDPOINT_URL")
    key = new_dpop_key()
    verifier, challenge = pkce_pair()
    state = str(uuid.uuid4())
    base = base_uri(endpoint_url)
    client_id = CROSS_DEVICE if remote else SAME_DEVICE

    def authorize_url(redirect_uri: str) -> str:
        return f"{base}/v1/authorize?" + urlencode({
            "response_type": "code", "client_id": client_id, "state": state,
            "code_challenge_method": "SHA-256", "scope": "openid",
            "redirect_uri": redirect_uri, "code_challenge": challenge,
        })

    if remote:
        redirect_uri = f"{base}/v1/sessions/confirmation"
        click.echo("Open this URL on a device with a browser and sign in:\n")
        click.echo(authorize_url(redirect_uri) + "\n")
        click.echo(f"(waiting up to {_duration(timeout)})")
        pasted = _prompt_within("Verification code", timeout).strip()
        try:
            decoded = base64.b64decode(pasted, validate=True).decode()
        except ValueError:
            raise click.ClickException("the verification code is not valid") from None
        fields = {k: v[0] for k, v in parse_qs(decoded).items()}
    else:
        def show(url: str, _redirect: str) -> None:
            click.echo(f"Sign in with your browser:\n\n{url}\n", err=True)
            sys.stderr.flush()
            if not no_browser:
                webbrowser.open(url)

        fields = _wait_for_callback(show, authorize_url, timeout)
        redirect_uri = fields.pop("redirect_uri")
    if "error" in fields:
        reason = fields.get("error_description") or fields["error"]
        raise click.ClickException(f"sign-in failed: {reason}")
    if not secrets.compare_digest(fields.get("state", ""), state):
        raise click.ClickException("sign-in failed: the state does not match this request")
    if not fields.get("code"):
        raise click.ClickException("sign-in failed: no authorization code was returned")
    output = token_call(endpoint_url, {
        "clientId": client_id, "grantType": "authorization_code", "code": fields["code"],
        "codeVerifier": verifier, "redirectUri": redirect_uri,
    }, key)
    payload_part = output["idToken"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
    session = claims["sub"]
    now = datetime.now(UTC)
    token = {
        "accessToken": {**output["accessToken"], "accountId": session.split(":")[4],
                        "expiresAt": (now + timedelta(seconds=output["expiresIn"])).strftime(
                            "%Y-%m-%dT%H:%M:%SZ")},
        "tokenType": output.get("tokenType", "aws_sigv4"),
        "clientId": client_id,
        "refreshToken": output["refreshToken"],
        "idToken": output["idToken"],
        "dpopKey": dpop_key_pem(key),
    }
    save_token(session, token)
    write_profile(profile, session, region, endpoint_url)
    click.echo(f"Signed in as {session} (profile {profile}).")


@click.command("logout")
@click.option("--profile", default=lambda: os.environ.get("AWS_PROFILE", "default"),
              show_default="AWS_PROFILE or default",
              help="the profile whose sign-in session is revoked")
def logout(profile: str) -> None:
    """Revoke the profile's sign-in session on the server and delete its token cache."""
    settings = read_profile(profile)
    session = settings.get("login_session")
    if not session:
        raise click.ClickException(f"profile {profile!r} has no login_session")
    path = cache_path(session)
    if path.exists():
        token = json.loads(path.read_text())
        endpoint = endpoint_of(settings, profile)
        if endpoint:
            try:
                token_call(endpoint, {"clientId": token["clientId"],
                                      "refreshToken": token["refreshToken"]},
                           load_dpop_key(token["dpopKey"]), path="/v1/revoke")
            except (click.ClickException, httpx.HTTPError) as exc:
                click.echo(f"warning: could not revoke on the server: {exc}", err=True)
        path.unlink()
    click.echo(f"Signed out of {session}.")


def refreshed_token(profile: str, now: datetime) -> dict[str, Any]:
    """The cached token, refreshed through ``/v1/token`` when 5 minutes or less remain
    (botocore's rule), and saved back so other processes share it."""
    settings = read_profile(profile)
    session = settings.get("login_session")
    if not session:
        raise click.ClickException(f"profile {profile!r} has no login_session")
    token = load_token(session)
    expires = datetime.strptime(token["accessToken"]["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
    if expires.replace(tzinfo=UTC) - now > REFRESH_THRESHOLD:
        return token
    endpoint = endpoint_of(settings, profile)
    if not endpoint:
        raise click.ClickException(f"profile {profile!r} has no signin endpoint")
    output = token_call(endpoint, {"clientId": token["clientId"], "grantType": "refresh_token",
                                   "refreshToken": token["refreshToken"]},
                        load_dpop_key(token["dpopKey"]))
    token["accessToken"] = {
        **output["accessToken"], "accountId": token["accessToken"]["accountId"],
        "expiresAt": (now + timedelta(seconds=output["expiresIn"])).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
    }
    token["refreshToken"] = output["refreshToken"]
    save_token(session, token)
    return token


@click.command("credential-process")
@click.option("--profile", required=True, help="a profile written by 'opensts login'")
def credential_process(profile: str) -> None:
    """Print the profile's credentials as credential_process Version 1 JSON."""
    token = refreshed_token(profile, datetime.now(UTC))
    access = token["accessToken"]
    click.echo(json.dumps({
        "Version": 1, "AccessKeyId": access["accessKeyId"],
        "SecretAccessKey": access["secretAccessKey"], "SessionToken": access["sessionToken"],
        "Expiration": access["expiresAt"], "AccountId": access["accountId"],
    }))


@click.command("serve-credentials")
@click.option("--endpoint-url", required=True, help="the OpenSTS server")
@click.option("--role-arn", required=True, help="the role whose credentials are served")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address the credentials endpoints listen on (keep it loopback: the "
              "container endpoint hands out credentials to whoever holds the token)")
@click.option("--port", default=8778, show_default=True, type=int,
              help="port of the container and IMDSv2 endpoints")
@click.option("--region", default="us-east-1", show_default=True,
              help="region of the AssumeRole calls and of the IMDS placement answers")
@click.option("--duration", default=3600, show_default=True, type=int,
              help="DurationSeconds of each AssumeRole; credentials renew before expiry")
@click.option("--token-file", type=click.Path(path_type=Path),
              help="file holding the container authorization token (else generated, printed)")
def serve_credentials(endpoint_url: str, role_arn: str, host: str, port: int, region: str,
                      duration: int, token_file: Path | None) -> None:
    """Serve a role's credentials on the container endpoint and an IMDSv2 endpoint.

    Source credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    (/ AWS_SESSION_TOKEN)."""
    import uvicorn

    from opensts.web.signin.workload import RoleVendor, build_workload_app

    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise click.ClickException("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if token_file is not None:
        container_token = token_file.read_text().strip()
    else:
        container_token = secrets.token_urlsafe(32)
        click.echo(f"AWS_CONTAINER_AUTHORIZATION_TOKEN={container_token}")
    vendor = RoleVendor(endpoint_url, role_arn, region=region, duration=duration,
                        source=(key, secret, os.environ.get("AWS_SESSION_TOKEN")))
    click.echo(f"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{host}:{port}/v1/credentials")
    click.echo(f"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{host}:{port}/")
    sys.stdout.flush()
    # proxy_headers off: the endpoints never believe X-Forwarded-* (IMDSv2 refuses them).
    uvicorn.run(build_workload_app(vendor, container_token), host=host, port=port,
                log_level="warning", access_log=False, proxy_headers=False)


COMMANDS = (login, logout, credential_process, serve_credentials)
