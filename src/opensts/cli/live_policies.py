"""The live policies of one request, read through the API with the caller's credentials.

For ``opensts policy explain --endpoint-url``: the principal's identity policies (inline
and attached, the user's groups' too), its permissions boundary, the SCPs above its account
and the RCPs above the resource's (Organizations), the role's trust policy for
``sts:AssumeRole*``, and the resource-based policy of an S3 bucket (GetBucketPolicy) or of
an IAM role. The result feeds the same local engine as policy files do.

Failing closed: what could not be read (AccessDenied, an error, an API that cannot show it,
such as a session's session policies) is listed in ``unreadable``; the caller must not
claim an allow while anything is listed there, since an unread SCP, boundary or session
policy may deny. What the server would do with a missing entity is not guessed either.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click

from opensts.cli.aws_client import AwsCallError, AwsClient, members, text
from opensts.errors import MalformedPolicyDocument
from opensts.policy import Policy, PolicyKind, PolicySet, Principal, PrincipalKind, parse_policy

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
#: Services whose resources RCPs govern (as services/authz.RCP_SERVICES).
RCP_SERVICES = frozenset({"sts", "s3"})
#: STS actions a role's trust policy decides.
TRUST_ACTIONS = frozenset({"sts:assumerole", "sts:assumerolewithsaml",
                           "sts:assumerolewithwebidentity", "sts:tagsession",
                           "sts:setsourceidentity"})


class Unreadable(Exception):
    """A policy that matters could not be read; ``str()`` says which and why."""


@dataclass
class LivePolicies:
    policies: PolicySet = field(default_factory=PolicySet)
    context: dict[str, str | list[str]] = field(default_factory=dict)
    principal: Principal | None = None
    resource_account: str | None = None
    read: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _doc(encoded: str | None) -> str:
    # IAM returns documents URL-encoded (RFC 3986).
    return urllib.parse.unquote(encoded or "")


def _pages(call: Callable[..., Any], action: str, list_path: str, **params: str) -> Iterator[Any]:
    """Every ``member`` of a paged IAM list (IsTruncated/Marker)."""
    marker: str | None = None
    while True:
        result = call(action, **params, **({"Marker": marker} if marker else {}))
        yield from members(result, list_path)
        if text(result, "IsTruncated") != "true":
            return
        marker = text(result, "Marker")
        if not marker:
            return


class Reader:
    """Reads the policies of one request; every failure lands in ``out.unreadable``."""

    def __init__(self, iam: AwsClient, organizations: AwsClient):
        self.iam = iam
        self.orgs = organizations
        self.out = LivePolicies()
        try:
            self.account = iam.caller_account()
        except AwsCallError as exc:
            raise click.ClickException(f"the credentials were refused: {exc.code}: "
                                       f"{exc.message}") from None

    def _own(self, arn: str, account: str | None, what: str) -> None:
        """IAM answers about the caller's own account only: asking it for another
        account's user or role by name would read a namesake."""
        if account != self.account:
            raise Unreadable(f"{what}: {arn} is in account {account}, the credentials are of "
                             f"account {self.account} (use --profile with credentials of "
                             f"account {account})")

    # -- helpers ------------------------------------------------------------------------

    def _parse(self, source: str, document: str, kind: PolicyKind) -> tuple[str, Policy]:
        try:
            policy = parse_policy(document, kind)
        except MalformedPolicyDocument as exc:
            raise Unreadable(f"{source}: the server sent a policy that does not parse "
                             f"({exc.message})") from None
        self.out.read.append(source)
        return source, policy

    def _call(self, what: str, action: str, **params: str) -> Any:
        try:
            return self.iam.iam(action, **params)
        except AwsCallError as exc:
            raise Unreadable(f"{what}: {action} answered {exc.code}: {exc.message}") from None

    def _entity(self, action: str, arn: str, **params: str) -> Any:
        """GetUser/GetRole of the principal: one that does not exist has nothing to
        explain (the server would not even authenticate it)."""
        try:
            return self.iam.iam(action, **params)
        except AwsCallError as exc:
            if exc.code == "NoSuchEntity":
                raise click.ClickException(f"{arn} does not exist on this server "
                                           f"({exc.message})") from None
            raise Unreadable(f"{arn}: {action} answered {exc.code}: {exc.message}") from None

    def _managed(self, arn: str, kind: PolicyKind) -> tuple[str, Policy]:
        policy = self._call(arn, "GetPolicy", PolicyArn=arn)
        version = text(policy, "Policy/DefaultVersionId") or "v1"
        got = self._call(arn, "GetPolicyVersion", PolicyArn=arn, VersionId=version)
        return self._parse(arn, _doc(text(got, "PolicyVersion/Document")), kind)

    def _entity_policies(self, kind: str, name: str, arn: str) -> list[tuple[str, Policy]]:
        """Inline then attached policies of a user, group or role, as the server's
        sources name them (``<arn>#inline:<name>``, the managed policy's ARN)."""
        cap = kind.capitalize()
        what = f"policies of {arn}"
        out: list[tuple[str, Policy]] = []
        try:
            names = [m.text or "" for m in _pages(self.iam.iam, f"List{cap}Policies",
                                                  "PolicyNames", **{f"{cap}Name": name})]
            attached = [text(m, "PolicyArn") or "" for m in _pages(
                self.iam.iam, f"ListAttached{cap}Policies", "AttachedPolicies",
                **{f"{cap}Name": name})]
        except AwsCallError as exc:
            raise Unreadable(f"{what}: {exc.code}: {exc.message}") from None
        for policy_name in sorted(names):
            got = self._call(what, f"Get{cap}Policy", **{f"{cap}Name": name},
                             PolicyName=policy_name)
            out.append(self._parse(f"{arn}#inline:{policy_name}",
                                   _doc(text(got, "PolicyDocument")), PolicyKind.IDENTITY))
        for policy_arn in sorted(attached):
            out.append(self._managed(policy_arn, PolicyKind.IDENTITY))
        return out

    def _guard(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Unreadable as exc:
            self.out.unreadable.append(str(exc))

    # -- the principal ------------------------------------------------------------------

    def principal(self, given: Principal, session_known: bool) -> None:
        """Identity policies, boundary and principal context keys of ``given``."""
        out = self.out
        out.principal = given
        if given.is_iam and given.account:
            # As the server sets them (services/authz.context); a session's are its role's.
            out.context["aws:PrincipalAccount"] = given.account
            out.context["aws:PrincipalArn"] = given.arn
        if given.kind == PrincipalKind.ROOT:
            # The root user is allowed everything its account's SCPs allow.
            out.policies.identity = [("root", parse_policy(
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",'
                '"Resource":"*"}]}', PolicyKind.IDENTITY))]
        elif given.kind == PrincipalKind.USER:
            self._guard(lambda: self._user(given))
        elif given.kind in (PrincipalKind.ROLE, PrincipalKind.ASSUMED_ROLE):
            self._guard(lambda: self._role(given))
            if given.kind == PrincipalKind.ASSUMED_ROLE and not session_known:
                out.unreadable.append(
                    f"session policies of {given.arn}: no API shows them; pass them with "
                    "--session, or --no-session-policy if the session has none")
        elif given.kind == PrincipalKind.FEDERATED_USER:
            out.unreadable.append(
                f"policies of {given.arn}: a federated user's session policies and issuing "
                "user are not readable through the API; explain with files instead")

    def _same(self, given: str, found: str | None) -> None:
        if found and found != given:
            raise click.ClickException(f"{given} does not exist on this server; the entity of "
                                       f"that name is {found}")

    def _user(self, given: Principal) -> None:
        self._own(given.arn, given.account, "policies")
        name = given.arn.rsplit("/", 1)[1]
        got = self._entity("GetUser", given.arn, UserName=name)
        user = got.find(f"{_NS}User")
        self._same(given.arn, text(user, "Arn"))
        self._tags(user)
        self.out.context["aws:username"] = text(user, "UserName") or name
        user_id = text(user, "UserId")
        if user_id:
            self.out.context["aws:userid"] = user_id
        self.out.principal = Principal(PrincipalKind.USER, text(user, "Arn") or given.arn,
                                       given.account, unique_id=user_id)
        arn = self.out.principal.arn
        identity = self._entity_policies("user", name, arn)
        try:
            groups = list(_pages(self.iam.iam, "ListGroupsForUser", "Groups", UserName=name))
        except AwsCallError as exc:
            raise Unreadable(f"groups of {arn}: ListGroupsForUser answered {exc.code}: "
                             f"{exc.message}") from None
        for g in sorted(groups, key=lambda g: (text(g, "GroupName") or "").lower()):
            identity += self._entity_policies("group", text(g, "GroupName") or "",
                                              text(g, "Arn") or "")
        self.out.policies.identity = identity
        self._boundary(user)

    def _role(self, given: Principal) -> None:
        self._own(given.arn, given.account, "policies")
        if given.kind == PrincipalKind.ASSUMED_ROLE:
            name = (given.issuer_arn or "").rsplit("/", 1)[1]
        else:
            name = given.arn.rsplit("/", 1)[1]
        role = self._entity("GetRole", given.arn, RoleName=name).find(f"{_NS}Role")
        role_arn = text(role, "Arn") or given.issuer_arn or given.arn
        if given.kind == PrincipalKind.ROLE:
            self._same(given.arn, role_arn)
        role_id = text(role, "RoleId")
        self._tags(role)
        if given.kind == PrincipalKind.ASSUMED_ROLE:
            session = given.arn.rsplit("/", 1)[1]
            self.out.principal = Principal(PrincipalKind.ASSUMED_ROLE, given.arn, given.account,
                                           issuer_arn=role_arn, unique_id=role_id)
            self.out.context["aws:PrincipalArn"] = role_arn
            if role_id:
                self.out.context["aws:userid"] = f"{role_id}:{session}"
        else:
            self.out.principal = Principal(PrincipalKind.ROLE, role_arn, given.account,
                                           unique_id=role_id)
            if role_id:
                self.out.context["aws:userid"] = role_id
        self.out.policies.identity = self._entity_policies("role", name, role_arn)
        self._boundary(role)

    def _get_role(self, name: str, what: str) -> Any:
        got = self._call(what, "GetRole", RoleName=name)
        return got.find(f"{_NS}Role")

    def _tags(self, entity: Any) -> None:
        for tag in members(entity, "Tags"):
            self.out.context[f"aws:PrincipalTag/{text(tag, 'Key')}"] = text(tag, "Value") or ""

    def _boundary(self, entity: Any) -> None:
        arn = text(entity, "PermissionsBoundary/PermissionsBoundaryArn")
        if arn:
            self.out.policies.boundary = self._managed(arn, PolicyKind.BOUNDARY)

    # -- the resource -------------------------------------------------------------------

    def resource(self, action: str, resource: str, resource_account: str | None) -> None:
        """The trust policy (sts:AssumeRole*) or the resource policy of a bucket or role."""
        out = self.out
        action_l = action.lower()
        parts = resource.split(":", 5)
        out.resource_account = resource_account
        if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" \
                and parts[5].startswith("role/"):
            if out.resource_account is None and parts[4] and parts[4] != (
                    out.principal.account if out.principal else None):
                out.resource_account = parts[4]
            if action_l in TRUST_ACTIONS:
                self._guard(lambda: self._trust(resource, parts[4], parts[5]))
        elif len(parts) == 6 and parts[0] == "arn" and parts[2] == "s3" and parts[5]:
            self._guard(lambda: self._bucket_policy(resource, parts[5].split("/", 1)[0]))

    def _trust(self, resource: str, account: str, path: str) -> None:
        self._own(resource, account, "trust policy")
        role = self._get_role(path.rsplit("/", 1)[1], f"trust policy of {resource}")
        if text(role, "Arn") not in (None, resource):
            raise Unreadable(f"trust policy of {resource}: no such role (the role of that "
                             f"name is {text(role, 'Arn')})")
        source = f"{text(role, 'Arn') or resource} (trust policy)"
        self.out.policies.resource = self._parse(
            source, _doc(text(role, "AssumeRolePolicyDocument")), PolicyKind.TRUST)
        self.out.policies.resource_must_allow = True

    def _bucket_policy(self, resource: str, bucket: str) -> None:
        what = f"bucket policy of {bucket}"
        try:
            response = self.iam.s3_get(bucket, "policy")
        except AwsCallError as exc:
            if exc.code == "NoSuchBucketPolicy":
                self.out.notes.append(f"bucket {bucket} has no bucket policy")
                return
            if exc.code == "NoSuchBucket":
                self.out.notes.append(f"this server has no bucket {bucket}")
                return
            if exc.code == "HTTP404":
                # Not an S3 answer: the server serves no S3 (no --s3-backend), so no
                # bucket of it has a policy.
                self.out.notes.append(f"this server does not serve S3; bucket {bucket} is "
                                      "not its")
                return
            raise Unreadable(f"{what}: GetBucketPolicy answered {exc.code}: "
                             f"{exc.message}") from None
        self.out.policies.resource = self._parse(f"arn:aws:s3:::{bucket} (bucket policy)",
                                                 response.text, PolicyKind.RESOURCE)
        if self.out.resource_account is None:
            self.out.notes.append(
                "the bucket is taken to be in the principal's account (give "
                "--resource-account for a bucket of another account)")

    # -- Organizations ------------------------------------------------------------------

    def organization(self, action: str) -> None:
        """SCPs above the principal's account; RCPs above the resource's (s3, sts)."""
        out = self.out
        account = out.principal.account if out.principal else None
        if account and out.principal and out.principal.is_iam:
            self._guard(lambda: self._levels(account, SCP, PolicyKind.SCP))
        rcp_account = out.resource_account or account
        if rcp_account and action.partition(":")[0].lower() in RCP_SERVICES:
            self._guard(lambda: self._levels(rcp_account, RCP, PolicyKind.RCP))

    def _orgs(self, what: str, action: str, **body: Any) -> dict[str, Any]:
        try:
            return self.orgs.organizations(action, **body)
        except AwsCallError as exc:
            raise Unreadable(f"{what}: {action} answered {exc.code}: {exc.message}") from None

    def _levels(self, account: str, policy_type: str, kind: PolicyKind) -> None:
        label = "SCPs" if kind == PolicyKind.SCP else "RCPs"
        what = f"{label} of account {account}"
        try:
            org = self.orgs.organizations("DescribeOrganization")["Organization"]
        except AwsCallError as exc:
            if exc.code == "AWSOrganizationsNotInUseException":
                return  # no organization: nothing governs the account
            raise Unreadable(f"{what}: DescribeOrganization answered {exc.code}: "
                             f"{exc.message}") from None
        if org.get("MasterAccountId") == account:
            return  # the management account is governed by neither (AWS: "don't affect")
        if account == (self.out.principal.account if self.out.principal else None):
            self.out.context["aws:PrincipalOrgID"] = str(org.get("Id", ""))
        roots = self._orgs(what, "ListRoots").get("Roots", [])
        if not roots:
            raise Unreadable(f"{what}: ListRoots returned no root")
        enabled = {t.get("Type") for t in roots[0].get("PolicyTypes", [])
                   if t.get("Status") == "ENABLED"}
        if policy_type not in enabled:
            return
        chain = [account]
        child = account
        while len(chain) < 12:
            try:
                parents = self.orgs.organizations("ListParents", ChildId=child).get("Parents", [])
            except AwsCallError as exc:
                if exc.code == "ChildNotFoundException" and child == account:
                    return  # not a member of this organization
                raise Unreadable(f"{what}: ListParents answered {exc.code}: "
                                 f"{exc.message}") from None
            if not parents:
                break
            child = parents[0]["Id"]
            chain.append(child)
            if parents[0].get("Type") == "ROOT":
                break
        chain.reverse()
        levels: list[list[tuple[str, Policy]]] = []
        for target in chain:
            level: list[tuple[str, Policy]] = []
            token: str | None = None
            while True:
                page = self._orgs(what, "ListPoliciesForTarget", TargetId=target,
                                  Filter=policy_type, **({"NextToken": token} if token else {}))
                for summary in page.get("Policies", []):
                    got = self._orgs(what, "DescribePolicy", PolicyId=summary["Id"])["Policy"]
                    level.append(self._parse(got["PolicySummary"]["Arn"], got["Content"], kind))
                token = page.get("NextToken")
                if not token:
                    break
            levels.append(sorted(level, key=lambda entry: entry[0]))
        if kind == PolicyKind.SCP:
            self.out.policies.scps = levels
        else:
            self.out.policies.rcps = levels


def read_live(iam: AwsClient, organizations: AwsClient, principal: Principal, action: str,
              resource: str, resource_account: str | None, session_known: bool) -> LivePolicies:
    reader = Reader(iam, organizations)
    reader.principal(principal, session_known)
    reader.resource(action, resource, resource_account)
    reader.organization(action)
    return reader.out
