"""``opensts``: run the server, read the audit log, explain policy decisions."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from opensts.config import ConfigError, Settings, listener_url


@click.group()
def cli() -> None:
    """OpenSTS: a self-hosted, AWS-compatible Security Token Service."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8777, show_default=True, type=int)
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path))
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
        settings = Settings.from_env(data_dir)
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


@cli.group()
def audit() -> None:
    """Read the CloudTrail-format audit log."""


@audit.command("tail")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path))
@click.option("-n", "--lines", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="print raw events")
@click.option("-f", "--follow", is_flag=True, help="keep printing events as they are written")
def audit_tail(data_dir: Path, lines: int, as_json: bool, follow: bool) -> None:
    """Show the latest audit events (across rotated and compressed files, and the files of
    every --workers process, merged by time)."""
    from opensts.audit.log import follow_events, tail_events

    def show(event: dict[str, object]) -> None:
        if as_json:
            click.echo(json.dumps(event, separators=(",", ":")))
            return
        who = (event.get("userIdentity") or {}).get("arn", "-")  # type: ignore[attr-defined]
        outcome = event.get("errorCode") or "OK"
        source = str(event["eventSource"]).split(".")[0]
        click.echo(f"{event['eventTime']}  {source}:{event['eventName']:<28} {outcome:<22} {who}")

    directory = data_dir / "audit"
    for event in tail_events(directory, max(lines, 0)):
        show(event)
    if follow:
        try:
            for event in follow_events(directory):
                show(event)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass


@cli.group()
def keys() -> None:
    """Session-token signing keys (rotation without invalidating live sessions)."""


def _store_and_box(data_dir: Path):  # type: ignore[no-untyped-def]
    from opensts.credentials.at_rest import SecretBox
    from opensts.store import open_store

    try:
        settings = Settings.from_env(data_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return open_store(settings.database_url), SecretBox(settings.master_key)


@keys.command("list")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path))
def keys_list(data_dir: Path) -> None:
    """List signing keys (ids and dates only; key material is never printed)."""
    store, _ = _store_and_box(data_dir)
    for key in store.list_signing_keys():
        mark = "primary" if key.primary else "verify-only"
        click.echo(f"{key.key_id}  {key.created:%Y-%m-%dT%H:%M:%SZ}  {mark}")
    store.close()


@keys.command("rotate")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path))
def keys_rotate(data_dir: Path) -> None:
    """Make a new primary key; sessions sealed with older keys stay valid until retired."""
    from opensts.services.bootstrap import add_signing_key, utcnow

    store, box = _store_and_box(data_dir)
    click.echo(add_signing_key(store, box, utcnow()))
    store.close()


@keys.command("retire")
@click.argument("key_id")
@click.option("--data-dir", default="./data", show_default=True, type=click.Path(path_type=Path))
def keys_retire(key_id: str, data_dir: Path) -> None:
    """Delete a non-primary key: every session sealed with it stops working."""
    store, _ = _store_and_box(data_dir)
    try:
        current = {k.key_id: k for k in store.list_signing_keys()}
        if key_id not in current:
            raise click.ClickException(f"no signing key {key_id}")
        if current[key_id].primary:
            raise click.ClickException("rotate first: the primary key cannot be retired")
        store.delete_signing_key(key_id)
    finally:
        store.close()


def main() -> None:
    try:
        from opensts.cli import policy as policy_commands
    except ImportError:
        policy_commands = None  # type: ignore[assignment]
    if policy_commands is not None and hasattr(policy_commands, "policy"):
        cli.add_command(policy_commands.policy)
    from opensts.cli.apis import api as api_commands
    from opensts.cli.login import COMMANDS as login_commands
    from opensts.cli.s3 import s3 as s3_commands

    cli.add_command(s3_commands)
    cli.add_command(api_commands)

    for command in login_commands:
        cli.add_command(command)
    cli()


if __name__ == "__main__":
    main()
