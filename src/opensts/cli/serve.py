"""``opensts serve``: the server, on one endpoint for every service."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from opensts.cli.common import data_dir_option
from opensts.config import ConfigError, Settings, listener_url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (0.0.0.0 or :: for every interface)")
@click.option("--port", default=8777, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port to listen on")
@data_dir_option(create=True)
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug", "trace"]),
              help="the server's own log (stderr)")
@click.option("--log-format", default="text", show_default=True,
              type=click.Choice(["text", "json"]),
              help="text, or one JSON object per line, for the server's log and access log")
@click.option("--access-log", is_flag=True,
              help="one line per request on stdout: time, client address, method, path "
              "(never the query string), status, duration, request id")
@click.option(
    "--credentials-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="OPENSTS_CREDENTIALS_FILE",
    metavar="FILE",
    help="on first start, write the generated root credentials to FILE (mode 0600, AWS "
    "credentials-file format) instead of printing the secret; refused if FILE exists then "
    "(else OPENSTS_CREDENTIALS_FILE)",
)
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
    log_format: str,
    access_log: bool,
    credentials_file: Path | None,
    workers: int,
    tls_cert: str | None,
    tls_key: str | None,
    trusted_proxies: str | None,
    public_url: str | None,
    s3_backend: str | None,
    s3_domain: str | None,
) -> None:
    """Serve STS, IAM and Organizations on one endpoint (SQLite in DATA_DIR by default).

    Says "OpenSTS listening on URL" (stderr) once the port accepts connections. On first
    start it prints the management account's root credentials, or writes them to
    --credentials-file. GET /metrics serves Prometheus metrics to OPENSTS_METRICS_ALLOW
    (CIDRs, default loopback).
    """
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")

    # First the port: a port in use is a clean error, before a first start makes keys.
    sock = _listen(host, port)
    port = sock.getsockname()[1]  # the one chosen, for --port 0
    say = _Say(log_format)
    if workers > 1:
        # Before prometheus-client is imported (it reads this then): the workers' metric
        # files, emptied so a previous run's counts are not added to this one's.
        _metrics_dir(data_dir)

    import uvicorn

    from opensts.web.access_log import log_config
    from opensts.web.app import OpenStsApp, build_runtime, first_start_pending

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
            say("Listening on all interfaces: set --public-url to the address clients "
                "use, or cross-device sign-in will not work", level="warning")
    if tls_cert is None and not _loopback(host):
        say(f"Serving plain HTTP on {host}, beyond loopback: access keys' signatures, "
            "session tokens and sign-in passwords cross the network readable; use "
            "--tls-cert/--tls-key, or a TLS-terminating proxy in --trusted-proxies",
            level="warning")
    try:
        settings = Settings.from_env(data_dir, create=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    handle = None
    if credentials_file is not None and first_start_pending(settings):
        # The file first: a generated secret that could not be written is a key nobody has.
        handle = _create_private(credentials_file)
    try:
        runtime, first = build_runtime(settings)
    except BaseException:
        if handle is not None and credentials_file is not None:
            handle.close()
            credentials_file.unlink(missing_ok=True)
        raise
    if handle is not None and credentials_file is not None:
        if first is not None and first.secret_access_key:
            _write_credentials(handle, first.account_id, first.access_key_id,
                               first.secret_access_key)
        else:  # another node made the first start meanwhile, or the secret was configured
            handle.close()
            credentials_file.unlink(missing_ok=True)
            handle = None
    if first is not None:  # on stdout: for whoever started the server, not for its log
        say(f"OpenSTS management account: {first.account_id}", out=True)
        say(f"Root access key id: {first.access_key_id}", out=True)
        if handle is not None:
            say(f"Root secret access key written to {credentials_file} (mode 0600)", out=True)
        elif first.secret_access_key:
            say(f"Root secret access key (shown once): {first.secret_access_key}", out=True)
    sys.stdout.flush()
    listening = f"OpenSTS listening on {listener_url(host, port, tls_cert is not None)}"
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal; exit 0
    # then, because in-flight requests finished and the audit log was flushed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options: dict[str, Any] = {
        "log_level": log_level,
        "log_config": log_config(log_format, log_level, access_log),
        "lifespan": "on",
        "access_log": False,  # uvicorn's has the query string; --access-log is ours
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
        config = uvicorn.Config(OpenStsApp(runtime), **options)  # type: ignore[arg-type]
        server = _announcing_server(config, lambda: say(listening))
        server.run(sockets=[sock])
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE; it logged why
        return
    # Bootstrap (first-start keys, master key file) happened above, once; each worker
    # process builds its own runtime from the same data dir.
    runtime.audit.close()
    runtime.store.close()
    os.environ["OPENSTS_DATA_DIR"] = str(data_dir.resolve())
    # One audit file per worker process (audit/YYYY-MM-DD.w<pid>.jsonl): workers never
    # serialise on one file; ``opensts audit tail`` merges them by time.
    from uvicorn.supervisors import Multiprocess

    from opensts.audit.log import PER_PROCESS_ENV

    os.environ[PER_PROCESS_ENV] = "1"
    config = uvicorn.Config("opensts.web.app:create_app", factory=True, workers=workers,
                            **options)
    # The socket listens already: connections wait in its backlog for the first worker.
    say(listening)
    Multiprocess(config, sockets=[sock]).run()


def _announcing_server(config: Any, on_started: Callable[[], None]) -> Any:
    """uvicorn's server, saying "listening" once it accepts connections (not before)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                on_started()

    return Server(config)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (handed to uvicorn), or a clean error."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a restart may bind while old connections are in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = "the address is already in use (is another server running there?)"
        elif exc.errno == errno.EACCES:
            reason = "permission denied (ports below 1024 need privileges)"
        else:
            reason = exc.strerror or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)  # the --workers processes accept on it
    return sock


class _Say:
    """The server's own messages on stderr, as text or as JSON log lines (--log-format)."""

    def __init__(self, log_format: str):
        self.json = log_format == "json"

    def __call__(self, message: str, level: str = "info", *, out: bool = False) -> None:
        if self.json:
            from opensts.web.access_log import json_line

            message = json_line(level, "opensts", message)
        click.echo(message, err=not out)


def _metrics_dir(data_dir: Path) -> None:
    import shutil

    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _create_private(path: Path) -> IO[str]:
    """``path`` created now, mode 0600, refusing one that exists (never overwrite keys)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(
            f"{path} exists: this is a first start, whose new root credentials would "
            "replace what it holds; move it away or name another --credentials-file") from None
    except OSError as exc:
        raise click.ClickException(f"cannot create {path}: {exc.strerror}") from None
    return os.fdopen(fd, "w")


def _write_credentials(handle: IO[str], account: str, key_id: str, secret: str) -> None:
    with handle:
        handle.write(f"# OpenSTS management account {account}: root access key made at "
                     "the first start of `opensts serve`\n"
                     f"[default]\naws_access_key_id = {key_id}\n"
                     f"aws_secret_access_key = {secret}\n")
        handle.flush()
        os.fsync(handle.fileno())


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _unspecified(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host == ""
