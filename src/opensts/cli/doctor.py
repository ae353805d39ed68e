"""``opensts doctor``: where this machine's AWS clients would send their STS, IAM and S3 calls.

A client configured for OpenSTS signs its requests with OpenSTS keys; if it does not honour
the setting meant to point it at OpenSTS, those signed requests go to real AWS instead, and
nothing on the command line says so. The classic case is Debian's AWS CLI 2.9: it ignores
``AWS_ENDPOINT_URL`` (honoured from CLI v2 2.13.0 / CLI v1 1.29.0 / botocore 1.31.0). This
reads the shared config and credentials files and the ``AWS_*`` environment as botocore
does, finds the installed clients and their versions, and says per profile and client where
each call would go and why. Exit 1 when a profile meant for OpenSTS (some endpoint setting
names one) would still send a call to AWS.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import click

SERVICES = ("sts", "iam", "s3")
# The first releases that read AWS_ENDPOINT_URL(_<SERVICE>) and endpoint_url/services from the
# config file: botocore CHANGELOG 1.31.0, aws-cli CHANGELOG 1.29.0 (master) and 2.13.0 (v2),
# each "feature:configuration: Configure the endpoint URL in the shared configuration file or
# via an environment variable for a specific AWS service or all AWS services."
CONFIGURED_ENDPOINTS_SINCE = {"cli1": (1, 29, 0), "cli2": (2, 13, 0), "botocore": (1, 31, 0)}
# The first releases with the login_session credential provider: botocore 1.41.0, aws-cli
# 1.43.0 ("Adds support for the login credential provider") and 2.32.0 (``aws login``).
LOGIN_SINCE = {"cli1": (1, 43, 0), "cli2": (2, 32, 0), "botocore": (1, 41, 0)}
_VERSION = re.compile(r"aws-cli/(\d+)\.(\d+)\.(\d+)")
_BOTOCORE = re.compile(r"botocore/(\d+\.\d+\.\d+)")
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class Client:
    """One installed client and whether it honours configured endpoint URLs."""

    name: str  # what runs it: a path to an ``aws`` executable, or "botocore (python X)"
    kind: str  # "cli1", "cli2" or "botocore"
    version: tuple[int, int, int]
    detail: str = ""
    active: bool = True  # False for an ``aws`` shadowed by an earlier one on PATH

    @property
    def label(self) -> str:
        kind = {"cli1": "AWS CLI v1", "cli2": "AWS CLI v2", "botocore": "botocore"}[self.kind]
        return f"{kind} {'.'.join(map(str, self.version))}"

    @property
    def honours_configured_endpoints(self) -> bool:
        return self.version >= CONFIGURED_ENDPOINTS_SINCE[self.kind]


@dataclass(frozen=True)
class Route:
    service: str
    url: str
    why: str
    to_aws: bool


@dataclass
class AwsConfig:
    """The shared config and credentials files as botocore reads them."""

    config_file: Path
    credentials_file: Path
    profiles: dict[str, dict[str, str]]
    services: dict[str, dict[str, str]]  # [services NAME] -> {"sts": "\nendpoint_url = ..."}
    credentials: dict[str, dict[str, str]]

    @classmethod
    def load(cls, env: Mapping[str, str]) -> AwsConfig:
        home = Path(env.get("HOME") or Path.home())
        config_file = Path(os.path.expanduser(env.get("AWS_CONFIG_FILE") or home / ".aws/config"))
        credentials_file = Path(os.path.expanduser(
            env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws/credentials"))
        profiles: dict[str, dict[str, str]] = {}
        services: dict[str, dict[str, str]] = {}
        for section, values in _read_ini(config_file).items():
            if section == "default":
                profiles["default"] = values
            elif section.startswith("profile "):
                profiles[section[len("profile "):].strip()] = values
            elif section.startswith("services "):
                services[section[len("services "):].strip()] = values
        return cls(config_file, credentials_file, profiles, services, _read_ini(credentials_file))

    def profile_names(self) -> list[str]:
        return sorted(set(self.profiles) | set(self.credentials) | {"default"})


def _read_ini(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    try:
        parser.read(path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot be parsed: {exc}") from exc
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _nested(value: str | None) -> dict[str, str]:
    """A nested value (``sts =`` followed by indented ``endpoint_url = ...`` lines)."""
    found: dict[str, str] = {}
    for line in (value or "").splitlines():
        key, sep, rest = line.partition("=")
        if sep:
            found[key.strip().lower()] = rest.strip()
    return found


def aws_default(service: str, region: str | None) -> str:
    """The AWS endpoint a client uses with nothing configured: regional STS (botocore's
    default, and CLI v2's only choice), the global endpoints without a region."""
    if service == "iam":
        return "https://iam.amazonaws.com"
    if service == "signin":  # login_session refreshes (CreateOAuth2Token)
        return f"https://{region or 'us-east-1'}.signin.aws.amazon.com"
    if region is None:
        return f"https://{service}.amazonaws.com"
    return f"https://{service}.{region}.amazonaws.com"


def route(service: str, profile: str, client: Client, cfg: AwsConfig,
          env: Mapping[str, str]) -> Route:
    """Where ``client`` sends ``service`` calls of ``profile``, in botocore's order
    (configprovider.ConfiguredEndpointProvider): AWS_ENDPOINT_URL_<SERVICE>,
    AWS_ENDPOINT_URL, the profile's ``services`` section, the profile's ``endpoint_url``."""
    values = cfg.profiles.get(profile, {})
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or values.get("region")
    found = configured_endpoint(service, profile, cfg, env)
    aws = aws_default(service, region)
    if found is None:
        return Route(service, aws, "nothing configured", True)
    url, source = found
    if source.startswith("ignored"):
        return Route(service, aws, source, True)
    if not client.honours_configured_endpoints:
        since = ".".join(map(str, CONFIGURED_ENDPOINTS_SINCE[client.kind]))
        return Route(service, aws, f"{source} is IGNORED: {client.label} reads it only from "
                     f"{since} on", True)
    return Route(service, url, source, _is_aws(url))


def configured_endpoint(service: str, profile: str, cfg: AwsConfig,
                        env: Mapping[str, str]) -> tuple[str, str] | None:
    """The endpoint setting a current client would use, and where it comes from."""
    values = cfg.profiles.get(profile, {})
    candidates: list[tuple[str, str]] = []
    key = f"AWS_ENDPOINT_URL_{service.upper()}"
    if env.get(key):
        candidates.append((env[key], key))
    if env.get("AWS_ENDPOINT_URL"):
        candidates.append((env["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL"))
    section = values.get("services")
    if section:
        nested = _nested(cfg.services.get(section, {}).get(service))
        if nested.get("endpoint_url"):
            candidates.append((nested["endpoint_url"],
                               f"[services {section}] {service} endpoint_url in {cfg.config_file}"))
    if values.get("endpoint_url"):
        candidates.append((values["endpoint_url"],
                           f"endpoint_url of profile {profile} in {cfg.config_file}"))
    if not candidates:
        return None
    ignore = (env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
              or values.get("ignore_configured_endpoint_urls") or "")
    if ignore.strip().lower() in _TRUE:
        return candidates[0][0], f"ignored: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / " \
                                 f"ignore_configured_endpoint_urls is on ({candidates[0][1]})"
    return candidates[0]


def _is_aws(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".aws", ".amazon.com"))


def credential_source(profile: str, cfg: AwsConfig, env: Mapping[str, str]) -> str:
    values = {**cfg.credentials.get(profile, {}), **cfg.profiles.get(profile, {})}
    active = (env.get("AWS_PROFILE") or "default") == profile
    if active and env.get("AWS_ACCESS_KEY_ID"):
        return "access key from AWS_ACCESS_KEY_ID (environment)"
    if "role_arn" in values:
        via = values.get("source_profile") or values.get("credential_source") or "web identity"
        return f"assume-role {values['role_arn']} via {via} (an STS call: routed as sts)"
    if "login_session" in values:
        return f"login_session {values['login_session']} (refreshed through signin: " \
               "AWS_ENDPOINT_URL_SIGNIN / services signin)"
    if "sso_session" in values or "sso_start_url" in values:
        return "SSO (IAM Identity Center, which OpenSTS does not serve: use `opensts login` or " \
               "credential_process)"
    if "credential_process" in values:
        return f"credential_process {values['credential_process']}"
    if "aws_access_key_id" in values:
        return "access key in the shared files"
    return "none found in the files"


def find_clients(env: Mapping[str, str]) -> list[Client]:
    """Every ``aws`` on PATH (the first is the one that runs) and this Python's botocore."""
    clients: list[Client] = []
    seen: set[str] = set()
    for directory in (env.get("PATH") or "").split(os.pathsep):
        candidate = Path(directory or ".") / "aws"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        real = str(candidate.resolve())
        if real in seen:
            continue
        seen.add(real)
        client = _aws_client(candidate, env, active=not any(c.kind != "botocore"
                                                           for c in clients))
        if client is not None:
            clients.append(client)
    botocore = _version_or_none("botocore")
    if botocore is not None:
        boto3 = _version_or_none("boto3")
        detail = f"boto3 {boto3}" if boto3 else ""
        clients.append(Client("botocore (this Python)", "botocore", _triple(botocore), detail))
    other = shutil.which("python3", path=env.get("PATH"))
    if other is not None and Path(other).resolve() != Path(sys.executable).resolve():
        found = _python_botocore(other, env)
        if found is not None:
            clients.append(found)
    return clients


def _python_botocore(python: str, env: Mapping[str, str]) -> Client | None:
    """The botocore that ``python3`` on PATH imports (the one scripts run with), if any."""
    code = ("import importlib.metadata as m\n"
            "for d in ('botocore', 'boto3'):\n"
            "    try: print(d, m.version(d))\n"
            "    except m.PackageNotFoundError: pass\n")
    try:
        shown = subprocess.run([python, "-c", code], capture_output=True, text=True,
                               timeout=30, env=dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return None
    versions = dict(line.split(" ", 1) for line in shown.stdout.splitlines() if " " in line)
    if "botocore" not in versions:
        return None
    detail = f"boto3 {versions['boto3']}" if "boto3" in versions else ""
    return Client(f"botocore ({python})", "botocore", _triple(versions["botocore"]), detail)


def _aws_client(path: Path, env: Mapping[str, str], active: bool) -> Client | None:
    try:
        shown = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                               timeout=30, env=dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = shown.stdout + shown.stderr
    match = _VERSION.search(text)
    if match is None:
        return None
    version = (int(match[1]), int(match[2]), int(match[3]))
    botocore = _BOTOCORE.search(text)
    detail = f"botocore {botocore[1]}" if botocore else ""
    return Client(str(path), "cli1" if version[0] == 1 else "cli2", version, detail, active)


def _version_or_none(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _triple(version: str) -> tuple[int, int, int]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def probe(url: str) -> str:
    """Whether ``url`` answers ``GET /health`` (OpenSTS's readiness check)."""
    import httpx

    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
    try:
        answer = httpx.get(url.rstrip("/") + "/health", timeout=2)
    except httpx.HTTPError as exc:
        return f"does not answer /health: {exc}"
    return f"/health answers {answer.status_code}"


@click.command()
@click.option("--profile", "profiles", multiple=True, metavar="P",
              help="check this profile only (repeatable; default: AWS_PROFILE if set, else "
              "every profile in the config and credentials files, and default)")
@click.option("--probe/--no-probe", default=True, show_default=True,
              help="ask each configured non-AWS endpoint for GET /health")
def doctor(profiles: tuple[str, ...], probe: bool) -> None:
    """Say where this machine's AWS clients would send each profile's STS, IAM and S3 calls,
    and why; exit 1 when a profile meant for OpenSTS would send a call to real AWS."""
    env = dict(os.environ)
    cfg = AwsConfig.load(env)
    clients = find_clients(env)
    click.echo(f"config file: {cfg.config_file}{'' if cfg.config_file.exists() else ' (none)'}")
    click.echo(f"credentials file: {cfg.credentials_file}"
               f"{'' if cfg.credentials_file.exists() else ' (none)'}")
    for name in sorted(k for k in env if k.startswith("AWS_ENDPOINT_URL")
                       or k in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        click.echo(f"{name}={env[name]}")
    click.echo("clients:")
    for client in clients:
        state = "" if client.active else " (shadowed on PATH: not what `aws` runs)"
        honours = ("reads AWS_ENDPOINT_URL and endpoint_url" if client.honours_configured_endpoints
                   else "does NOT read AWS_ENDPOINT_URL nor endpoint_url: use --endpoint-url")
        extra = f", {client.detail}" if client.detail else ""
        click.echo(f"  {client.name}: {client.label}{extra}; {honours}{state}")
    if not any(c.kind != "botocore" for c in clients):
        click.echo("  (no aws on PATH)")
    chosen = list(profiles) or ([env["AWS_PROFILE"]] if env.get("AWS_PROFILE")
                                else cfg.profile_names())
    problems = 0
    probed: dict[str, str] = {}
    for profile in chosen:
        problems += _report(profile, cfg, env, [c for c in clients if c.active], probe, probed)
    if problems:
        click.echo(f"{problems} problem(s): signed calls meant for OpenSTS would go to real "
                   "AWS; see the client compatibility table in the README", err=True)
        raise SystemExit(1)


def _report(profile: str, cfg: AwsConfig, env: Mapping[str, str], clients: list[Client],
            do_probe: bool, probed: dict[str, str]) -> int:
    known = profile in cfg.profiles or profile in cfg.credentials or profile == "default"
    click.echo(f"profile {profile}{'' if known else ' (not in the files)'}: "
               f"{credential_source(profile, cfg, env)}")
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            or cfg.profiles.get(profile, {}).get("region")):
        click.echo("  no region (AWS_REGION, AWS_DEFAULT_REGION or region): with an endpoint "
                   "URL, signed calls fail on the client (NoRegionError)")
    # Meant for OpenSTS: some setting names an endpoint outside AWS (a VPC endpoint of AWS's
    # own, e.g. *.vpce.amazonaws.com, is no sign of it).
    named = [configured_endpoint(s, profile, cfg, env) for s in (*SERVICES, "signin")]
    intended = any(found is not None and not _is_aws(found[0]) for found in named)
    login = "login_session" in cfg.profiles.get(profile, {})
    # A login_session's refresh token goes to the signin endpoint: to AWS, it would leak.
    services = (*SERVICES, "signin") if login else SERVICES
    problems = 0
    for client in clients:
        click.echo(f"  with {client.name} ({client.label}):")
        if login and client.version < LOGIN_SINCE[client.kind]:
            since = ".".join(map(str, LOGIN_SINCE[client.kind]))
            click.echo(f"    (reads login_session only from {since} on: no credentials)")
        for service in services:
            where = route(service, profile, client, cfg, env)
            mark = ""
            if where.to_aws and intended:
                mark = "  <- PROBLEM: signed with OpenSTS credentials, sent to AWS"
                problems += 1
            elif where.to_aws:
                mark = "  (real AWS)"
            elif do_probe:
                if where.url not in probed:
                    probed[where.url] = probe(where.url)
                mark = f"  ({probed[where.url]})"
            click.echo(f"    {service}: {where.url}  [{where.why}]{mark}")
    return problems
