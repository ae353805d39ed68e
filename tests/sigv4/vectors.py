"""Loader for the official AWS signing test suite (aws-c-auth ``aws-signing-test-suite``).

CI places ``shared/`` beside the clone (read-only), so the suite lives at
``<repo>/../shared/vectors/aws-signing-test-suite``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# OPENSTS_SIGNING_SUITE overrides the location (git worktrees live elsewhere).
SUITE = Path(
    os.environ.get("OPENSTS_SIGNING_SUITE")
    or REPO_ROOT.parent / "shared" / "vectors" / "aws-signing-test-suite"
)


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


def parse_http(text: str) -> RawRequest:
    """Parse the suite's request files: request line, headers (with folded lines), body."""
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]  # the target itself may contain spaces
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return RawRequest(method, path, query, headers, body.encode("utf-8") if sep else b"")


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    context: dict[str, Any]

    def read(self, filename: str) -> str:
        return (self.directory / filename).read_text(encoding="utf-8")

    def request(self, filename: str) -> RawRequest:
        return parse_http(self.read(filename))

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.context["timestamp"].replace("Z", "+00:00"))

    @property
    def secret(self) -> str:
        return self.context["credentials"]["secret_access_key"]

    @property
    def access_key_id(self) -> str:
        return self.context["credentials"]["access_key_id"]


def cases(flavour: str) -> list[Case]:
    root = SUITE / flavour
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        context = json.loads((directory / "context.json").read_text(encoding="utf-8"))
        found.append(Case(directory.name, directory, context))
    return found
