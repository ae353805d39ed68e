"""Where an AssumeRole's time goes: the ASGI app driven in-process, without a network.

Sets up a data dir through a real ``opensts serve`` (boto3: user, key, role, identity
policy), stops it, opens the same data dir in this process and replays pre-signed
requests straight into ``OpenStsApp``. Prints, per operation:

* microseconds per request, one at a time, with handlers run inline (no thread hop);
* the same with the audit log's fdatasync stubbed out (the difference is the durable write);
* SQL statements per request;
* requests/s with ``--concurrency`` requests in flight, handlers in the default thread
  pool as the server runs them, and inline (the difference is the thread hop and GIL
  hand-offs);
* with ``--profile``, a cProfile of the inline path; with ``--memo-store``, all of the
  above with every store read memoised (an upper bound for an authorization cache).

    .venv/bin/python bench/inprocess.py [--requests 500] [--profile] [--memo-store]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _servers import ACCOUNT_ID, ROOT_KEY, ROOT_SECRET, start_opensts
from assume_role import OPERATIONS, presign, set_up

from opensts.config import Settings
from opensts.web.app import OpenStsApp, build_runtime


def scope_of(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The ASGI scope uvicorn would build for one raw HTTP/1.1 request."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": target.decode(),
        "raw_path": target,
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8777),
    }
    return scope, body


async def call(app: OpenStsApp, raw: bytes) -> int:
    scope, body = scope_of(raw)
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


MEMO_READS = (
    "find_access_key", "get_user", "get_role", "identity_policies_for_user",
    "identity_policies_for_role", "scp_levels_for_account", "get_managed_policy",
)


def memoise_reads(store: Any) -> None:
    """Upper bound of an authorization cache: every read the request path makes, memoised.

    Not a correct cache (nothing invalidates it); only for the benchmark's what-if line.
    """
    for name in MEMO_READS:
        original = getattr(store, name)
        memo: dict[tuple[Any, ...], Any] = {}

        def cached(*args: Any, _original: Any = original, _memo: Any = memo) -> Any:
            if args not in _memo:
                _memo[args] = _original(*args)
            return _memo[args]

        setattr(store, name, cached)


async def _inline(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


async def run_concurrent(app: OpenStsApp, requests: list[bytes], streams: int) -> float:
    """Requests per second with ``streams`` requests in flight (like wrk's connections)."""
    queue = list(reversed(requests))

    async def stream() -> None:
        while queue:
            status = await call(app, queue.pop())
            if status != 200:
                raise RuntimeError(f"HTTP {status}")

    started = time.perf_counter()
    await asyncio.gather(*(stream() for _ in range(streams)))
    return len(requests) / (time.perf_counter() - started)


async def run_sequential(app: OpenStsApp, requests: list[bytes]) -> float:
    """Seconds per request, one request at a time."""
    started = time.perf_counter()
    for raw in requests:
        status = await call(app, raw)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
    return (time.perf_counter() - started) / len(requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="print a cProfile per operation")
    parser.add_argument("--memo-store", action="store_true",
                        help="what-if: memoise the store's read methods (a perfect cache)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="requests in flight for the req/s columns (default 16)")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="opensts-inprocess-"))
    try:
        server = start_opensts(workdir, None)
        try:
            caller = set_up(server.endpoint, ROOT_KEY, ROOT_SECRET)
            signed = presign(server.endpoint, caller, args.requests)
        finally:
            server.stop()
        env = {
            **os.environ,
            "OPENSTS_ACCOUNT_ID": ACCOUNT_ID,
            "OPENSTS_ROOT_ACCESS_KEY_ID": ROOT_KEY,
            "OPENSTS_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        }
        runtime, _ = build_runtime(Settings.from_env(workdir / "data", env))
        app = OpenStsApp(runtime)
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(runtime.store._engine, "before_cursor_execute", count)
        if args.memo_store:
            memoise_reads(runtime.store)
        to_thread = asyncio.to_thread
        asyncio.to_thread = _inline  # type: ignore[assignment]  # see the module docstring
        loop = asyncio.new_event_loop()
        run: Callable[[Awaitable[Any]], Any] = loop.run_until_complete
        print(f"{'operation':<18} {'us/request':>11} {'no fsync':>9} {'SQL/request':>12} "
              f"{'req/s pool':>11} {'req/s inline':>13}   (x{args.concurrency} in flight)")
        for operation in OPERATIONS:
            requests = signed[operation]
            run(run_sequential(app, requests[: max(1, len(requests) // 5)]))  # warm-up
            statements = 0
            per_request = run(run_sequential(app, requests))
            sql = statements / len(requests)
            fdatasync = os.fdatasync  # what audit/log.py calls (os.fsync would stub nothing)
            os.fdatasync = lambda fd: None  # the durable-write wait, isolated
            try:
                no_fsync = run(run_sequential(app, requests))
            finally:
                os.fdatasync = fdatasync
            # The server's model: handlers in the default thread pool, fsync on.
            asyncio.to_thread = to_thread
            pooled = run(run_concurrent(app, requests, args.concurrency))
            asyncio.to_thread = _inline  # type: ignore[assignment]
            inline = run(run_concurrent(app, requests, args.concurrency))
            print(f"{operation:<18} {per_request * 1e6:>11.0f} {no_fsync * 1e6:>9.0f} "
                  f"{sql:>12.1f} {pooled:>11.0f} {inline:>13.0f}", flush=True)
            if args.profile:
                os.fdatasync = lambda fd: None
                profiler = cProfile.Profile()
                profiler.enable()
                run(run_sequential(app, requests))
                profiler.disable()
                os.fdatasync = fdatasync
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                only = [] if args.sort == "tottime" else [r"opensts|sqlalchemy/engine"]
                stats.sort_stats(args.sort).print_stats(*only, 40)
                print(out.getvalue())
        loop.close()
        app.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
