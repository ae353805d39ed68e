"""A real store with accounts, users, groups, roles, sessions, an organization and buckets,
for deciding S3 requests through ``authorize_s3`` (no server, no mocks)."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opensts.credentials.tokens import KeyRing
from opensts.directory.records import (
    Account,
    Bucket,
    Group,
    InlinePolicy,
    ManagedPolicy,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
    PublicAccessBlock,
    Role,
    Tag,
    User,
)
from opensts.policy import Decision
from opensts.services.authz import Authorizer
from opensts.services.context import Caller, RequestMeta
from opensts.services.s3.authorize import authorize_s3
from opensts.store import SqlStore

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
DEV, PROD, OTHER, MGMT = "111111111111", "222222222222", "333333333333", "999999999999"
ORG, ROOT = "o-s3authztest", "r-s3az"
SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
_seq = itertools.count(1)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


PAB = PublicAccessBlock
OFF = PublicAccessBlock.all_off()


@dataclass(frozen=True)
class Need:
    action: str
    resource: str
    bucket: str | None
    key: str | None


def need(action: str, bucket: str | None = None, key: str | None = None) -> Need:
    if bucket is None:
        return Need(action, "*", None, None)
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
    return Need(action, resource, bucket, key)


def _uid(prefix: str) -> str:
    return f"{prefix}{next(_seq):017d}"


class World:
    def __init__(self, store: SqlStore):
        self.store = store
        key_id, material = KeyRing.generate_key()
        self.authorizer = Authorizer(store, KeyRing([(key_id, material)], key_id))
        for account in (DEV, PROD, OTHER):
            store.create_account(Account(account, f"acct-{account}", "a@example.com", NOW))

    # -- identities ------------------------------------------------------------------

    def user(self, account: str, name: str, *policies: str, boundary: str | None = None,
             groups: tuple[str, ...] = (), tags: dict[str, str] | None = None) -> Caller:
        user = User(account, _uid("AIDA"), name, "/", f"arn:aws:iam::{account}:user/{name}", NOW,
                    permissions_boundary=boundary,
                    tags=tuple(Tag(k, v) for k, v in (tags or {}).items()))
        self.store.create_user(user)
        for i, text in enumerate(policies):
            self.store.put_inline_policy(InlinePolicy(account, "user", name, f"p{i}", text))
        for group in groups:
            self.store.add_user_to_group(account, group, name)
        return Caller("IAMUser", account, user.arn, user.user_id, _uid("AKIA"), user_name=name)

    def group(self, account: str, name: str, *policies: str) -> None:
        self.store.create_group(Group(account, _uid("AGPA"), name, "/",
                                      f"arn:aws:iam::{account}:group/{name}", NOW))
        for i, text in enumerate(policies):
            self.store.put_inline_policy(InlinePolicy(account, "group", name, f"p{i}", text))

    def role(self, account: str, name: str, *policies: str, trust: str | None = None,
             boundary: str | None = None) -> Role:
        trust = trust or doc({"Effect": "Allow",
                              "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                              "Action": "sts:AssumeRole"})
        role = Role(account, _uid("AROA"), name, "/", f"arn:aws:iam::{account}:role/{name}", NOW,
                    trust, permissions_boundary=boundary)
        self.store.create_role(role)
        for i, text in enumerate(policies):
            self.store.put_inline_policy(InlinePolicy(account, "role", name, f"p{i}", text))
        return role

    def put_role_policy(self, role: Role, name: str, text: str) -> None:
        self.store.put_inline_policy(InlinePolicy(role.account_id, "role", role.name, name, text))

    def managed(self, account: str, name: str, text: str) -> str:
        arn = f"arn:aws:iam::{account}:policy/{name}"
        self.store.create_policy(ManagedPolicy(account, _uid("ANPA"), name, "/", arn, NOW, NOW,
                                               "v1", text))
        return arn

    def session(self, role: Role, name: str = "s1", *, policy: str | None = None,
                policy_arns: tuple[str, ...] = (), tags: dict[str, str] | None = None,
                issued: datetime = NOW) -> Caller:
        claims: dict[str, Any] = {
            "type": "AssumedRole", "acct": role.account_id, "role_arn": role.arn,
            "role_id": role.role_id, "role_name": role.name, "iat": int(issued.timestamp()),
        }
        if policy is not None:
            claims["pol"] = policy
        if policy_arns:
            claims["parns"] = list(policy_arns)
        if tags:
            claims["tags"] = tags
        return Caller("AssumedRole", role.account_id,
                      f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{name}",
                      f"{role.role_id}:{name}", _uid("ASIA"), session=claims)

    @staticmethod
    def root(account: str) -> Caller:
        return Caller("Root", account, f"arn:aws:iam::{account}:root", account, _uid("AKIA"))

    # -- an organization over DEV and PROD (MGMT manages) ------------------------------

    def organization(self) -> None:
        arn = f"arn:aws:organizations::{MGMT}:"
        self.store.create_account(Account(MGMT, "mgmt", "m@example.com", NOW))
        self.store.create_organization(
            Organization(ORG, f"{arn}organization/{ORG}", MGMT, "m@example.com", "ALL", ROOT,
                         NOW),
            OrgUnit(ROOT, ORG, f"{arn}root/{ORG}/{ROOT}", "Root", "ROOT", None),
            OrgAccount(MGMT, ORG, ROOT, f"{arn}account/{ORG}/{MGMT}", "mgmt", "m@example.com",
                       "INVITED", NOW),
        )
        for account in (DEV, PROD):
            self.store.add_org_account(OrgAccount(account, ORG, ROOT,
                                                  f"{arn}account/{ORG}/{account}", account,
                                                  "a@example.com", "INVITED", NOW))
        full = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
        self.store.enable_org_policy_type(ROOT, SCP, self._org_policy(SCP, "FullAWSAccess", full,
                                                                      managed=True))
        rcp_full = doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})
        self.store.enable_org_policy_type(ROOT, RCP, self._org_policy(RCP, "RCPFullAWSAccess",
                                                                      rcp_full, managed=True))

    def _org_policy(self, kind: str, name: str, text: str, managed: bool = False) -> OrgPolicy:
        pid = f"p-{uuid.uuid4().hex[:8]}"
        owner = "aws" if managed else MGMT
        return OrgPolicy(pid, ORG, f"arn:aws:organizations::{owner}:policy/{ORG}/{pid}", name,
                         "", kind, text, aws_managed=managed)

    def attach_org_policy(self, kind: str, target: str, text: str) -> None:
        policy = self._org_policy(kind, f"{kind.lower()}-{target}-{uuid.uuid4().hex[:6]}", text)
        self.store.create_org_policy(policy)
        self.store.attach_org_policy(policy.policy_id, target)

    # -- buckets, stored and read back as the gateway reads them ------------------------

    def bucket(self, name: str, account: str, policy: str | None = None, *,
               tags: tuple[Tag, ...] = (), public_access_block: PublicAccessBlock | None = None
               ) -> Bucket:
        if self.store.find_bucket(name) is not None:
            self.store.delete_bucket(name)
        self.store.create_bucket(Bucket(name, account, "us-east-1", NOW, policy, tags,
                                        public_access_block or PublicAccessBlock.all_on()))
        found = self.store.find_bucket(name)
        assert found is not None
        return found

    # -- deciding --------------------------------------------------------------------

    def decide(self, caller: Caller | None, what: Need, bucket: Bucket | None, *,
               context: dict[str, str | list[str]] | None = None,
               now: datetime = NOW, request_id: str | None = None) -> Decision:
        meta = RequestMeta(request_id or uuid.uuid4().hex, now, "203.0.113.7", "test/1.0",
                           "us-east-1", "s3.example.internal", secure=True)
        return authorize_s3(self.authorizer, caller, what, bucket, meta=meta,
                            context=context or {})


def before(moment: datetime, minutes: int = 5) -> datetime:
    return moment - timedelta(minutes=minutes)
