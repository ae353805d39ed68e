"""Fail closed when something a decision depends on is gone.

A permissions boundary, a managed session policy or the role/user behind a session that
no longer resolves must never widen what a caller may do: IAM refuses to delete a policy in
use as a boundary (DeleteConflict), an unresolvable boundary or session policy denies
everything, and a session whose role or user was deleted (or replaced by a new one of the
same name, with another unique id) is dead.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from opensts.credentials.tokens import KeyRing
from opensts.directory.errors import NotFound
from opensts.directory.records import AccessKey, InlinePolicy, Role, User
from opensts.services import authn
from opensts.services.authz import Authorizer
from opensts.services.context import Caller, RequestMeta
from opensts.sigv4.errors import InvalidClientTokenId
from opensts.store import SqlStore, open_store
from tests.conftest import ACCOUNT_ID, Server
from tests.iam.helpers import ALLOW_ALL, allow, doc, error_of, trust, unique

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
DENY_LIST_ROLES = {"Version": "2012-10-17",
                   "Statement": [{"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]}


def _creds(response: dict[str, Any]) -> dict[str, str]:
    c = response["Credentials"]
    return {"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}


def _policy(iam: Any, document: dict[str, Any]) -> str:
    return str(iam.create_policy(PolicyName=unique("pol"),
                                 PolicyDocument=doc(document))["Policy"]["Arn"])


def _role(iam: Any, name: str | None = None, trust_doc: str | None = None) -> str:
    name = name or unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc or trust(ACCOUNT_ID))
    iam.put_role_policy(RoleName=name, PolicyName="admin", PolicyDocument=doc(ALLOW_ALL))
    return name


def _delete_role(iam: Any, name: str) -> None:
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)


def _assume(server: Server, role_name: str, **kwargs: Any) -> dict[str, str]:
    # Root may not assume roles: a user allowed sts:AssumeRole does.
    user = unique("assumer")
    iam = server.client("iam")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(allow("sts:AssumeRole")))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    response = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}",
                               RoleSessionName="s1", **kwargs)
    return _creds(response)


# -- 1. permissions boundaries ---------------------------------------------------------------


def test_a_user_cannot_delete_its_own_permissions_boundary(server: Server, iam: Any) -> None:
    boundary = _policy(iam, allow("iam:DeletePolicy", "iam:GetPolicy"))
    name = unique("bounded")
    iam.create_user(UserName=name, PermissionsBoundary=boundary)
    iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=doc(ALLOW_ALL))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert error_of(as_user.delete_policy, PolicyArn=boundary) == (
        "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
    # The boundary still limits the user.
    assert error_of(as_user.list_users)[0] == "AccessDenied"
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 1


def test_a_policy_in_use_as_a_role_boundary_cannot_be_deleted(iam: Any) -> None:
    boundary = _policy(iam, allow("s3:*"))
    name = unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ACCOUNT_ID),
                    PermissionsBoundary=boundary)
    assert error_of(iam.delete_policy, PolicyArn=boundary) == (
        "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
    iam.delete_role_permissions_boundary(RoleName=name)
    iam.delete_policy(PolicyArn=boundary)  # no longer in use


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'directory.db'}", aws_managed=False)
    yield opened
    opened.close()


def _authorizer(store: SqlStore) -> Authorizer:
    key_id, material = KeyRing.generate_key()
    return Authorizer(store, KeyRing([(key_id, material)], key_id))


def _meta() -> RequestMeta:
    return RequestMeta(uuid.uuid4().hex, NOW, "127.0.0.1", "test", "us-east-1", "localhost")


MISSING_POLICY = f"arn:aws:iam::{ACCOUNT_ID}:policy/gone"


def test_an_unresolvable_user_boundary_denies_everything(store: SqlStore) -> None:
    # A boundary row that no longer resolves (a concurrent DeletePolicy, a restored backup).
    user = User(ACCOUNT_ID, "AIDAFAILCLOSED000001", "alice", "/",
                f"arn:aws:iam::{ACCOUNT_ID}:user/alice", NOW, permissions_boundary=MISSING_POLICY)
    store.create_user(user)
    store.put_inline_policy(InlinePolicy(ACCOUNT_ID, "user", "alice", "admin", doc(ALLOW_ALL)))
    caller = Caller("IAMUser", ACCOUNT_ID, user.arn, user.user_id, "AKIAFAILCLOSED000001",
                    user_name="alice")
    decision = _authorizer(store).decide(caller, "iam:ListUsers", "*", meta=_meta())
    assert not decision.allowed
    assert "could not be resolved" in decision.reason
    assert MISSING_POLICY in decision.reason


def test_an_unresolvable_role_boundary_denies_everything(store: SqlStore) -> None:
    role = Role(ACCOUNT_ID, "AROAFAILCLOSED000001", "r", "/", f"arn:aws:iam::{ACCOUNT_ID}:role/r",
                NOW, trust(ACCOUNT_ID), permissions_boundary=MISSING_POLICY)
    store.create_role(role)
    store.put_inline_policy(InlinePolicy(ACCOUNT_ID, "role", "r", "admin", doc(ALLOW_ALL)))
    claims = {"type": "AssumedRole", "acct": ACCOUNT_ID, "role_arn": role.arn,
              "role_id": role.role_id, "role_name": "r", "iat": int(NOW.timestamp())}
    caller = Caller("AssumedRole", ACCOUNT_ID, f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/r/s",
                    f"{role.role_id}:s", "ASIAFAILCLOSED000001", session=claims)
    authorizer = _authorizer(store)
    decision = authorizer.decide(caller, "iam:ListUsers", "*", meta=_meta())
    assert not decision.allowed
    assert "could not be resolved" in decision.reason
    # SimulatePrincipalPolicy reads the same boundary the same way.
    policies = authorizer.entity_policies(ACCOUNT_ID, "role", "r")
    assert policies.boundary is not None and policies.boundary[0].startswith(MISSING_POLICY)


# -- 2. managed session policies -------------------------------------------------------------


def test_deleting_a_session_policy_does_not_lift_the_session_limit(
    server: Server, iam: Any
) -> None:
    limit = _policy(iam, allow("iam:GetRole"))
    role = _role(iam)
    session = server.client("iam", **_assume(server, role, PolicyArns=[{"arn": limit}]))
    session.get_role(RoleName=role)
    assert error_of(session.list_roles)[0] == "AccessDenied"
    iam.delete_policy(PolicyArn=limit)  # allowed: sessions only reference it, as on AWS
    assert error_of(session.list_roles)[0] == "AccessDenied"


def test_deleting_a_denying_session_policy_does_not_lift_its_deny(
    server: Server, iam: Any
) -> None:
    # Inline session policy allows everything; the managed one denies iam:ListRoles.
    denying = _policy(iam, DENY_LIST_ROLES)
    role = _role(iam)
    session = server.client("iam", **_assume(server, role, Policy=doc(ALLOW_ALL),
                                             PolicyArns=[{"arn": denying}]))
    assert error_of(session.list_roles)[0] == "AccessDenied"
    iam.delete_policy(PolicyArn=denying)
    code, _, message = error_of(session.list_roles)
    assert code == "AccessDenied"
    assert "session policy" in message


# -- 3. sessions outlive their principal by name ----------------------------------------------


def test_a_role_session_dies_with_its_role_even_if_the_name_is_reused(
    server: Server, iam: Any
) -> None:
    role = _role(iam)
    old = _assume(server, role)
    server.client("iam", **old).list_roles(MaxItems=1)
    _delete_role(iam, role)
    _role(iam, role)  # same name, new unique id, administrator
    dead_iam = server.client("iam", **old)
    assert error_of(dead_iam.list_roles)[0] == "AccessDenied"
    # GetCallerIdentity needs no permission and still answers, as on AWS.
    identity = server.client("sts", **old).get_caller_identity()
    assert identity["Arn"].endswith(f":assumed-role/{role}/s1")


def test_a_dead_role_session_gets_nothing_from_a_trust_policy_naming_everyone(
    server: Server, iam: Any
) -> None:
    # Same account, Principal "*": a trust policy grants on its own, without identity
    # policies. A session whose role is gone must not use it.
    role = _role(iam)
    old = _assume(server, role)
    open_role = _role(iam, trust_doc=doc({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT_ID}}}]}))
    target = f"arn:aws:iam::{ACCOUNT_ID}:role/{open_role}"
    server.client("sts", **old).assume_role(RoleArn=target, RoleSessionName="live")
    _delete_role(iam, role)
    denied = error_of(server.client("sts", **old).assume_role, RoleArn=target,
                      RoleSessionName="dead")
    assert denied[0] == "AccessDenied"


def test_a_user_session_dies_with_its_user_even_if_the_name_is_reused(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()  # no permissions
    session = _creds(server.client("sts", key, secret).get_session_token())
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{_role(iam)}"
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    iam.delete_user(UserName=name)
    iam.create_user(UserName=name)  # same name, new unique id, administrator
    iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=doc(ALLOW_ALL))
    denied = error_of(server.client("sts", **session).assume_role, RoleArn=role_arn,
                      RoleSessionName="s1")
    assert denied[0] == "AccessDenied"


def test_a_federated_session_of_a_replaced_user_is_dead(store: SqlStore) -> None:
    # GetFederationToken credentials may call no IAM and no STS operation that needs a
    # permission on this server, so the decision is checked on the authorizer itself.
    user = User(ACCOUNT_ID, "AIDAFAILCLOSED000002", "bob", "/",
                f"arn:aws:iam::{ACCOUNT_ID}:user/bob", NOW)
    store.create_user(user)  # the new "bob", administrator
    store.put_inline_policy(InlinePolicy(ACCOUNT_ID, "user", "bob", "admin", doc(ALLOW_ALL)))
    claims = {"type": "FederatedUser", "acct": ACCOUNT_ID, "user": "bob",
              "uid": "AIDAFAILCLOSEDOLD001", "uarn": user.arn, "pol": doc(ALLOW_ALL),
              "iat": int(NOW.timestamp())}
    caller = Caller("FederatedUser", ACCOUNT_ID, f"arn:aws:sts::{ACCOUNT_ID}:federated-user/f",
                    f"{ACCOUNT_ID}:f", "ASIAFAILCLOSED000002", user_name="bob", session=claims)
    authorizer = _authorizer(store)
    assert not authorizer.decide(caller, "s3:GetObject", "arn:aws:s3:::b/k", meta=_meta()).allowed
    live = dataclasses.replace(caller, session={**claims, "uid": user.user_id})
    assert authorizer.decide(live, "s3:GetObject", "arn:aws:s3:::b/k", meta=_meta()).allowed


# -- 3b. long-term access keys belong to one user, by unique id ------------------------------


class _KeyStore:
    """Just what authn reads for an AKIA key: a (possibly stale) key row and a user."""

    def __init__(self, key: AccessKey, user: User | None):
        self.key, self.user = key, user

    def find_access_key(self, access_key_id: str) -> AccessKey | None:
        return self.key if access_key_id == self.key.access_key_id else None

    def get_user(self, account_id: str, name: str) -> User:
        if self.user is None or self.user.name != name:
            raise NotFound("user", name)
        return self.user


class _OpenBox:
    def open(self, blob: bytes, *, context: bytes) -> bytes:
        return blob


def _long_term_caller(key: AccessKey, user: User | None) -> Caller:
    runtime = SimpleNamespace(store=_KeyStore(key, user), secret_box=_OpenBox())
    signed = SimpleNamespace(access_key_id=key.access_key_id, security_token=None)
    return authn._long_term(runtime, signed)[0]  # type: ignore[arg-type]


def _refused(key: AccessKey, user: User | None, reason: str) -> None:
    """The client is told InvalidClientTokenId; the operator's audit record, ``reason``."""
    with pytest.raises(authn._Refused) as refused:
        _long_term_caller(key, user)
    assert isinstance(refused.value.error, InvalidClientTokenId)
    assert refused.value.reason == reason


def _bob(user_id: str) -> User:
    return User(ACCOUNT_ID, user_id, "bob", "/", f"arn:aws:iam::{ACCOUNT_ID}:user/bob", NOW)


def _key(user_name: str | None, user_id: str | None) -> AccessKey:
    return AccessKey("AKIAFAILCLOSED000001", ACCOUNT_ID, user_name, user_id, b"secret",
                     "Active", NOW)


def test_an_access_key_of_a_deleted_user_does_not_pass_for_the_new_user_of_that_name() -> None:
    # A key row read before DeleteAccessKey/DeleteUser (another node's cache, within its
    # staleness) paired with the user created again under the same name.
    assert _long_term_caller(_key("bob", "AIDAOLD"), _bob("AIDAOLD")).principal_id == "AIDAOLD"
    _refused(_key("bob", "AIDAOLD"), _bob("AIDANEW"), "user_deleted")


def test_an_access_key_whose_user_is_gone_is_not_taken_for_a_root_key() -> None:
    # The owner join found no user: the key is a user's (user_id set), not the root's.
    _refused(_key(None, "AIDAOLD"), None, "user_deleted")
    assert _long_term_caller(_key(None, None), None).type == "Root"
