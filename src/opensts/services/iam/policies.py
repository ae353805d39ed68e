"""Customer managed policies and their versions (IAM API reference: API_CreatePolicy.html,
API_CreatePolicyVersion.html, ...). AWS managed policies are listed and readable but
cannot be changed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.records import ManagedPolicy, PolicyVersion
from opensts.errors import NoSuchEntity
from opensts.policy import PolicyKind
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    MANAGED_POLICY_SIZE,
    POLICY_PATH,
    POLICY_PATH_TEXT,
    account,
    arn,
    arn_param,
    check_policy,
    document_param,
    encode_document,
    load_policy,
    name_param,
    page_of,
    page_result,
    paging,
    policy_dict,
    render_tags,
    store_errors,
    tag_context,
    tags_param,
)
from opensts.services.iam.errors import UnmodifiableEntity
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params

VERSION_TEXT = r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"
VERSION = re.compile(VERSION_TEXT)
TOO_LARGE = f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}"
MAX_VERSIONS = 5


def _policy_arn(params: Params) -> str:
    value = arn_param(params, "PolicyArn")
    assert value is not None
    return value


def _version_id(params: Params) -> str:
    return params.required("VersionId", pattern=VERSION, pattern_text=VERSION_TEXT)


def _customer_policy(ctx: CallContext, action: str, policy_arn: str) -> ManagedPolicy:
    policy = load_policy(ctx, action, policy_arn)
    _check_mutable(policy, policy_arn)
    return policy


def _check_mutable(policy: ManagedPolicy, policy_arn: str) -> None:
    if policy.aws_managed:
        raise UnmodifiableEntity(f"Policy {policy_arn} is an AWS managed policy and cannot "
                                 "be modified.")


@contextmanager
def _version_errors(policy_arn: str, version_id: str) -> Iterator[None]:
    """Store failures as AWS errors, a missing policy or version named by both."""
    try:
        with store_errors(policy=policy_arn):
            yield
    except NoSuchEntity:
        raise NoSuchEntity(f"Policy {policy_arn} version {version_id} does not exist or is "
                           "not attachable.") from None


def version_dict(v: PolicyVersion, *, document: bool) -> dict[str, Any]:
    return {"Document": encode_document(v.document) if document else None,
            "VersionId": v.version_id, "IsDefaultVersion": v.is_default,
            "CreateDate": v.created}


@operation("iam", "CreatePolicy")
def create_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "PolicyName", max_len=128)
    path = params.str("Path", min_len=1, max_len=512, pattern=POLICY_PATH,
                      pattern_text=POLICY_PATH_TEXT) or "/"
    text = document_param(params)
    description = params.str("Description", max_len=1000) or ""
    tags = tags_param(params)
    acct = account(ctx)
    policy_arn = arn(acct, "policy", path, name)
    ctx.audit.request_parameters = {"policyName": name, "path": path,
                                    "description": description or None}
    ctx.authorize("iam:CreatePolicy", policy_arn, context=tag_context(tags))
    if tags:
        ctx.authorize("iam:TagPolicy", policy_arn, context=tag_context(tags))
    check_policy(text, PolicyKind.IDENTITY, MANAGED_POLICY_SIZE, TOO_LARGE)
    now = ctx.meta.now
    policy = ManagedPolicy(acct, new_unique_id("ANPA"), name, path, policy_arn, now, now, "v1",
                           text, description=description, tags=tags)
    with store_errors(policy=name):
        ctx.runtime.store.create_policy(policy)
    ctx.audit.response_elements = {"policy": {"policyName": name, "arn": policy_arn,
                                              "policyId": policy.policy_id}}
    out = policy_dict(policy)
    out["Tags"] = render_tags(tags) or None
    return {"Policy": out}


@operation("iam", "GetPolicy", read_only=True)
def get_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy_arn = _policy_arn(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn}
    return {"Policy": policy_dict(load_policy(ctx, "iam:GetPolicy", policy_arn), full=True)}


@operation("iam", "ListPolicies", read_only=True)
def list_policies(ctx: CallContext, params: Params) -> dict[str, Any]:
    scope = params.str("Scope", choices=["All", "AWS", "Local"]) or "All"
    only_attached = params.bool("OnlyAttached") or False
    prefix = params.str("PathPrefix", min_len=1, max_len=512, pattern=POLICY_PATH,
                        pattern_text=POLICY_PATH_TEXT) or "/"
    usage = params.str("PolicyUsageFilter", choices=["PermissionsPolicy", "PermissionsBoundary"])
    marker, max_items = paging(params)
    acct = account(ctx)
    ctx.authorize("iam:ListPolicies", arn(acct, "policy", prefix, ""))
    with store_errors():
        page = ctx.runtime.store.list_policies(
            acct, scope=scope, only_attached=only_attached,  # type: ignore[arg-type]
            path_prefix=prefix, marker=marker, max_items=max_items, usage=usage)
    return page_result(page, "Policies", [policy_dict(p) for p in page.items])


@operation("iam", "DeletePolicy")
def delete_policy(ctx: CallContext, params: Params) -> None:
    policy_arn = _policy_arn(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn}
    _customer_policy(ctx, "iam:DeletePolicy", policy_arn)
    with store_errors(policy=policy_arn):
        ctx.runtime.store.delete_policy(policy_arn)


@operation("iam", "CreatePolicyVersion")
def create_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy_arn = _policy_arn(params)
    text = document_param(params)
    set_default = params.bool("SetAsDefault") or False
    ctx.audit.request_parameters = {"policyArn": policy_arn, "setAsDefault": set_default}
    _customer_policy(ctx, "iam:CreatePolicyVersion", policy_arn)
    check_policy(text, PolicyKind.IDENTITY, MANAGED_POLICY_SIZE, TOO_LARGE)
    with store_errors(policy=policy_arn):
        version = ctx.runtime.store.create_policy_version(
            policy_arn, text, ctx.meta.now, set_default=set_default, max_versions=MAX_VERSIONS)
    return {"PolicyVersion": version_dict(version, document=False)}


@operation("iam", "GetPolicyVersion", read_only=True)
def get_policy_version(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy_arn = _policy_arn(params)
    version_id = _version_id(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn, "versionId": version_id}
    load_policy(ctx, "iam:GetPolicyVersion", policy_arn)
    with _version_errors(policy_arn, version_id):
        version = ctx.runtime.store.get_policy_version(policy_arn, version_id)
    return {"PolicyVersion": version_dict(version, document=True)}


@operation("iam", "ListPolicyVersions", read_only=True)
def list_policy_versions(ctx: CallContext, params: Params) -> dict[str, Any]:
    policy_arn = _policy_arn(params)
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn}
    load_policy(ctx, "iam:ListPolicyVersions", policy_arn)
    with store_errors(policy=policy_arn):
        versions = ctx.runtime.store.list_policy_versions(policy_arn)
    # Newest first, as IAM lists them; version numbers compare as numbers.
    page = page_of(versions, marker, max_items, lambda v: f"{int(v.version_id[1:]):012d}",
                   descending=True)
    return page_result(page, "Versions", [version_dict(v, document=False) for v in page.items])


@operation("iam", "SetDefaultPolicyVersion")
def set_default_policy_version(ctx: CallContext, params: Params) -> None:
    policy_arn = _policy_arn(params)
    version_id = _version_id(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn, "versionId": version_id}
    _customer_policy(ctx, "iam:SetDefaultPolicyVersion", policy_arn)
    with _version_errors(policy_arn, version_id):
        ctx.runtime.store.set_default_policy_version(policy_arn, version_id)


@operation("iam", "DeletePolicyVersion")
def delete_policy_version(ctx: CallContext, params: Params) -> None:
    policy_arn = _policy_arn(params)
    version_id = _version_id(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn, "versionId": version_id}
    _customer_policy(ctx, "iam:DeletePolicyVersion", policy_arn)
    with _version_errors(policy_arn, version_id):
        ctx.runtime.store.delete_policy_version(policy_arn, version_id)


def _load_for_tags(ctx: CallContext, action: str, policy_arn: str,
                   context: dict[str, str | list[str]] | None) -> ManagedPolicy:
    # The tag conditions are not (yet) part of a policy's authorization context.
    return load_policy(ctx, action, policy_arn)


def _update(ctx: CallContext, policy_arn: str, policy: ManagedPolicy,
            change: Callable[[ManagedPolicy], ManagedPolicy]) -> None:
    with store_errors(policy=policy_arn):
        ctx.runtime.store.update_policy(policy_arn, change)


register_tag_operations(Resource("Policy", _policy_arn, "policyArn", _load_for_tags, _update),
                        check_mutable=_check_mutable)
