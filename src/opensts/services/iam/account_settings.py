"""Account aliases and the account password policy (IAM API reference:
API_CreateAccountAlias.html, API_DeleteAccountAlias.html, API_ListAccountAliases.html,
API_UpdateAccountPasswordPolicy.html, API_GetAccountPasswordPolicy.html,
API_DeleteAccountPasswordPolicy.html; id_credentials_passwords_account-policy.html).

None of these actions has a resource type (service authorization reference): each is
authorized on ``*``. An account has at most one alias, unique across accounts; creating
another replaces it. The password policy is enforced where passwords are set or used:
``password_policy`` (CreateLoginProfile, UpdateLoginProfile, ChangePassword and the
sign-in pages' forced change).
"""

from __future__ import annotations

import re
from typing import Any

from opensts.directory.records import Page, PasswordPolicy
from opensts.errors import NoSuchEntity
from opensts.services.context import CallContext
from opensts.services.iam.common import account, page_of, page_result, paging, store_errors
from opensts.services.iam.password_policy import authorize_self_service
from opensts.services.registry import operation
from opensts.wire.params import Params

ALIAS_TEXT = r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
ALIAS = re.compile(ALIAS_TEXT)


def _alias(params: Params) -> str:
    return params.required("AccountAlias", min_len=3, max_len=63, pattern=ALIAS,
                           pattern_text=ALIAS_TEXT)


@operation("iam", "CreateAccountAlias")
def create_account_alias(ctx: CallContext, params: Params) -> None:
    alias = _alias(params)
    ctx.audit.request_parameters = {"accountAlias": alias}
    ctx.authorize("iam:CreateAccountAlias", "*")
    with store_errors(account_alias=alias):
        ctx.runtime.store.set_account_alias(account(ctx), alias)


@operation("iam", "DeleteAccountAlias")
def delete_account_alias(ctx: CallContext, params: Params) -> None:
    alias = _alias(params)
    ctx.audit.request_parameters = {"accountAlias": alias}
    ctx.authorize("iam:DeleteAccountAlias", "*")
    with store_errors(account_alias=alias):
        ctx.runtime.store.delete_account_alias(account(ctx), alias)


@operation("iam", "ListAccountAliases", read_only=True)
def list_account_aliases(ctx: CallContext, params: Params) -> dict[str, Any]:
    marker, max_items = paging(params)
    ctx.authorize("iam:ListAccountAliases", "*")
    alias = ctx.runtime.store.find_account_alias(account(ctx))
    page: Page[str] = page_of([] if alias is None else [alias], marker, max_items, str)
    return page_result(page, "AccountAliases", list(page.items))


# -- the account password policy -------------------------------------------------------------

@operation("iam", "UpdateAccountPasswordPolicy")
def update_account_password_policy(ctx: CallContext, params: Params) -> None:
    """No partial updates: an omitted parameter reverts to its default
    (API_UpdateAccountPasswordPolicy)."""
    policy = PasswordPolicy(
        minimum_password_length=params.int("MinimumPasswordLength", minimum=6,
                                           maximum=128) or 6,
        require_symbols=params.bool("RequireSymbols") or False,
        require_numbers=params.bool("RequireNumbers") or False,
        require_uppercase_characters=params.bool("RequireUppercaseCharacters") or False,
        require_lowercase_characters=params.bool("RequireLowercaseCharacters") or False,
        allow_users_to_change_password=params.bool("AllowUsersToChangePassword") or False,
        max_password_age=params.int("MaxPasswordAge", minimum=1, maximum=1095),
        password_reuse_prevention=params.int("PasswordReusePrevention", minimum=1,
                                             maximum=24),
        hard_expiry=params.bool("HardExpiry"),
    )
    ctx.audit.request_parameters = {k: v for k, v in {
        "minimumPasswordLength": policy.minimum_password_length,
        "requireSymbols": policy.require_symbols,
        "requireNumbers": policy.require_numbers,
        "requireUppercaseCharacters": policy.require_uppercase_characters,
        "requireLowercaseCharacters": policy.require_lowercase_characters,
        "allowUsersToChangePassword": policy.allow_users_to_change_password,
        "maxPasswordAge": policy.max_password_age,
        "passwordReusePrevention": policy.password_reuse_prevention,
        "hardExpiry": policy.hard_expiry,
    }.items() if v is not None}
    ctx.authorize("iam:UpdateAccountPasswordPolicy", "*")
    ctx.runtime.store.put_password_policy(account(ctx), policy)


def _missing(acct: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Password Policy with domain name {acct} cannot be found.")


@operation("iam", "GetAccountPasswordPolicy", read_only=True)
def get_account_password_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    policy = ctx.runtime.store.find_password_policy(acct)
    # With AllowUsersToChangePassword, every IAM user may read the policy it must meet
    # (id_credentials_passwords_enable-user-change).
    authorize_self_service(ctx, "iam:GetAccountPasswordPolicy", "*", policy)
    if policy is None:
        raise _missing(acct)
    return {"PasswordPolicy": policy_dict(policy)}


def policy_dict(p: PasswordPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MinimumPasswordLength": p.minimum_password_length,
        "RequireSymbols": p.require_symbols,
        "RequireNumbers": p.require_numbers,
        "RequireUppercaseCharacters": p.require_uppercase_characters,
        "RequireLowercaseCharacters": p.require_lowercase_characters,
        "AllowUsersToChangePassword": p.allow_users_to_change_password,
        "ExpirePasswords": p.max_password_age is not None,
    }
    if p.max_password_age is not None:
        out["MaxPasswordAge"] = p.max_password_age
    if p.password_reuse_prevention is not None:
        out["PasswordReusePrevention"] = p.password_reuse_prevention
    if p.hard_expiry is not None:
        out["HardExpiry"] = p.hard_expiry
    return out


@operation("iam", "DeleteAccountPasswordPolicy")
def delete_account_password_policy(ctx: CallContext, params: Params) -> None:
    ctx.authorize("iam:DeleteAccountPasswordPolicy", "*")
    with store_errors():
        ctx.runtime.store.delete_password_policy(account(ctx))
