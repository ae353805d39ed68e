"""The moves: how a principal that holds credentials of one user or role gets those of another,
or more permissions for one it holds. Each step is decided by the policy engine
(``model.decide``); the module docstring of ``opensts.analyzer.escalation`` says what is
modelled and what is not.

A node is a principal as it is in the directory, or a *variant* of it after a move changed its
permissions (a policy written to it, a policy attached, another default version, a group
joined). Variants are nodes like any other: the moves out of them are searched too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from opensts.analyzer.escalation.model import (
    REGION,
    Directory,
    Entity,
    Group,
    decide,
    resource_tag_context,
)
from opensts.analyzer.escalation.steps import Step, step
from opensts.policy import (
    Policy,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
)
from opensts.policy import parse_policy as _parse

ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
WRITTEN = "opensts-escalation"
#: AWS managed policies tried for Attach*Policy moves (besides the account's own policies).
ATTACH_CANDIDATES = ("arn:aws:iam::aws:policy/AdministratorAccess",
                     "arn:aws:iam::aws:policy/IAMFullAccess",
                     "arn:aws:iam::aws:policy/PowerUserAccess")
PROBE = "opensts-escalation-probe"


@dataclass(frozen=True)
class Node:
    id: str
    entity: Entity
    variant: str = ""  # what changed, for people; "" for the principal as stored

    @property
    def label(self) -> str:
        return self.entity.arn + (f" ({self.variant})" if self.variant else "")


@dataclass(frozen=True)
class Move:
    kind: str
    source: str  # node id
    target: Node
    steps: tuple[Step, ...]
    summary: str

    @property
    def conditional(self) -> bool:
        return any(s.outcome == "conditional" for s in self.steps)


def base(entity: Entity) -> Node:
    return Node(entity.arn, entity)


def may(actor: Entity, action: str) -> bool:
    """Whether any identity Allow covers ``action`` at all: IAM has no resource policies, so
    without one the engine would refuse; a cheap pre-filter, never the decision."""
    action_l = action.lower()
    return any(not st.is_deny for _, p in actor.policies.identity
               for st in p.statements_for(action_l))


def tags_ctx(entity: Entity) -> dict[str, str | list[str]]:
    return resource_tag_context(entity.tags)


# -- becoming another principal -----------------------------------------------------------

def assume_role(directory: Directory, actor: Entity, role: Entity) -> Step | None:
    assert role.trust is not None
    return decide(directory, actor, "sts:AssumeRole", role.arn, resource_account=role.account,
                  resource_policy=(role.arn, role.trust), trust=True, extra=tags_ctx(role))


def _trust_naming(actor: Entity) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": actor.arn}, "Action": "sts:AssumeRole"}]})


def become_user(directory: Directory, actor: Entity, user: Entity) -> list[Move]:
    moves: list[Move] = []
    ctx = tags_ctx(user)
    if may(actor, "iam:CreateAccessKey"):
        create = decide(directory, actor, "iam:CreateAccessKey", user.arn, extra=ctx)
        if create is not None:
            steps = [create]
            if user.access_keys >= 2:  # the quota: one must go first
                delete = decide(directory, actor, "iam:DeleteAccessKey", user.arn, extra=ctx,
                                note="the user has two access keys already")
                steps = [delete, create] if delete is not None else []
            if steps:
                moves.append(Move("create-access-key", actor.arn, base(user), tuple(steps),
                                  "creates an access key for the user"))
    action = "iam:UpdateLoginProfile" if user.has_login_profile else "iam:CreateLoginProfile"
    if may(actor, action):
        found = decide(directory, actor, action, user.arn, extra=ctx)
        if found is not None:
            kind = "update-login-profile" if user.has_login_profile else "create-login-profile"
            moves.append(Move(kind, actor.arn, base(user), (found,),
                              "sets the user's console password (and signs in as the user)"))
    return moves


def update_trust(directory: Directory, actor: Entity, role: Entity) -> Move | None:
    if not may(actor, "iam:UpdateAssumeRolePolicy"):
        return None
    update = decide(directory, actor, "iam:UpdateAssumeRolePolicy", role.arn,
                    extra=tags_ctx(role))
    if update is None:
        return None
    written = replace(role, trust=_parse(_trust_naming(actor), PolicyKind.TRUST))
    assume = assume_role(directory, actor, written)
    if assume is None:
        return None
    assume = replace(assume, note="with the trust policy it wrote: " + _trust_naming(actor))
    return Move("update-assume-role-policy", actor.arn, base(role), (update, assume),
                "rewrites the role's trust policy to name itself, then assumes the role")


# The services that run code with a passed role, and what it takes to make them run it. The
# role's trust policy must admit the service principal (decided by the engine, as the
# service would be asked).
COMPUTE: Mapping[str, tuple[tuple[str, str], ...]] = {
    "lambda.amazonaws.com": (
        ("lambda:CreateFunction", "arn:aws:lambda:{region}:{account}:function:{probe}"),
        ("lambda:InvokeFunction", "arn:aws:lambda:{region}:{account}:function:{probe}")),
    "ec2.amazonaws.com": (
        ("ec2:RunInstances", "arn:aws:ec2:{region}:{account}:instance/*"),),
    "cloudformation.amazonaws.com": (
        ("cloudformation:CreateStack",
         "arn:aws:cloudformation:{region}:{account}:stack/{probe}/*"),),
}


def service_trusts(directory: Directory, role: Entity, service: str) -> Step | None:
    assert role.trust is not None
    policies = PolicySet(resource=(role.arn, role.trust), resource_must_allow=True,
                         rcps=directory.rcps.get(role.account, ()))
    request = Request(Principal(PrincipalKind.SERVICE, service, None), "sts:AssumeRole",
                      role.arn, resource_account=role.account,
                      context={"aws:PrincipalIsAWSService": "true",
                               "aws:SourceAccount": role.account})
    return step(evaluate(request, policies), policies, "sts:AssumeRole", role.arn,
                note=f"the role's trust policy admits {service}")


def pass_role(directory: Directory, actor: Entity, role: Entity) -> list[Move]:
    if not may(actor, "iam:PassRole"):
        return []
    moves = []
    for service, actions in COMPUTE.items():
        trusted = service_trusts(directory, role, service)
        if trusted is None:
            continue
        passed = decide(directory, actor, "iam:PassRole", role.arn,
                        extra={"iam:PassedToService": service, **tags_ctx(role)})
        if passed is None:
            continue
        steps: list[Step] = [passed]
        if service == "ec2.amazonaws.com" and not role.instance_profiles:
            profile = f"arn:aws:iam::{actor.account}:instance-profile/{PROBE}"
            for action in ("iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"):
                found = decide(directory, actor, action, profile)
                if found is None:
                    break
                steps.append(found)
            else:
                profile = ""
            if profile:
                continue
        for action, template in actions:
            resource = template.format(region=REGION, account=actor.account, probe=PROBE)
            found = decide(directory, actor, action, resource)
            if found is None and action == "lambda:InvokeFunction":
                # Rhino's method 16: an event source mapping runs the function instead.
                found = decide(directory, actor, "lambda:CreateEventSourceMapping", "*",
                               note="an event source (a DynamoDB stream) invokes the "
                               "function; the stream's own permissions are not checked")
            if found is None:
                break
            steps.append(found)
        else:
            steps.append(trusted)
            name = service.split(".")[0]
            moves.append(Move(f"pass-role-{name}", actor.arn, base(role), tuple(steps),
                              f"passes the role to {name}, whose code then runs as the role "
                              "and hands back its credentials"))
    return moves


# -- more permissions for a principal it holds ----------------------------------------------

def _variant(node: Node, suffix: str, entity: Entity, what: str) -> Node:
    return Node(node.id + suffix, entity, f"{node.variant}; {what}" if node.variant else what)


def _written(node: Node, how: str) -> Node:
    if node.id.endswith("+inline"):
        return node  # it allows everything already: a second one changes nothing
    entity = node.entity
    policy = _parse(ALLOW_ALL, PolicyKind.IDENTITY)
    source = f"{entity.arn}#inline:{WRITTEN}"
    return _variant(node, "+inline", replace(entity, policies=replace(
        entity.policies, identity=(*entity.policies.identity, (source, policy)))),
        f"after {how}")


def _attached(node: Node, arn: str, directory: Directory, what: str = "") -> Node | None:
    entity = node.entity
    managed = directory.managed.get(arn)
    if managed is None or arn in entity.managed:
        return None
    policy = managed.versions[managed.default_version]
    return _variant(node, f"+{arn}", replace(entity, managed=(*entity.managed, arn),
                    policies=replace(entity.policies,
                                     identity=(*entity.policies.identity, (arn, policy)))),
                    what or f"with {arn} attached")


def _defaulted(node: Node, arn: str, version: str, directory: Directory) -> Node:
    """The node with ``version`` of ``arn`` in effect. Its id names the version unless it is
    the stored default, so that switching back and forth returns to a node already seen."""
    entity = node.entity
    managed = directory.managed[arn]
    policy = managed.versions[version]
    identity = tuple((src, policy if src == arn else p) for src, p in entity.policies.identity)
    segment = re.compile(rf"@{re.escape(arn)}:v\d+")
    node_id = segment.sub("", node.id)
    earlier = [w for w in node.variant.split("; ")
               if w and not (w.startswith("with version ") and f" of {arn} " in w)]
    if version != managed.default_version:
        node_id += f"@{arn}:{version}"
    earlier.append(f"with version {version} of {arn} as default")
    changed = replace(entity, policies=replace(entity.policies, identity=identity))
    return Node(node_id, changed, "; ".join(earlier))


def grants(directory: Directory, actor: Entity, node: Node) -> list[tuple[str, Node, Step]]:
    """Ways ``actor`` can widen the permissions of the principal of ``node`` (which may be
    itself): the move kind, the node after it, the step."""
    target = node.entity
    out: list[tuple[str, Node, Step]] = []
    noun = "User" if target.kind == "user" else "Role"
    ctx = tags_ctx(target)
    if may(actor, f"iam:Put{noun}Policy"):
        found = decide(directory, actor, f"iam:Put{noun}Policy", target.arn, extra=ctx)
        if found is not None:
            out.append((f"put-{noun.lower()}-policy",
                        _written(node, "an inline policy allowing everything was written "
                                 "to it"), found))
    if may(actor, f"iam:Attach{noun}Policy"):
        for arn in _attach_candidates(directory, target.account):
            after = _attached(node, arn, directory)
            if after is None:
                continue
            found = decide(directory, actor, f"iam:Attach{noun}Policy", target.arn,
                           extra={"iam:PolicyARN": arn, **ctx})
            if found is not None:
                out.append((f"attach-{noun.lower()}-policy", after, found))
    for group_arn in target.groups:
        group = directory.groups.get(group_arn)
        if group is None:
            continue
        if may(actor, "iam:PutGroupPolicy"):
            found = decide(directory, actor, "iam:PutGroupPolicy", group.arn)
            if found is not None:
                out.append(("put-group-policy", _written(
                    node, f"an inline policy allowing everything was written to its group "
                    f"{group.name}"), found))
        if may(actor, "iam:AttachGroupPolicy"):
            for arn in _attach_candidates(directory, target.account):
                after = _attached(node, arn, directory,
                                  f"with {arn} attached to its group {group.name}")
                if after is None:
                    continue
                found = decide(directory, actor, "iam:AttachGroupPolicy", group.arn,
                               extra={"iam:PolicyARN": arn})
                if found is not None:
                    out.append(("attach-group-policy", after, found))
    for arn in target.managed:
        managed = directory.managed.get(arn)
        if managed is None or managed.account == "aws":
            continue  # AWS managed policies cannot be changed
        if may(actor, "iam:CreatePolicyVersion"):
            found = decide(directory, actor, "iam:CreatePolicyVersion", arn,
                           note="with SetAsDefault (no iam:SetDefaultPolicyVersion needed)")
            if found is not None:
                out.append(("create-policy-version", _written(
                    node, f"a new default version of {arn} allowing everything"), found))
        if may(actor, "iam:SetDefaultPolicyVersion"):
            # The version in effect for this node: the stored default, or the one an
            # earlier move on the way here set (ids are "v1".."v5").
            marker = f"@{arn}:"
            current = (node.id.rsplit(marker, 1)[1].split("@")[0].split("+")[0]
                       if marker in node.id else managed.default_version)
            for version in sorted(managed.versions):
                if version == current:
                    continue
                found = decide(directory, actor, "iam:SetDefaultPolicyVersion", arn,
                               note=f"to version {version}")
                if found is not None:
                    out.append(("set-default-policy-version",
                                _defaulted(node, arn, version, directory), found))
    return out


def removals(directory: Directory, actor: Entity, node: Node) -> list[tuple[str, Node, Step]]:
    """Ways ``actor`` can lift a limit on the principal of ``node``: delete its permissions
    boundary, or delete / detach a policy of it (or of its group) that holds a Deny."""
    target = node.entity
    noun = "User" if target.kind == "user" else "Role"
    out: list[tuple[str, Node, Step]] = []
    if target.policies.boundary is not None and may(
            actor, f"iam:Delete{noun}PermissionsBoundary"):
        found = decide(directory, actor, f"iam:Delete{noun}PermissionsBoundary", target.arn,
                       extra=tags_ctx(target))
        if found is not None:
            out.append((f"delete-{noun.lower()}-permissions-boundary", _variant(
                node, "-boundary", replace(target, policies=replace(
                    target.policies, boundary=None)), "after its permissions boundary was "
                "deleted"), found))
    groups = {g: directory.groups[g] for g in target.groups if g in directory.groups}
    for source, policy in target.policies.identity:
        if not any(st.is_deny for st in policy.statements):
            continue
        owner, _, name = source.partition("#inline:")
        if name:
            action, resource, extra = (
                (f"iam:Delete{noun}Policy", owner, tags_ctx(target)) if owner == target.arn
                else ("iam:DeleteGroupPolicy", owner, {}))
        else:
            holders = [g for g in groups.values() if source in g.managed]
            direct = source in target.managed and not holders
            if len(holders) + direct != 1:
                continue  # held twice (or unknown): removing one copy lifts nothing
            action, resource = ((f"iam:Detach{noun}Policy", target.arn) if direct
                                else ("iam:DetachGroupPolicy", holders[0].arn))
            extra = {"iam:PolicyARN": source}
        if not may(actor, action):
            continue
        found = decide(directory, actor, action, resource, extra=extra)
        if found is None:
            continue
        identity = tuple(e for e in target.policies.identity if e[0] != source)
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", action.split(":")[1]).lower()
        out.append((kind, _variant(
            node, f"-{source}", replace(target, policies=replace(target.policies,
                                                                 identity=identity)),
            f"after {source}, which holds a Deny, was removed"), found))
    return out


def _attach_candidates(directory: Directory, account: str) -> list[str]:
    """AdministratorAccess, IAMFullAccess, PowerUserAccess and the account's own policies
    that allow an iam:, sts: or wildcard action: attaching one of these can make a principal
    an administrator or open a further move; attaching a policy granting neither cannot
    (each move is an IAM or STS call)."""
    return [*ATTACH_CANDIDATES,
            *sorted(a for a, m in directory.managed.items()
                    if m.account == account and _escalating(m.versions[m.default_version]))]


def _escalating(policy: Policy) -> bool:
    for st in policy.statements:
        if st.is_deny:
            continue
        if st.not_action:
            return True
        actions = st.raw.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            service = str(action).partition(":")[0].lower()
            if action == "*" or service in ("iam", "sts") or "*" in service:
                return True
    return False


def join_groups(directory: Directory, node: Node) -> list[tuple[Node, Step]]:
    """AddUserToGroup of the actor (a user) to a group of its account: it gets the group's
    policies."""
    actor = node.entity
    if actor.kind != "user" or not may(actor, "iam:AddUserToGroup"):
        return []
    out = []
    for group in directory.groups.values():
        if group.account != actor.account or group.arn in actor.groups:
            continue
        found = decide(directory, actor, "iam:AddUserToGroup", group.arn)
        if found is not None:
            out.append((_joined(node, group), found))
    return out


def _joined(node: Node, group: Group) -> Node:
    actor = node.entity
    return _variant(node, f"+group:{group.name}", replace(
        actor, groups=(*actor.groups, group.arn),
        managed=(*actor.managed, *group.managed),
        policies=replace(actor.policies,
                         identity=(*actor.policies.identity, *group.policies))),
        f"after joining the group {group.name}")


# -- a new principal of one's own ----------------------------------------------------------

def create_principal(directory: Directory, actor: Entity, kind: str) -> Move | None:
    """iam:CreateRole (a trust policy naming itself) or iam:CreateUser, an inline policy
    allowing everything (or AdministratorAccess attached) on it, then sts:AssumeRole or
    iam:CreateAccessKey: the new principal is governed by the account's SCPs only."""
    noun = "Role" if kind == "role" else "User"
    if not may(actor, f"iam:Create{noun}"):
        return None
    name = PROBE
    arn = f"arn:aws:iam::{actor.account}:{kind}/{name}"
    create = decide(directory, actor, f"iam:Create{noun}", arn)
    if create is None:
        return None
    policy = decide(directory, actor, f"iam:Put{noun}Policy", arn)
    if policy is None:
        policy = decide(directory, actor, f"iam:Attach{noun}Policy", arn,
                        extra={"iam:PolicyARN": ATTACH_CANDIDATES[0]})
    if policy is None:
        return None
    written = _parse(ALLOW_ALL, PolicyKind.IDENTITY)
    new = Entity(arn, "role" if kind == "role" else "user", actor.account, name,
                 f"{'AROA' if kind == 'role' else 'AIDA'}{PROBE.upper()}", {},
                 PolicySet(identity=((f"{arn}#inline:{WRITTEN}", written),),
                           scps=actor.policies.scps))
    if kind == "role":
        new = replace(new, trust=_parse(_trust_naming(actor), PolicyKind.TRUST))
        use = assume_role(directory, actor, new)
    else:
        use = decide(directory, actor, "iam:CreateAccessKey", arn)
    if use is None:
        return None
    return Move(f"create-{kind}", actor.arn,
                Node(f"{arn}@{actor.arn}", new, f"a new {kind} it creates"),
                (create, policy, use),
                f"creates a {kind} of its own with a policy allowing everything, then "
                + ("assumes it" if kind == "role" else "creates an access key for it"))
