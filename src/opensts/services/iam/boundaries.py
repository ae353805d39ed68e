"""Put<Noun>PermissionsBoundary and Delete<Noun>PermissionsBoundary of users and roles
(IAM API reference, API_PutUserPermissionsBoundary.html, API_DeleteRolePermissionsBoundary.html
and their siblings; access_policies_boundaries.html)."""

from __future__ import annotations

import dataclasses
from typing import Protocol, TypeVar

from opensts.services.context import CallContext
from opensts.services.iam.common import arn_param, check_boundary
from opensts.services.iam.resource import Resource
from opensts.services.registry import operation
from opensts.wire.params import Params


class Bounded(Protocol):
    @property
    def permissions_boundary(self) -> str | None: ...


E = TypeVar("E", bound=Bounded)


def register_boundary_operations(kind: Resource[E]) -> None:
    def put(ctx: CallContext, params: Params) -> None:
        key = kind.key_param(params)
        boundary = arn_param(params, "PermissionsBoundary")
        assert boundary is not None
        ctx.audit.request_parameters = {kind.audit_key: key, "permissionsBoundary": boundary}
        # iam:PermissionsBoundary lets policies limit which boundaries may be set.
        entity = kind.load(ctx, f"iam:Put{kind.noun}PermissionsBoundary", key,
                           {"iam:PermissionsBoundary": boundary})
        check_boundary(ctx, boundary)
        kind.update(ctx, key, entity, lambda e: dataclasses.replace(  # type: ignore[type-var]
            e, permissions_boundary=boundary))

    def delete(ctx: CallContext, params: Params) -> None:
        key = kind.key_param(params)
        ctx.audit.request_parameters = {kind.audit_key: key}
        entity = kind.load(ctx, f"iam:Delete{kind.noun}PermissionsBoundary", key, None)
        kind.update(ctx, key, entity, lambda e: dataclasses.replace(  # type: ignore[type-var]
            e, permissions_boundary=None))

    operation("iam", f"Put{kind.noun}PermissionsBoundary")(put)
    operation("iam", f"Delete{kind.noun}PermissionsBoundary")(delete)
