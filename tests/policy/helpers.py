"""Small builders shared by the policy tests."""

from __future__ import annotations

import json
from typing import Any

from opensts.policy import (
    Decision,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)

ACCT = "111122223333"
OTHER = "444455556666"

ALICE = Principal(
    PrincipalKind.USER, f"arn:aws:iam::{ACCT}:user/alice", ACCT, unique_id="AIDAALICEEXAMPLE00001"
)
ROLE_ARN = f"arn:aws:iam::{ACCT}:role/ops/Deployer"
SESSION = Principal(
    PrincipalKind.ASSUMED_ROLE,
    f"arn:aws:sts::{ACCT}:assumed-role/Deployer/s1",
    ACCT,
    issuer_arn=ROLE_ARN,
    unique_id="AROADEPLOYEREXAMPLE01",
)
FED = Principal(
    PrincipalKind.FEDERATED_USER,
    f"arn:aws:sts::{ACCT}:federated-user/bob",
    ACCT,
    issuer_arn=f"arn:aws:iam::{ACCT}:user/alice",
)
ROOT = Principal(PrincipalKind.ROOT, f"arn:aws:iam::{ACCT}:root", ACCT)
FOREIGN = Principal(PrincipalKind.USER, f"arn:aws:iam::{OTHER}:user/carol", OTHER)
ANON = Principal(PrincipalKind.ANONYMOUS, "*", None)
EC2 = Principal(PrincipalKind.SERVICE, "ec2.amazonaws.com", None)
OIDC = Principal(
    PrincipalKind.WEB_IDENTITY,
    f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com",
    None,
)

BUCKET_OBJ = "arn:aws:s3:::docs/report.txt"


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def pol(
    *statements: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY, version: str = "2012-10-17"
):
    return parse_policy(doc(*statements, version=version), kind)


def rpol(*statements: dict[str, Any]):
    return pol(*statements, kind=PolicyKind.RESOURCE)


def decide(
    *,
    principal: Principal = ALICE,
    action: str = "s3:GetObject",
    resource: str = BUCKET_OBJ,
    resource_account: str | None = None,
    context: dict[str, Any] | None = None,
    identity: list[Any] = (),  # type: ignore[assignment]
    resource_policy: Any = None,
    boundary: Any = None,
    session: list[Any] | None = None,
    scps: list[list[Any]] = (),  # type: ignore[assignment]
    rcps: list[list[Any]] = (),  # type: ignore[assignment]
    must_allow: bool = False,
) -> Decision:
    req = Request(principal, action, resource, resource_account, context or {})
    ps = PolicySet(
        identity=[(f"id{i}", p) for i, p in enumerate(identity)],
        resource=("resource", resource_policy) if resource_policy is not None else None,
        boundary=("boundary", boundary) if boundary is not None else None,
        session=[(f"session{i}", p) for i, p in enumerate(session)]
        if session is not None
        else None,
        scps=[[(f"scp{i}-{j}", p) for j, p in enumerate(level)] for i, level in enumerate(scps)],
        rcps=[[(f"rcp{i}-{j}", p) for j, p in enumerate(level)] for i, level in enumerate(rcps)],
        resource_must_allow=must_allow,
    )
    return evaluate(req, ps)


def cond(
    operator: str,
    key: str,
    values: Any,
    context: dict[str, Any] | None = None,
    version: str = "2012-10-17",
) -> bool:
    """True when an Allow guarded only by this condition allows."""
    p = pol(allow(Condition={operator: {key: values}}), version=version)
    return decide(identity=[p], context=context).allowed
