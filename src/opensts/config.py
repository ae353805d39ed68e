"""Server settings, read once at start-up from arguments and the environment."""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

ACCOUNT_ID = re.compile(r"\d{12}")


class ConfigError(Exception):
    """A setting is missing or malformed; the server refuses to start."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    master_key: bytes
    account_id: str | None  # management account on first start (generated when None)
    root_access_key_id: str | None
    root_secret_access_key: str | None
    ca_bundle: str | None = None  # extra PEM CAs for outbound OIDC fetches
    key_refresh_seconds: float = 60.0
    cache_staleness_seconds: float = 1.0
    max_body_bytes: int = 1_048_576
    clock_skew_seconds: int = 900
    # Sign-in (aws login) lifetimes; shortened in tests to observe refreshes.
    login_credential_seconds: int = 900
    login_session_max_seconds: int = 43_200
    # Account id prefilled on the browser sign-in form; empty unless set, so the page does
    # not tell every visitor which account this server manages.
    signin_account_id: str | None = None
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (CIDRs); none by default,
    # so a client cannot choose its own aws:SourceIp or aws:SecureTransport.
    trusted_proxies: tuple[str, ...] = ()
    # Peers (CIDRs) that may read GET /metrics, judged by the TCP connection (web.metrics).
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # scheme://host[:port] clients use to reach this server (the cross-device sign-in
    # confirmation URL); never taken from a request's Host header. `opensts serve`
    # derives it from its listener when unset.
    public_url: str | None = None
    # The S3 gateway (README "S3 gateway"): off unless a backend URL is set. The backend's
    # secret never comes from the command line and is kept out of repr (logs, tracebacks).
    s3_backend_url: str | None = None
    s3_backend_access_key_id: str | None = None
    s3_backend_secret_access_key: str | None = field(default=None, repr=False)
    s3_backend_region: str = "us-east-1"
    s3_domain: str | None = None  # virtual-hosted style: bucket.<s3_domain>
    s3_region: str = "us-east-1"  # the region the gateway answers for
    s3_data_events: str = "all"  # none | write-only | all (CloudTrail data events)

    @classmethod
    def from_env(cls, data_dir: Path, env: dict[str, str] | None = None, *,
                 create: bool = False) -> Settings:
        """Settings of the OpenSTS in ``data_dir``. Only ``create=True`` (``opensts serve``)
        makes the directory and its master.key: an admin command run from the wrong
        directory must fail, not start an empty OpenSTS there."""
        env = dict(os.environ if env is None else env)
        if create:
            data_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(data_dir, 0o700)
        account = env.get("OPENSTS_ACCOUNT_ID") or None
        if account is not None and not ACCOUNT_ID.fullmatch(account):
            raise ConfigError("OPENSTS_ACCOUNT_ID must be 12 digits")
        return cls(
            data_dir=data_dir,
            database_url=env.get("OPENSTS_DATABASE_URL")
            or f"sqlite:///{(data_dir / 'opensts.db').resolve()}",
            master_key=_master_key(data_dir, env, create=create),
            account_id=account,
            root_access_key_id=env.get("OPENSTS_ROOT_ACCESS_KEY_ID") or None,
            root_secret_access_key=env.get("OPENSTS_ROOT_SECRET_ACCESS_KEY") or None,
            ca_bundle=env.get("OPENSTS_CA_BUNDLE") or None,
            key_refresh_seconds=float(env.get("OPENSTS_KEY_REFRESH_SECONDS", "60")),
            cache_staleness_seconds=float(env.get("OPENSTS_CACHE_STALENESS_SECONDS", "1")),
            login_credential_seconds=int(env.get("OPENSTS_LOGIN_CREDENTIAL_SECONDS", "900")),
            login_session_max_seconds=int(env.get("OPENSTS_LOGIN_SESSION_MAX_SECONDS", "43200")),
            signin_account_id=_account_id(env, "OPENSTS_SIGNIN_ACCOUNT_ID"),
            trusted_proxies=trusted_proxies(env.get("OPENSTS_TRUSTED_PROXIES", "")),
            metrics_allow=trusted_proxies(env.get("OPENSTS_METRICS_ALLOW", "127.0.0.0/8,::1")),
            public_url=public_url(env["OPENSTS_PUBLIC_URL"])
            if env.get("OPENSTS_PUBLIC_URL")
            else None,
            **_s3_settings(env),
        )


def _account_id(env: dict[str, str], name: str) -> str | None:
    value = env.get(name) or None
    if value is not None and not ACCOUNT_ID.fullmatch(value):
        raise ConfigError(f"{name} must be 12 digits")
    return value


S3_DATA_EVENTS = ("none", "write-only", "all")


class _S3Settings(TypedDict):
    s3_backend_url: str | None
    s3_backend_access_key_id: str | None
    s3_backend_secret_access_key: str | None
    s3_backend_region: str
    s3_domain: str | None
    s3_region: str
    s3_data_events: str


def _s3_settings(env: dict[str, str]) -> _S3Settings:
    url = env.get("OPENSTS_S3_BACKEND_URL") or None
    found: _S3Settings = {
        "s3_backend_url": backend_url(url) if url else None,
        "s3_backend_access_key_id": env.get("OPENSTS_S3_BACKEND_ACCESS_KEY_ID") or None,
        "s3_backend_secret_access_key": env.get("OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY") or None,
        "s3_backend_region": env.get("OPENSTS_S3_BACKEND_REGION") or "us-east-1",
        "s3_domain": (env.get("OPENSTS_S3_DOMAIN") or "").strip().lower().strip(".") or None,
        "s3_region": env.get("OPENSTS_S3_REGION") or "us-east-1",
        "s3_data_events": env.get("OPENSTS_S3_DATA_EVENTS") or "all",
    }
    if found["s3_data_events"] not in S3_DATA_EVENTS:
        raise ConfigError(f"OPENSTS_S3_DATA_EVENTS must be one of {', '.join(S3_DATA_EVENTS)}")
    if url and not (found["s3_backend_access_key_id"] and found["s3_backend_secret_access_key"]):
        raise ConfigError(
            "the S3 backend needs OPENSTS_S3_BACKEND_ACCESS_KEY_ID and "
            "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY"
        )
    return found


def backend_url(text: str) -> str:
    """``http(s)://host[:port]`` of the S3 storage behind the gateway (no path, no user)."""
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"S3 backend URL {text!r} is not a URL") from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ConfigError(f"S3 backend URL {text!r} must be http(s)://host[:port]")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def trusted_proxies(text: str) -> tuple[str, ...]:
    """``"10.0.0.0/8, ::1"`` → normalised CIDRs; a bare address is one host. Host bits set
    (``10.0.0.1/8``) are refused: usually a typo, and one that would widen the trust."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=True)))
        except ValueError as exc:
            raise ConfigError(f"trusted proxies: {item!r} is not a CIDR network ({exc})") from None
    return tuple(networks)


def public_url(text: str) -> str:
    """``http(s)://host[:port]`` without path, query or user info; no trailing slash."""
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(f"public URL {text!r} is not a URL") from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ConfigError(f"public URL {text!r} must be http(s)://host[:port]")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def listener_url(host: str, port: int, tls: bool) -> str:
    """The URL of a listener on ``host``:``port`` (IPv6 literals in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _master_key(data_dir: Path, env: dict[str, str], *, create: bool) -> bytes:
    """The key that encrypts secrets at rest: env OPENSTS_MASTER_KEY, else a 0600 key file."""
    text = env.get("OPENSTS_MASTER_KEY")
    if text:
        try:
            key = base64.b64decode(text, validate=True)
        except ValueError:
            raise ConfigError("OPENSTS_MASTER_KEY must be base64") from None
        if len(key) != 32:
            raise ConfigError("OPENSTS_MASTER_KEY must decode to 32 bytes")
        return key
    path = data_dir / "master.key"
    if not path.exists():
        if not create:
            raise ConfigError(f"{path} does not exist (and OPENSTS_MASTER_KEY is not set): "
                              "only `opensts serve` creates a data directory")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)))
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must not be readable by group or others (chmod 600)")
    key = base64.b64decode(path.read_bytes().strip())
    if len(key) != 32:
        raise ConfigError(f"{path} does not hold a 32-byte key")
    return key
