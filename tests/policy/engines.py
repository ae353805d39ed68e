"""Engines that decide neutral JSON cases, so one corpus can run against several of them
(the shape of Cedar's ``CedarTestImplementation``).

A case is engine independent::

    {"name": str, "source": "doc URL the expectation comes from",
     "principal": {"kind": "user", "arn": ..., "account": ..., "issuer_arn"?, "unique_id"?},
     "action": str, "resource": str, "resource_account"?: str, "context"?: {key: str|[str]},
     "identity"?: [doc], "resource_policy"?: doc, "resource_kind"?: "resource"|"trust",
     "boundary"?: doc, "session"?: [doc], "scps"?: [[doc]], "rcps"?: [[doc]],
     "resource_must_allow"?: bool,
     "expected": "allowed"|"explicitDeny"|"implicitDeny", "reason": str}

Policy documents are JSON objects (or strings holding JSON text).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Protocol

from opensts.errors import AwsError
from opensts.policy import (
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)

REPO = Path(__file__).resolve().parents[2]
PEER_DIR = REPO / "tests" / "peers" / "iam-simulate"


class Engine(Protocol):
    name: str

    def decide_many(self, cases: list[dict[str, Any]]) -> list[str]: ...


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def principal_of(case: dict[str, Any]) -> Principal:
    p = case["principal"]
    return Principal(
        PrincipalKind(p["kind"]),
        p["arn"],
        p.get("account"),
        p.get("issuer_arn"),
        p.get("unique_id"),
    )


def build(case: dict[str, Any]) -> tuple[Request, PolicySet]:
    """Turn a neutral case into OpenSTS inputs."""

    def parse(doc: Any, kind: PolicyKind) -> Any:
        return parse_policy(_text(doc), kind)

    rkind = PolicyKind(case.get("resource_kind", "resource"))
    req = Request(
        principal_of(case),
        case["action"],
        case["resource"],
        case.get("resource_account"),
        case.get("context", {}),
    )
    rp = case.get("resource_policy")
    session = case.get("session")
    ps = PolicySet(
        identity=[
            (f"identity[{i}]", parse(d, PolicyKind.IDENTITY))
            for i, d in enumerate(case.get("identity", []))
        ],
        resource=("resource", parse(rp, rkind)) if rp is not None else None,
        boundary=("boundary", parse(case["boundary"], PolicyKind.BOUNDARY))
        if case.get("boundary") is not None
        else None,
        session=[(f"session[{i}]", parse(d, PolicyKind.SESSION)) for i, d in enumerate(session)]
        if session is not None
        else None,
        scps=[
            [(f"scp[{i}][{j}]", parse(d, PolicyKind.SCP)) for j, d in enumerate(level)]
            for i, level in enumerate(case.get("scps", []))
        ],
        rcps=[
            [(f"rcp[{i}][{j}]", parse(d, PolicyKind.RCP)) for j, d in enumerate(level)]
            for i, level in enumerate(case.get("rcps", []))
        ],
        resource_must_allow=case.get("resource_must_allow", False),
    )
    return req, ps


class OpenSTSEngine:
    name = "opensts"

    def decide(self, case: dict[str, Any]) -> str:
        try:
            req, ps = build(case)
        except AwsError as exc:
            return f"error: {exc.code}: {exc.message}"
        return evaluate(req, ps).decision

    def decide_many(self, cases: list[dict[str, Any]]) -> list[str]:
        return [self.decide(c) for c in cases]


def _obj(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str) else document


class IamSimulateEngine:
    """@cloud-copilot/iam-simulate (AGPL) in a separate node process, one call per batch."""

    name = "iam-simulate"

    @staticmethod
    def available() -> bool:
        return shutil.which("node") is not None and (PEER_DIR / "node_modules").is_dir()

    @staticmethod
    def to_peer(case: dict[str, Any]) -> dict[str, Any]:
        p = case["principal"]
        session = case.get("session")
        if session is not None and len(session) > 1:
            raise ValueError("iam-simulate takes one session policy")
        return {
            "principal": "anonymous" if p["kind"] == "anonymous" else p["arn"],
            "action": case["action"],
            "resource": case["resource"],
            "resource_account": case.get("resource_account") or p.get("account") or "",
            "context": case.get("context", {}),
            "identity": [_obj(d) for d in case.get("identity", [])],
            "resource_policy": _obj(case["resource_policy"])
            if case.get("resource_policy")
            else None,
            "boundary": [_obj(case["boundary"])] if case.get("boundary") else None,
            "session_policy": _obj(session[0]) if session else None,
            "scps": [[_obj(d) for d in level] for level in case.get("scps", [])],
            "rcps": [[_obj(d) for d in level] for level in case.get("rcps", [])],
        }

    def run(self, payload: dict[str, Any]) -> Any:
        out = subprocess.run(
            ["node", "run.mjs"],
            cwd=PEER_DIR,
            input=json.dumps(payload).encode(),
            capture_output=True,
            check=True,
            timeout=300,
        )
        return json.loads(out.stdout)

    def decide_many(self, cases: list[dict[str, Any]]) -> list[str]:
        return self.run({"mode": "decide", "cases": [self.to_peer(c) for c in cases]})
