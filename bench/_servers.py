"""The servers under test, each a subprocess on a free loopback port.

* OpenSTS: ``opensts serve`` with a temporary data dir (SQLite), as an operator runs it.
* The empty handler: bench/empty_app.py under uvicorn with the same options.
* moto: ``moto_server`` from a separate virtualenv (never in OpenSTS's dependencies).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MOTO_VERSION = "5.2.5"
ACCOUNT_ID = "123456789012"
ROOT_KEY = "AKIAEXAMPLEROOTKEY01"
ROOT_SECRET = "rootsecretEXAMPLEKEY0000000000000000000/"


class ServerError(Exception):
    """A server did not start or answer."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid``, its threads and its live child processes (``--workers``
    children, reloaders), from /proc/<pid>/stat fields 14 and 15."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in task.read_text().split())
    return total


def pinned(command: list[str], cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(cpu), *command]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerError(f"{self.name} exited: {self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", path)
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"{self.name} did not become ready: {self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(
    name: str, port: int, command: list[str], workdir: Path, env: dict[str, str]
) -> Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, port, process, log)


def start_opensts(workdir: Path, cpu: int | None,
                  extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "OPENSTS_ACCOUNT_ID": ACCOUNT_ID,
        "OPENSTS_ROOT_ACCESS_KEY_ID": ROOT_KEY,
        "OPENSTS_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        **(extra_env or {}),
    }
    command = [str(BIN / "opensts"), "serve", "--port", str(port), "--data-dir",
               str(workdir / "data")]
    workers = (extra_env or {}).get("OPENSTS_BENCH_WORKERS")
    if workers:
        command += ["--workers", workers]
    workdir.mkdir(parents=True, exist_ok=True)
    server = _start("opensts", port, pinned(command, cpu), workdir, env)
    server.wait_ready("/health")
    return server


def start_empty(workdir: Path, cpu: int | None) -> Server:
    port = free_port()
    command = [sys.executable, str(REPO / "bench" / "empty_app.py"), "--port", str(port)]
    server = _start("empty", port, pinned(command, cpu), workdir, dict(os.environ))
    server.wait_ready("/")
    return server


def ensure_moto(venv: Path) -> Path:
    """``moto_server`` of the pinned version, installed into ``venv`` on first use."""
    moto_server = venv / "bin" / "moto_server"
    python = venv / "bin" / "python"
    if moto_server.exists():
        check = subprocess.run(
            [str(python), "-c", "import moto; print(moto.__version__)"],
            capture_output=True, text=True,
        )
        if check.stdout.strip() == MOTO_VERSION:
            return moto_server
    print(f"installing moto[server]=={MOTO_VERSION} into {venv} (once) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         f"moto[server]=={MOTO_VERSION}"],
        capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise ServerError(f"pip install moto failed: {done.stderr[-2000:]}")
    return moto_server


def start_moto(workdir: Path, venv: Path, cpu: int | None) -> Server:
    moto_server = ensure_moto(venv)
    port = free_port()
    env = {**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT_ID}
    env.pop("VIRTUAL_ENV", None)
    command = [str(moto_server), "-H", "127.0.0.1", "-p", str(port)]
    server = _start("moto", port, pinned(command, cpu), workdir, env)
    server.wait_ready("/moto-api/")
    return server
