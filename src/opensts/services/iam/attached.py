"""Managed-policy attachments and inline policies of users, groups and roles
(IAM API reference: API_AttachUserPolicy.html, API_PutRolePolicy.html, ...).

The twelve attach/detach/list and twelve inline operations differ only in the entity kind,
so they are registered from one table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opensts.directory.errors import QuotaExceeded, StoreError
from opensts.directory.records import EntityKind, InlinePolicy
from opensts.errors import NoSuchEntity, ValidationError
from opensts.policy import PolicyKind
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    ATTACHED_POLICIES,
    INLINE_SIZE,
    PATH_PREFIX,
    PATH_PREFIX_TEXT,
    POLICY_PATH,
    POLICY_PATH_TEXT,
    account,
    arn_param,
    check_policy,
    document_param,
    encode_document,
    every,
    load_entity,
    load_policy,
    name_param,
    page_of,
    page_result,
    paging,
    paging_fields,
    store_errors,
)
from opensts.services.iam.errors import to_aws
from opensts.services.registry import Handler, operation
from opensts.wire.params import Params

KINDS: dict[EntityKind, tuple[str, str, int]] = {
    # kind: (API noun, name parameter, name max length)
    "user": ("User", "UserName", 128),
    "group": ("Group", "GroupName", 128),
    "role": ("Role", "RoleName", 64),
}
_QUOTA = {"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}


def _audit_name(noun: str) -> str:
    return noun.lower() + "Name"


def _attachment(ctx: CallContext, params: Params, kind: EntityKind,
                verb: str) -> tuple[str, str, str]:
    """Attach/Detach<Noun>Policy: (name as requested, policy ARN, stored name), authorized
    with iam:PolicyARN, which lets policies limit which policies may be (de)tached."""
    noun, field, max_len = KINDS[kind]
    name = name_param(params, field, max_len=max_len)
    policy_arn = arn_param(params, "PolicyArn")
    assert policy_arn is not None
    ctx.audit.request_parameters = {_audit_name(noun): name, "policyArn": policy_arn}
    if verb == "Attach" and not _parses_as_arn(policy_arn):
        # AWS's answer (two spaces and all), before the entity is looked up: a client that
        # retries NoSuchEntity for eventual consistency would spin on a typo.
        raise ValidationError("Invalid ARN:  Could not be parsed!")
    stored = load_entity(ctx, kind, f"iam:{verb}{noun}Policy", name,
                         {"iam:PolicyARN": policy_arn})
    return name, policy_arn, stored


def _parses_as_arn(value: str) -> bool:
    """``arn:partition:service:region:account:resource`` with a partition, a service and a
    resource (region and account may be empty, as in IAM's own ARNs)."""
    parts = value.split(":", 5)
    return (len(parts) == 6 and parts[0] == "arn" and bool(parts[1]) and bool(parts[2])
            and bool(parts[5]))


def _attach(kind: EntityKind) -> Handler:
    def handler(ctx: CallContext, params: Params) -> None:
        name, policy_arn, stored = _attachment(ctx, params, kind, "Attach")
        try:
            ctx.runtime.store.attach_policy(kind, account(ctx), stored, policy_arn,
                                            max_attached=ATTACHED_POLICIES)
        except QuotaExceeded as exc:
            raise to_aws(QuotaExceeded(_QUOTA[kind], exc.limit)) from None
        except StoreError as exc:
            raise to_aws(exc, names={kind: name}) from None

    return handler


def _detach(kind: EntityKind) -> Handler:
    def handler(ctx: CallContext, params: Params) -> None:
        name, policy_arn, stored = _attachment(ctx, params, kind, "Detach")
        with store_errors(**{kind: name, "attachment": policy_arn}):
            ctx.runtime.store.detach_policy(kind, account(ctx), stored, policy_arn)
    return handler


def _list_attached(kind: EntityKind) -> Handler:
    noun, field, max_len = KINDS[kind]

    def handler(ctx: CallContext, params: Params) -> dict[str, Any]:
        name = name_param(params, field, max_len=max_len)
        prefix = params.str("PathPrefix", min_len=1, max_len=512, pattern=POLICY_PATH,
                            pattern_text=POLICY_PATH_TEXT) or "/"
        marker, max_items = paging(params)
        ctx.audit.request_parameters = {_audit_name(noun): name}
        stored = load_entity(ctx, kind, f"iam:ListAttached{noun}Policies", name)
        with store_errors(**{kind: name}):
            page = ctx.runtime.store.list_attached_policies(
                kind, account(ctx), stored, path_prefix=prefix, marker=marker,
                max_items=max_items)
        items = [{"PolicyName": p.name, "PolicyArn": p.arn} for p in page.items]
        return page_result(page, "AttachedPolicies", items)
    return handler


def _put_inline(kind: EntityKind) -> Handler:
    noun, field, max_len = KINDS[kind]
    limit = INLINE_SIZE[kind]

    def handler(ctx: CallContext, params: Params) -> None:
        name = name_param(params, field, max_len=max_len)
        policy_name = name_param(params, "PolicyName", max_len=128)
        text = document_param(params)
        ctx.audit.request_parameters = {_audit_name(noun): name, "policyName": policy_name,
                                        "policyDocument": text}
        stored = load_entity(ctx, kind, f"iam:Put{noun}Policy", name)
        check_policy(text, PolicyKind.IDENTITY, limit,
                     f"Maximum policy size of {limit} bytes exceeded for {kind} {name}")
        with store_errors(**{kind: name}):
            ctx.runtime.store.put_inline_policy(
                InlinePolicy(account(ctx), kind, stored, policy_name, text))
    return handler


def _inline_not_found(noun: str, policy_name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The {noun.lower()} policy with name {policy_name} cannot be found.")


def _get_inline(kind: EntityKind) -> Handler:
    noun, field, max_len = KINDS[kind]

    def handler(ctx: CallContext, params: Params) -> dict[str, Any]:
        name = name_param(params, field, max_len=max_len)
        policy_name = name_param(params, "PolicyName", max_len=128)
        ctx.audit.request_parameters = {_audit_name(noun): name, "policyName": policy_name}
        stored = load_entity(ctx, kind, f"iam:Get{noun}Policy", name)
        try:
            with store_errors(**{kind: name}):
                policy = ctx.runtime.store.get_inline_policy(kind, account(ctx), stored,
                                                             policy_name)
        except NoSuchEntity:
            raise _inline_not_found(noun, policy_name) from None
        return {field: policy.owner_name, "PolicyName": policy.name,
                "PolicyDocument": encode_document(policy.document)}
    return handler


def _delete_inline(kind: EntityKind) -> Handler:
    noun, field, max_len = KINDS[kind]

    def handler(ctx: CallContext, params: Params) -> None:
        name = name_param(params, field, max_len=max_len)
        policy_name = name_param(params, "PolicyName", max_len=128)
        ctx.audit.request_parameters = {_audit_name(noun): name, "policyName": policy_name}
        stored = load_entity(ctx, kind, f"iam:Delete{noun}Policy", name)
        try:
            with store_errors(**{kind: name}):
                ctx.runtime.store.delete_inline_policy(kind, account(ctx), stored, policy_name)
        except NoSuchEntity:
            raise _inline_not_found(noun, policy_name) from None
    return handler


def _list_inline(kind: EntityKind) -> Handler:
    noun, field, max_len = KINDS[kind]

    def handler(ctx: CallContext, params: Params) -> dict[str, Any]:
        name = name_param(params, field, max_len=max_len)
        marker, max_items = paging(params)
        ctx.audit.request_parameters = {_audit_name(noun): name}
        stored = load_entity(ctx, kind, f"iam:List{noun}Policies", name)
        with store_errors(**{kind: name}):
            page = ctx.runtime.store.list_inline_policies(kind, account(ctx), stored,
                                                          marker=marker, max_items=max_items)
        return page_result(page, "PolicyNames", list(page.items))
    return handler


for _kind, (_noun, _name_field, _name_max) in KINDS.items():
    operation("iam", f"Attach{_noun}Policy")(_attach(_kind))
    operation("iam", f"Detach{_noun}Policy")(_detach(_kind))
    operation("iam", f"ListAttached{_noun}Policies", read_only=True)(_list_attached(_kind))
    operation("iam", f"Put{_noun}Policy")(_put_inline(_kind))
    operation("iam", f"Get{_noun}Policy", read_only=True)(_get_inline(_kind))
    operation("iam", f"Delete{_noun}Policy")(_delete_inline(_kind))
    operation("iam", f"List{_noun}Policies", read_only=True)(_list_inline(_kind))


# ListEntitiesForPolicy lists groups, then users, then roles, each by name.
_ENTITY_ORDER = {"Group": "0", "User": "1", "Role": "2"}


@operation("iam", "ListEntitiesForPolicy", read_only=True)
def list_entities_for_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    """Entities the policy is attached to and, unless ``PolicyUsageFilter`` is
    PermissionsPolicy, users and roles it bounds ("If it is not included, all policies are
    returned", API_ListEntitiesForPolicy); one page of them all, with one marker."""
    policy_arn = arn_param(params, "PolicyArn")
    assert policy_arn is not None
    entity_filter = params.str("EntityFilter", choices=[
        "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
    prefix = params.str("PathPrefix", min_len=1, max_len=512, pattern=PATH_PREFIX,
                        pattern_text=PATH_PREFIX_TEXT) or "/"
    usage = params.str("PolicyUsageFilter", choices=["PermissionsPolicy",
                                                     "PermissionsBoundary"])
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"policyArn": policy_arn}
    policy = load_policy(ctx, "iam:ListEntitiesForPolicy", policy_arn)
    acct = account(ctx)
    store = ctx.runtime.store
    found: dict[str, tuple[str, Any]] = {}

    def add(kind: str, entities: Iterable[Any]) -> None:
        for e in entities:
            if (e.account_id == acct and e.path.startswith(prefix)
                    and entity_filter in (None, kind)):
                found[_ENTITY_ORDER[kind] + e.name.lower()] = (kind, e)

    if usage != "PermissionsBoundary":
        with store_errors(policy=policy_arn):
            groups, users, roles = store.list_entities_for_policy(policy_arn)
        add("Group", groups)
        add("User", users)
        add("Role", roles)
    # Only users and roles have boundaries; the count saves a scan when none uses it.
    if usage != "PermissionsPolicy" and policy.boundary_usage_count:
        all_users = every(lambda **kw: store.list_users(acct, path_prefix=prefix, **kw))
        all_roles = every(lambda **kw: store.list_roles(acct, path_prefix=prefix, **kw))
        add("User", (u for u in all_users if u.permissions_boundary == policy_arn))
        add("Role", (r for r in all_roles if r.permissions_boundary == policy_arn))
    page = page_of(found, marker, max_items, str)  # the keys of ``found``
    listed = [found[key] for key in page.items]
    return {
        "PolicyGroups": [{"GroupName": g.name, "GroupId": g.group_id}
                         for kind, g in listed if kind == "Group"],
        "PolicyUsers": [{"UserName": u.name, "UserId": u.user_id}
                        for kind, u in listed if kind == "User"],
        "PolicyRoles": [{"RoleName": r.name, "RoleId": r.role_id}
                        for kind, r in listed if kind == "Role"],
        **paging_fields(page),
    }
