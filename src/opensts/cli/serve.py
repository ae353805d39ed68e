"""``opensts serve``: the server, on one endpoint for every service."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from opensts.cli.common import data_dir_option
from opensts.config import ConfigError, Settings, listener_url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8777, show_default=True, type=int)
@data_dir_option(create=True)
@click.option("--log-level", default="warning", show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="worker processes; with more than one, IAM changes reach the other workers within "
    "OPENSTS_CACHE_STALENESS_SECONDS",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key")
@click.option(
    "--trusted-proxies",
    metavar="CIDR,...",
    help="reverse proxies whose X-Forwarded-For/-Proto are believed (else "
    "OPENSTS_TRUSTED_PROXIES; default none: the headers are ignored)",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="http(s)://host[:port] clients use to reach the server, for sign-in URLs (else "
    "OPENSTS_PUBLIC_URL; default the listener's --host and --port)",
)
@click.option(
    "--s3-backend",
    metavar="URL",
    help="serve the S3 API, enforcing IAM, in front of this S3-compatible storage (else "
    "OPENSTS_S3_BACKEND_URL); its keys from OPENSTS_S3_BACKEND_ACCESS_KEY_ID and "
    "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY, never from the command line",
)
@click.option(
    "--s3-domain",
    metavar="DOMAIN",
    help="virtual-hosted-style S3: BUCKET.DOMAIN names a bucket (else OPENSTS_S3_DOMAIN)",
)
def serve(
    host: str,
    port: int,
    data_dir: Path,
    log_level: str,
    workers: int,
    tls_cert: str | None,
    tls_key: str | None,
    trusted_proxies: str | None,
    public_url: str | None,
    s3_backend: str | None,
    s3_domain: str | None,
) -> None:
    """Serve STS, IAM and Organizations on one endpoint (SQLite in DATA_DIR by default)."""
    import os

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")

    import uvicorn

    from opensts.web.app import OpenStsApp, build_runtime

    # Options win over the environment; written back to it so that --workers processes,
    # which read their settings from the environment, see the same values.
    if trusted_proxies is not None:
        os.environ["OPENSTS_TRUSTED_PROXIES"] = trusted_proxies
    if s3_backend is not None:
        os.environ["OPENSTS_S3_BACKEND_URL"] = s3_backend
    if s3_domain is not None:
        os.environ["OPENSTS_S3_DOMAIN"] = s3_domain
    if public_url is not None:
        os.environ["OPENSTS_PUBLIC_URL"] = public_url
    elif not os.environ.get("OPENSTS_PUBLIC_URL"):
        os.environ["OPENSTS_PUBLIC_URL"] = listener_url(host, port, tls_cert is not None)
        if _unspecified(host):
            click.echo("Listening on all interfaces: set --public-url to the address clients "
                       "use, or cross-device sign-in will not work", err=True)
    try:
        settings = Settings.from_env(data_dir, create=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    runtime, first = build_runtime(settings)
    if first is not None:
        click.echo(f"OpenSTS management account: {first.account_id}")
        click.echo(f"Root access key id: {first.access_key_id}")
        if first.secret_access_key:
            click.echo(f"Root secret access key (shown once): {first.secret_access_key}")
    scheme = "https" if tls_cert else "http"
    click.echo(f"OpenSTS listening on {scheme}://{host}:{port}", err=True)
    sys.stdout.flush()
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal; exit 0
    # then, because in-flight requests finished and the audit log was flushed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "lifespan": "on",
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        # Forwarded headers are ours to judge (web/proxy.py, --trusted-proxies): uvicorn's
        # default believes them from any loopback peer.
        "proxy_headers": False,
    }
    if tls_cert:
        options.update(ssl_certfile=tls_cert, ssl_keyfile=tls_key)
        # The negotiated TLS version in each request's scope (S3's s3:TlsVersion).
        options["http"] = "opensts.web.tls:TlsScopeProtocol"
    if workers == 1:
        uvicorn.run(OpenStsApp(runtime), **options)  # type: ignore[arg-type]
        return
    # Bootstrap (first-start keys, master key file) happened above, once; each worker
    # process builds its own runtime from the same data dir.
    runtime.audit.close()
    runtime.store.close()
    os.environ["OPENSTS_DATA_DIR"] = str(data_dir.resolve())
    # One audit file per worker process (audit/YYYY-MM-DD.w<pid>.jsonl): workers never
    # serialise on one file; ``opensts audit tail`` merges them by time.
    from opensts.audit.log import PER_PROCESS_ENV

    os.environ[PER_PROCESS_ENV] = "1"
    uvicorn.run(
        "opensts.web.app:create_app",
        factory=True,
        workers=workers,
        **options,  # type: ignore[arg-type]
    )


def _unspecified(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host == ""
