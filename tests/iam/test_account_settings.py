"""Account aliases and the account password policy through boto3 and the AWS CLI, and the
policy enforced by CreateLoginProfile, UpdateLoginProfile and ChangePassword (reuse
prevention, AllowUsersToChangePassword).

The password policy is account-wide and the server is shared by the tests of a worker:
every test that sets one deletes it again."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import allow, doc, error_of, unique

STRONG = "Abcdef-12345!"


@pytest.fixture
def no_policy(iam: Any) -> Iterator[None]:
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_account_password_policy()
    yield
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_account_password_policy()


def test_account_alias_lifecycle(iam: Any, server: Any) -> None:
    assert iam.list_account_aliases()["AccountAliases"] == []
    alias = unique("corp").lower()
    iam.create_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases() | {"ResponseMetadata": None} == {
        "AccountAliases": [alias], "IsTruncated": False, "ResponseMetadata": None}
    assert error_of(iam.create_account_alias, AccountAlias=alias) == (
        "EntityAlreadyExists", 409, f"The account alias {alias} already exists.")
    # a second alias replaces the first: an account has at most one
    second = unique("corp2").lower()
    iam.create_account_alias(AccountAlias=second)
    assert iam.list_account_aliases()["AccountAliases"] == [second]
    assert error_of(iam.delete_account_alias, AccountAlias=alias)[:2] == ("NoSuchEntity", 404)
    iam.delete_account_alias(AccountAlias=second)
    assert iam.list_account_aliases()["AccountAliases"] == []
    for bad in ("-corp", "corp-", "co--rp", "Corp", "a" * 64):
        code, status, message = error_of(iam.create_account_alias, AccountAlias=bad)
        assert (code, status) == ("ValidationError", 400), bad
        assert "at 'accountAlias' failed to satisfy constraint" in message
    # through the CLI
    third = unique("cli").lower()
    server.aws("iam", "create-account-alias", "--account-alias", third)
    assert server.aws_json("iam", "list-account-aliases")["AccountAliases"] == [third]
    server.aws("iam", "delete-account-alias", "--account-alias", third)


def test_account_alias_authorization(server: Any, new_user: Any) -> None:
    _, key, secret = new_user(allow("iam:ListAccountAliases"))
    client = server.client("iam", key, secret)
    assert client.list_account_aliases()["AccountAliases"] == []
    code, status, message = error_of(client.create_account_alias, AccountAlias="denied-one")
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:CreateAccountAlias on resource: *" in message


def test_password_policy_lifecycle(iam: Any, server: Any, no_policy: None) -> None:
    assert error_of(iam.get_account_password_policy) == (
        "NoSuchEntity", 404,
        f"The Password Policy with domain name {server.account_id} cannot be found.")
    assert error_of(iam.delete_account_password_policy) == (
        "NoSuchEntity", 404, "The account policy with name PasswordPolicy cannot be found.")
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True)
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "MinimumPasswordLength": 12, "RequireSymbols": True, "RequireNumbers": False,
        "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False, "ExpirePasswords": False}
    # no partial updates: what is left out reverts to its default
    iam.update_account_password_policy(MaxPasswordAge=90, PasswordReusePrevention=3,
                                       HardExpiry=False)
    got = iam.get_account_password_policy()["PasswordPolicy"]
    assert got["MinimumPasswordLength"] == 6 and got["RequireSymbols"] is False
    assert (got["ExpirePasswords"], got["MaxPasswordAge"], got["PasswordReusePrevention"],
            got["HardExpiry"]) == (True, 90, 3, False)
    for field, value, constraint in (
            ("MinimumPasswordLength", 129, "less than or equal to 128"),
            ("MaxPasswordAge", 1096, "less than or equal to 1095"),
            ("PasswordReusePrevention", 25, "less than or equal to 24")):
        code, _, message = error_of(iam.update_account_password_policy, **{field: value})
        assert code == "ValidationError" and constraint in message, (field, message)
    # the CLI
    server.aws("iam", "update-account-password-policy", "--minimum-password-length", "10",
               "--require-numbers")
    out = server.aws_json("iam", "get-account-password-policy")["PasswordPolicy"]
    assert (out["MinimumPasswordLength"], out["RequireNumbers"]) == (10, True)
    server.aws("iam", "delete-account-password-policy")
    assert server.aws("iam", "get-account-password-policy", check=False).returncode != 0


def test_the_policy_applies_to_login_profiles(iam: Any, no_policy: None) -> None:
    name = unique("pp")
    iam.create_user(UserName=name)
    # AWS's default without a policy: 8 characters, three character classes
    assert error_of(iam.create_login_profile, UserName=name, Password="abcdefgh")[0] == (
        "PasswordPolicyViolation")
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireUppercaseCharacters=True,
                                       RequireNumbers=True)
    assert error_of(iam.create_login_profile, UserName=name, Password=STRONG) == (
        "PasswordPolicyViolation", 400, "Password should have a minimum length of 14")
    assert error_of(iam.create_login_profile, UserName=name, Password="abcdefghijklmn1")[2] == (
        "Password should have at least one uppercase letter")
    assert error_of(iam.create_login_profile, UserName=name, Password="Abcdefghijklmno")[2] == (
        "Password should have at least one number")
    # a policy without class rules accepts what the default would refuse
    iam.update_account_password_policy(MinimumPasswordLength=6)
    iam.create_login_profile(UserName=name, Password="abcdefgh")
    iam.update_account_password_policy(RequireSymbols=True)
    assert error_of(iam.update_login_profile, UserName=name, Password="abcdefghij")[2] == (
        "Password should have at least one symbol")
    iam.update_login_profile(UserName=name, Password="abcdefghij!")
    iam.delete_login_profile(UserName=name)
    iam.delete_user(UserName=name)


def test_change_password_reuse_and_self_service(iam: Any, server: Any,
                                                no_policy: None) -> None:
    name = unique("cp")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    me = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_login_profile(UserName=name, Password="Password-0")
    # without a grant, ChangePassword is denied...
    assert error_of(me.change_password, OldPassword="Password-0",
                    NewPassword="Password-1")[:2] == ("AccessDenied", 403)
    assert error_of(me.get_account_password_policy)[:2] == ("AccessDenied", 403)
    # ...AllowUsersToChangePassword grants it (and reading the policy) to every IAM user
    iam.update_account_password_policy(AllowUsersToChangePassword=True,
                                       PasswordReusePrevention=2)
    assert me.get_account_password_policy()["PasswordPolicy"]["PasswordReusePrevention"] == 2
    me.change_password(OldPassword="Password-0", NewPassword="Password-1")
    # the last two passwords (the current one included) cannot come back
    code, status, message = error_of(me.change_password, OldPassword="Password-1",
                                     NewPassword="Password-0")
    assert (code, status) == ("PasswordPolicyViolation", 400)
    assert "last 2 passwords" in message
    me.change_password(OldPassword="Password-1", NewPassword="Password-2")
    me.change_password(OldPassword="Password-2", NewPassword="Password-0")  # 3 changes ago
    # an explicit deny still wins over the policy's grant
    iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=doc({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "iam:ChangePassword", "Resource": "*"}]}))
    assert error_of(me.change_password, OldPassword="Password-0",
                    NewPassword="Password-3")[:2] == ("AccessDenied", 403)
    iam.delete_user_policy(UserName=name, PolicyName="deny")
    iam.delete_login_profile(UserName=name)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)
